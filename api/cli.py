"""The ``ledger`` command line (DESIGN.md: a contract that scripts and auditors rely on).

Exit status: 0 ok or intact; 1 integrity failure; 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from api import cli_witness
from ledger.config import Settings
from ledger.core.bundle import BundleError, verify_bundle
from ledger.core.errors import FormatError, LedgerError, VerificationError
from ledger.core.note import NoteVerifier, verifier_key
from ledger.core.proofs import check_proof
from ledger.demo import POLICIES, DemoResult, run_demo
from ledger.disclosures import DisclosureVault, parse_master_key
from ledger.export import (
    consistency_document,
    dumps,
    export_bundle,
    inclusion_document,
    log_vkey,
)
from ledger.keystore import Keystore, MemorySigners, log_actor
from ledger.storage import ConfigurationError, Database, DatabaseURL, StorageError
from ledger.tlog import TreeStore
from ledger.verification import Report, verify_database, verify_ledger
from ledger.witnessing import Cosigners, WitnessConfig, WitnessingError

EXIT_OK, EXIT_INTEGRITY, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or configuration: exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream, self.label = stream, label
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.25:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        shown = f"{done:,}/{total:,}" if total else f"{done:,}"
        self.stream.write(f"\r{self.label}: {shown} entries ({rate:,.0f}/s)   ")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ledger", description="Tamper-evident audit ledger")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    db_help = "database URL (sqlite:///path or postgresql://...); default LEDGER_DATABASE_URL"

    demo = sub.add_parser("demo", help="build a demonstration ledger, verify it, summarise it")
    demo.add_argument("--db", help=db_help)
    demo.add_argument("--policy", choices=POLICIES, help="one policy (default: both)")
    demo.add_argument("--events", type=int, default=400, help="entries per ledger (default 400)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")

    verify = sub.add_parser("verify", help="verify every ledger in the database")
    verify.add_argument("--db", help=db_help)
    verify.add_argument("--json", action="store_true", help="print a JSON report")
    verify.add_argument("--workers", type=int, help="processes (default: all cores on big logs)")
    verify.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="FILE",
        help="a signed checkpoint kept elsewhere; the database must still extend it (repeatable)",
    )
    verify.add_argument("--vkey", help="the log's published verifier key (checked, if given)")
    export = sub.add_parser("export", help="write an export bundle (FORMAT.md section 6)")
    export.add_argument("--db", help=db_help)
    export.add_argument("--out", required=True, metavar="DIR", help="new or empty directory")
    export.add_argument("--ledger", metavar="ORIGIN", help="which ledger (if several)")

    bundle = sub.add_parser("verify-bundle", help="verify an export bundle offline")
    bundle.add_argument("bundle", metavar="DIR", help="bundle directory or .tar")
    bundle.add_argument("--vkey", help="the log's verifier key, as published out of band")
    bundle.add_argument("--json", action="store_true", help="print a JSON report")
    bundle.add_argument("--workers", type=int, help="processes (default: all cores on big logs)")

    prove = sub.add_parser("prove", help="print a proof against a signed checkpoint")
    kinds = prove.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    inclusion = kinds.add_parser("inclusion", help="entry INDEX is in the tree of size N")
    inclusion.add_argument("--index", type=int, required=True)
    inclusion.add_argument("--size", type=int, help="a checkpointed size (default: latest)")
    consistency = kinds.add_parser("consistency", help="size M is a prefix of size N")
    consistency.add_argument("--from", dest="first", type=int, required=True)
    consistency.add_argument("--to", dest="second", type=int, help="default: latest")
    for kind in (inclusion, consistency):
        kind.add_argument("--db", help=db_help)
        kind.add_argument("--ledger", metavar="ORIGIN", help="which ledger (if several)")

    check = sub.add_parser("verify-proof", help="check a proof printed by `ledger prove`, offline")
    check.add_argument("proof", metavar="FILE", help="the proof (JSON); - for standard input")
    check.add_argument("--vkey", required=True, help="the log's verifier key")

    vkey = sub.add_parser("log-key", help="print the log's verifier key string")
    vkey.add_argument("--db", help=db_help)
    vkey.add_argument("--ledger", metavar="ORIGIN", help="which ledger (if several)")
    cli_witness.add_parsers(sub, _Parser)
    cli_witness.add_publish_parser(sub, db_help)
    cli_witness.add_misbehaviour_parsers(sub)
    return parser


def _database(url: str | None, settings: Settings, *, must_exist: bool) -> Database:
    url = url or settings.database_url
    parsed = DatabaseURL.parse(url)
    if must_exist and parsed.kind == "sqlite" and not Path(parsed.path).exists():
        raise ConfigurationError(f"no ledger database at {parsed.path} (SQLite file not found)")
    return Database(url)


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"ledger: cannot read {path}: {e}") from e


def _print_report(report: Report, out: IO[str]) -> None:
    if report.ok:
        rate = report.entries / max(report.seconds, 1e-9)
        checked = report.details.get("checkpoints_checked", 0)
        out.write(
            f"ok    {report.origin}: {report.entries:,} entries intact ({rate:,.0f}/s), "
            f"{checked} signed checkpoint(s) match\n"
        )
        return
    failure = report.failure
    assert failure is not None  # noqa: S101 - not ok means a failure is set
    out.write(
        f"FAIL  {report.origin}: log index {failure.index}, stream {failure.stream!r}: "
        f"{failure.problem}\n"
    )


def cmd_verify(args: argparse.Namespace, settings: Settings, out: IO[str], err: IO[str]) -> int:
    db = _database(args.db, settings, must_exist=True)
    try:
        origins = db.origins()
        if not origins:
            raise ConfigurationError(f"{db.describe()} holds no ledger")
        if args.vkey is not None:
            try:
                name = NoteVerifier.parse(args.vkey).name
            except FormatError as e:
                raise UsageError(f"ledger: --vkey: {e}") from e
            if name not in origins:
                raise ConfigurationError(f"--vkey names {name!r}, which is not a ledger here")
        held = [(f"checkpoint {path}", _read_text(path)) for path in args.checkpoint]
        known = {note.split("\n", 1)[0] for _, note in held}
        unknown = sorted(known - set(origins))
        if unknown:
            raise ConfigurationError(f"no ledger {unknown[0]!r} in {db.describe()}")
        bar = Progress(err, "verifying")
        reports = verify_database(
            db,
            workers=args.workers,
            progress=lambda _o, d, t: bar(d, t),
            checkpoints=held,
            vkey=args.vkey,
        )
        bar.done()
    finally:
        db.close()
    if args.json:
        out.write(
            json.dumps(
                {"ok": all(r.ok for r in reports), "ledgers": [r.to_json() for r in reports]},
                ensure_ascii=False,
            )
        )
        out.write("\n")
    else:
        for report in reports:
            _print_report(report, out)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INTEGRITY


def _demo_keys(db: Database, settings: Settings, err: IO[str]) -> Keystore | MemorySigners:
    if settings.keystore_passphrase is not None:
        return Keystore(db, settings.keystore_passphrase.get_secret_value())
    err.write("note: LEDGER_KEYSTORE_PASSPHRASE is not set; demo keys are kept in memory only\n")
    return MemorySigners()


def _master_key(settings: Settings, err: IO[str]) -> bytes:
    if settings.master_key is not None:
        return parse_master_key(settings.master_key.get_secret_value())
    err.write("note: LEDGER_MASTER_KEY is not set; this run's disclosures use a one-off key\n")
    return os.urandom(32)


def _summarise(result: DemoResult, report: Report, out: IO[str]) -> None:
    out.write(f"\nledger {result.origin}\n")
    out.write(
        f"  entries: {result.entries:,}; personal-data disclosures kept outside the log: "
        f"{result.disclosures}\n"
    )
    out.write("  actors: " + ", ".join(f"{n} {r}" for r, n in sorted(result.actors.items())) + "\n")
    out.write("  entries by type:\n")
    for type_, count in sorted(result.by_type.items(), key=lambda kv: (-kv[1], kv[0])):
        out.write(f"    {count:6,}  {type_}\n")
    out.write("  verification: ")
    _print_report(report, out)


def cmd_demo(args: argparse.Namespace, settings: Settings, out: IO[str], err: IO[str]) -> int:
    if args.events < 100:
        raise UsageError("ledger demo: --events must be at least 100")
    db = _database(args.db, settings, must_exist=False)
    try:
        keys = _demo_keys(db, settings, err)
        master = _master_key(settings, err)
        existing = db.origins()
        ok = True
        for policy in [args.policy] if args.policy else list(POLICIES):
            run = sum(o.startswith(f"demo.ledger.example.cn/{policy}/") for o in existing) + 1
            origin = f"demo.ledger.example.cn/{policy}/run-{run}"
            bar = Progress(err, f"recording {policy}")
            result = run_demo(
                db,
                origin,
                policy=policy,
                keys=keys,
                vault=DisclosureVault(db, origin, master),
                events=args.events,
                seed=args.seed,
                progress=bar,
            )
            bar.done()
            report = verify_ledger(db, origin)
            _summarise(result, report, out)
            ok = ok and report.ok
        out.write(f"\ndatabase: {db.describe()}\n")
    finally:
        db.close()
    return EXIT_OK if ok else EXIT_INTEGRITY


def _origin(db: Database, wanted: str | None) -> str:
    origins = db.origins()
    if wanted is not None:
        if wanted not in origins:
            raise ConfigurationError(
                f"no ledger {wanted!r} in {db.describe()}; it holds: {', '.join(origins) or 'none'}"
            )
        return wanted
    if len(origins) == 1:
        return origins[0]
    if not origins:
        raise ConfigurationError(f"{db.describe()} holds no ledger")
    raise UsageError(
        "ledger: the database holds several ledgers; name one with --ledger:\n  "
        + "\n  ".join(origins)
    )


def cmd_export(args: argparse.Namespace, settings: Settings, out: IO[str], _err: IO[str]) -> int:
    db = _database(args.db, settings, must_exist=True)
    try:
        result = export_bundle(db, _origin(db, args.ledger), Path(args.out))
    finally:
        db.close()
    out.write(
        f"exported {result.entries:,} entries of {result.origin} and {result.checkpoints} signed "
        f"checkpoint(s) to {args.out}\nlog verifier key: {result.vkey}\n"
    )
    return EXIT_OK


def cmd_verify_bundle(
    args: argparse.Namespace, _settings: Settings, out: IO[str], err: IO[str]
) -> int:
    bar = Progress(err, "verifying bundle")
    report = verify_bundle(Path(args.bundle), vkey=args.vkey, workers=args.workers, progress=bar)
    bar.done()
    failure = report.failure
    if args.json:
        doc: dict[str, object] = {
            "ok": report.ok,
            "origin": report.origin,
            "entries": report.entries,
            "root": report.root,
            "checkpoints_checked": report.checkpoints_checked,
            "seconds": round(report.seconds, 3),
        }
        if failure is not None:
            doc["failure"] = {
                "index": failure.index,
                "stream": failure.stream,
                "problem": failure.problem,
                "kind": type(failure).__name__,
            }
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    elif failure is None:
        rate = report.entries / max(report.seconds, 1e-9)
        out.write(
            f"ok    {report.origin}: {report.entries:,} entries intact ({rate:,.0f}/s), "
            f"{report.checkpoints_checked} signed checkpoint(s) match\n"
        )
    else:
        out.write(f"FAIL  {args.bundle}: {failure}\n")
    return EXIT_OK if report.ok else EXIT_INTEGRITY


def cmd_prove(args: argparse.Namespace, settings: Settings, out: IO[str], _err: IO[str]) -> int:
    db = _database(args.db, settings, must_exist=True)
    try:
        origin = _origin(db, args.ledger)
        if args.kind == "inclusion":
            doc = inclusion_document(db, origin, args.index, args.size)
        else:
            doc = consistency_document(db, origin, args.first, args.second)
    finally:
        db.close()
    out.write(dumps(doc))
    return EXIT_OK


def cmd_verify_proof(
    args: argparse.Namespace, _settings: Settings, out: IO[str], _err: IO[str]
) -> int:
    text = sys.stdin.read() if args.proof == "-" else _read_text(args.proof)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"ledger: {args.proof} is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise UsageError(f"ledger: {args.proof} is not a proof document")
    try:
        summary = check_proof(doc, args.vkey)
    except FormatError as e:
        raise UsageError(f"ledger: malformed proof: {e}") from e
    except VerificationError as e:
        out.write(f"FAIL  {e}\n")
        return EXIT_INTEGRITY
    out.write(f"ok    {summary}\n")
    return EXIT_OK


def cmd_log_key(args: argparse.Namespace, settings: Settings, out: IO[str], _err: IO[str]) -> int:
    db = _database(args.db, settings, must_exist=True)
    try:
        out.write(log_vkey(db, _origin(db, args.ledger)) + "\n")
    finally:
        db.close()
    return EXIT_OK


def cmd_publish(args: argparse.Namespace, settings: Settings, out: IO[str], err: IO[str]) -> int:
    specs = args.witness or [w for w in settings.witnesses.split(",") if w.strip()]
    try:
        witnesses = [WitnessConfig.parse(spec) for spec in specs]
    except FormatError as e:
        raise UsageError(f"ledger publish: {e}") from e
    quorum = settings.witness_quorum if args.quorum is None else args.quorum
    if settings.keystore_passphrase is None:
        raise ConfigurationError("set LEDGER_KEYSTORE_PASSPHRASE: the log key is in the keystore")
    db = _database(args.db, settings, must_exist=True)
    try:
        origin = _origin(db, args.ledger)
        keys = Keystore(db, settings.keystore_passphrase.get_secret_value())
        vkey = log_vkey(db, origin)
        signer = next(
            (
                s
                for s in keys.signers_of(log_actor(origin))
                if verifier_key(origin, s.public_key) == vkey
            ),
            None,
        )
        if signer is None:
            raise ConfigurationError(f"the keystore holds no log key of {origin}")
        signed = TreeStore(db, origin).advance(signer)
        if signed is None:
            raise ConfigurationError(f"ledger {origin} has no entries to publish")
        out.write(signed.note)
        if witnesses:
            try:
                cosigners = Cosigners(db, origin, witnesses, quorum=quorum)
            except WitnessingError as e:
                raise UsageError(f"ledger publish: {e}") from e
            count = cosigners.publish(signed)
            out.write("".join(cosigners.lines(signed.checkpoint.size)))
            for name, why in sorted(cosigners.failures.items()):
                err.write(f"witness {name}: {why}\n")
            state = "published" if count >= quorum else "NOT yet published"
            err.write(
                f"{state}: {count} of {len(witnesses)} witnesses cosigned (quorum {quorum})\n"
            )
    finally:
        db.close()
    return EXIT_OK


COMMANDS = {
    "demo": cmd_demo,
    "verify": cmd_verify,
    "export": cmd_export,
    "verify-bundle": cmd_verify_bundle,
    "prove": cmd_prove,
    "verify-proof": cmd_verify_proof,
    "log-key": cmd_log_key,
    "witness": cli_witness.cmd_witness,
    "publish": cmd_publish,
    "misbehaviour": cli_witness.cmd_misbehaviour,
    "check-report": cli_witness.cmd_check_report,
}


def main(
    argv: Sequence[str] | None = None, out: IO[str] | None = None, err: IO[str] | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = _parser().parse_args(argv)
        settings = Settings()
        return COMMANDS[args.command](args, settings, out, err)
    except UsageError as e:
        err.write(f"{e}\n")
        return EXIT_USAGE
    except ValidationError as e:
        err.write(f"ledger: invalid setting: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}\n")
        return EXIT_USAGE
    except (ConfigurationError, StorageError, BundleError) as e:
        err.write(f"ledger: {e}\n")
        return EXIT_USAGE
    except VerificationError as e:
        err.write(f"ledger: integrity failure: {e}\n")
        return EXIT_INTEGRITY
    except LedgerError as e:
        err.write(f"ledger: {e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("ledger: interrupted\n")
        return 130
    except SystemExit as e:  # --help
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())

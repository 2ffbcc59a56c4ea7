"""The ``ledger`` command line (DESIGN.md: a contract that scripts and auditors rely on).

Exit status: 0 ok or intact; 1 integrity failure; 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import IO

from pydantic import ValidationError

from api import cli_log, cli_serve, cli_witness
from api.cli_common import (
    EXIT_INTEGRITY,
    EXIT_OK,
    EXIT_USAGE,
    Parser,
    Progress,
    UsageError,
    database,
    read_text,
)
from ledger.config import Settings
from ledger.core.bundle import BundleError
from ledger.core.errors import FormatError, LedgerError, VerificationError
from ledger.core.note import NoteVerifier
from ledger.demo import POLICIES, DemoResult, run_demo
from ledger.disclosures import DisclosureVault, parse_master_key
from ledger.keystore import Keystore, MemorySigners
from ledger.storage import ConfigurationError, Database, StorageError
from ledger.verification import Report, verify_database, verify_ledger


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ledger", description="Tamper-evident audit ledger")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    db_help = "database URL (sqlite:///path or postgresql://...); default LEDGER_DATABASE_URL"

    demo = sub.add_parser("demo", help="build a demonstration ledger, verify it, summarise it")
    demo.add_argument("--db", help=db_help)
    demo.add_argument("--policy", choices=POLICIES, help="one policy (default: both)")
    demo.add_argument(
        "--events", type=int, default=15_000, help="entries per ledger (default 15,000)"
    )
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
    kinds = prove.add_subparsers(dest="kind", required=True, parser_class=Parser)
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
    cli_witness.add_parsers(sub, Parser)
    cli_witness.add_publish_parser(sub, db_help)
    cli_serve.add_parser(sub, db_help)
    cli_witness.add_misbehaviour_parsers(sub)
    return parser


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
    db = database(args.db, settings, must_exist=True)
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
        held = [(f"checkpoint {path}", read_text(path)) for path in args.checkpoint]
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
    out.write(f"  policy: {result.policy}; time span: {result.first} .. {result.last}\n")
    out.write("  actors by role: ")
    out.write(", ".join(f"{n:,} {r}" for r, n in sorted(result.actors.items())) + "\n")
    out.write("  entries by type:\n")
    for type_, count in sorted(result.by_type.items(), key=lambda kv: (-kv[1], kv[0])):
        out.write(f"    {count:6,}  {type_}\n")
    out.write("  rules exercised (forbidden commands attempted and refused, nothing written):\n")
    for label, count in sorted(result.refused.items()):
        out.write(f"    {count:6,}  {label}\n")
    out.write("  misconduct planted for detection (as written to the log):\n")
    for label, count in sorted(result.misconduct.items()):
        out.write(f"    {count:6,}  {label}\n")
    out.write("  supervision recorded (lawful acts and scenarios, not misconduct):\n")
    for label, count in sorted(result.supervision.items()):
        out.write(f"    {count:6,}  {label}\n")
    findings = result.compliance_findings
    out.write(
        f"  process compliance (every hard rule replayed from the log): "
        f"{'no findings' if not findings else f'{findings} FINDINGS'}\n"
    )
    out.write("  verification: ")
    _print_report(report, out)


def cmd_demo(args: argparse.Namespace, settings: Settings, out: IO[str], err: IO[str]) -> int:
    if args.events < 100:
        raise UsageError("ledger demo: --events must be at least 100")
    db = database(args.db, settings, must_exist=False)
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


COMMANDS = {
    "demo": cmd_demo,
    "verify": cmd_verify,
    "export": cli_log.cmd_export,
    "verify-bundle": cli_log.cmd_verify_bundle,
    "prove": cli_log.cmd_prove,
    "verify-proof": cli_log.cmd_verify_proof,
    "log-key": cli_log.cmd_log_key,
    "witness": cli_witness.cmd_witness,
    "publish": cli_log.cmd_publish,
    "serve": cli_serve.cmd_serve,
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

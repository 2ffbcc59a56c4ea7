"""The verifiable log's commands: export, verify-bundle, prove, verify-proof, log-key, publish."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO

from api.cli_common import (
    EXIT_INTEGRITY,
    EXIT_OK,
    Progress,
    UsageError,
    database,
    keystore_passphrase,
    origin_of,
    read_text,
    witness_options,
)
from ledger.config import Settings
from ledger.core.bundle import verify_bundle
from ledger.core.errors import FormatError, VerificationError
from ledger.core.proofs import check_proof
from ledger.export import (
    consistency_document,
    dumps,
    export_bundle,
    inclusion_document,
    log_vkey,
)
from ledger.keystore import Keystore
from ledger.storage import ConfigurationError
from ledger.tlog import TreeStore
from ledger.witnessing import Cosigners, WitnessingError


def cmd_export(args: argparse.Namespace, settings: Settings, out: IO[str], _err: IO[str]) -> int:
    db = database(args.db, settings, must_exist=True)
    try:
        result = export_bundle(db, origin_of(db, args.ledger), Path(args.out))
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
    db = database(args.db, settings, must_exist=True)
    try:
        origin = origin_of(db, args.ledger)
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
    text = sys.stdin.read() if args.proof == "-" else read_text(args.proof)
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
    db = database(args.db, settings, must_exist=True)
    try:
        out.write(log_vkey(db, origin_of(db, args.ledger)) + "\n")
    finally:
        db.close()
    return EXIT_OK


def cmd_publish(args: argparse.Namespace, settings: Settings, out: IO[str], err: IO[str]) -> int:
    witnesses, quorum = witness_options(args, settings, "ledger publish")
    passphrase = keystore_passphrase(settings)
    db = database(args.db, settings, must_exist=True)
    try:
        origin = origin_of(db, args.ledger)
        signer = Keystore(db, passphrase).log_signer(origin, log_vkey(db, origin))
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

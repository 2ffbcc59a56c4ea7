"""``ledger witness …`` and ``ledger publish``: the witnessing commands."""

from __future__ import annotations

import argparse
import json
import os
from typing import IO, Any

from ledger.config import Settings
from ledger.core.envelope import b64decode
from ledger.core.errors import FormatError, VerificationError
from ledger.core.misbehaviour import check_report, fork_report
from ledger.storage import Database
from ledger.witness import PASSPHRASE_VARIABLE, Witness, WitnessError


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    witness = sub.add_parser("witness", help="run a C2SP tlog-witness for a supervising unit")
    actions = witness.add_subparsers(dest="action", required=True, parser_class=parser_class)
    state_help = "the witness's own state: an SQLite file (default var/witness.sqlite3)"
    init = actions.add_parser("init", help="create the witness's name and key")
    init.add_argument("--name", required=True, help="e.g. supervisor.example.cn/witness-1")
    trust = actions.add_parser("trust", help="trust a log by its verifier key")
    trust.add_argument("--vkey", required=True, help="the log's verifier key (`ledger log-key`)")
    serve = actions.add_parser("serve", help="serve add-checkpoint over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8421)
    actions.add_parser("vkey", help="print the witness's cosigner verifier key")
    for action in (init, trust, serve, actions.choices["vkey"]):
        action.add_argument("--state", default="var/witness.sqlite3", help=state_help)


def _state(path: str, *, create: bool) -> Database:
    if not create and not os.path.exists(path):
        raise WitnessError(f"no witness state at {path}: run `ledger witness init` first")
    return Database(f"sqlite:///{path}")


def _passphrase() -> str:
    value = os.environ.get(PASSPHRASE_VARIABLE, "")
    if not value:
        raise WitnessError(f"set {PASSPHRASE_VARIABLE}: it protects the witness's private key")
    return value


def cmd_witness(args: argparse.Namespace, _settings: Settings, out: IO[str], _err: IO[str]) -> int:
    db = _state(args.state, create=args.action == "init")
    try:
        if args.action == "init":
            witness = Witness.init(db, _passphrase(), args.name)
            out.write(f"witness {witness.name} created\ncosigner key: {witness.vkey}\n")
            return 0
        witness = Witness(db, _passphrase())
        if args.action == "vkey":
            out.write(witness.vkey + "\n")
        elif args.action == "trust":
            try:
                origin = witness.trust(args.vkey)
            except FormatError as e:
                raise WitnessError(f"--vkey: {e}") from e
            out.write(f"trusting log {origin}\n")
        else:
            import uvicorn

            from api.witness_app import create_witness_app

            uvicorn.run(create_witness_app(witness), host=args.host, port=args.port)
        return 0
    finally:
        if args.action != "serve":
            db.close()


def add_publish_parser(sub: Any, db_help: str) -> None:
    publish = sub.add_parser(
        "publish", help="integrate new entries, sign a checkpoint, ask the witnesses to cosign"
    )
    publish.add_argument("--db", help=db_help)
    publish.add_argument("--ledger", metavar="ORIGIN", help="which ledger (if several)")
    add_witness_options(publish)


def add_witness_options(parser: argparse.ArgumentParser) -> None:
    """``--witness VKEY@URL``… and ``--quorum K``, of ``ledger publish`` and ``ledger serve``."""
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY@URL",
        help="a witness (repeatable; default LEDGER_WITNESSES)",
    )
    parser.add_argument("--quorum", type=int, help="cosignatures needed (LEDGER_WITNESS_QUORUM)")


def add_misbehaviour_parsers(sub: Any) -> None:
    report = sub.add_parser(
        "misbehaviour", help="make a portable report from two contradicting signed checkpoints"
    )
    report.add_argument("first", metavar="NOTE1")
    report.add_argument("second", metavar="NOTE2")
    report.add_argument("--vkey", required=True, help="the log's verifier key")
    report.add_argument("--proof", metavar="FILE", help="the log's consistency proof (JSON)")
    check = sub.add_parser("check-report", help="check a misbehaviour report offline")
    check.add_argument("report", metavar="FILE")
    check.add_argument(
        "--vkey", help="the log's verifier key, as published (default: the report's)"
    )


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise WitnessError(f"cannot read {path}: {e}") from e


def cmd_misbehaviour(
    args: argparse.Namespace, _settings: Settings, out: IO[str], err: IO[str]
) -> int:
    """Exit 1 and print the report when the two checkpoints cannot both be true; else 0."""
    proof = None
    if args.proof:
        try:
            doc = json.loads(_read(args.proof))
            proof = [b64decode(h, size=32, what="proof hash") for h in doc["path"]]
        except (ValueError, KeyError, TypeError, FormatError) as e:
            raise WitnessError(f"{args.proof}: not a consistency proof document: {e}") from e
    try:
        report = fork_report(_read(args.first), _read(args.second), args.vkey, proof)
    except FormatError as e:
        raise WitnessError(f"not a signed checkpoint of that log: {e}") from e
    except VerificationError as e:
        err.write(f"no misbehaviour shown: {e.problem}\n")
        return 0
    out.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 1


def cmd_check_report(
    args: argparse.Namespace, _settings: Settings, out: IO[str], _err: IO[str]
) -> int:
    """Exit 0 when the report proves misbehaviour, 1 when it does not, 2 when malformed."""
    try:
        reason = check_report(json.loads(_read(args.report)), args.vkey)
    except (ValueError, FormatError) as e:
        raise WitnessError(f"{args.report}: malformed report: {e}") from e
    except VerificationError as e:
        out.write(f"FAIL  the report proves nothing: {e.problem}\n")
        return 1
    out.write(f"ok    misbehaviour proven: {reason}\n")
    return 0

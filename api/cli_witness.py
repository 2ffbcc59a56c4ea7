"""``ledger witness …`` and ``ledger publish``: the witnessing commands."""

from __future__ import annotations

import argparse
import os
from typing import IO, Any

from ledger.config import Settings
from ledger.core.errors import FormatError
from ledger.storage import Database
from ledger.witness import Witness, WitnessError

PASSPHRASE_VARIABLE = "LEDGER_WITNESS_PASSPHRASE"  # noqa: S105 - a variable name


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
    publish.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY@URL",
        help="a witness (repeatable; default LEDGER_WITNESSES)",
    )
    publish.add_argument("--quorum", type=int, help="cosignatures needed (LEDGER_WITNESS_QUORUM)")

"""``ledger serve``: the long-running server of the verifiable log (api/log_app.py)."""

from __future__ import annotations

import argparse
import math
from typing import IO, Any

from api.cli_common import (
    EXIT_OK,
    UsageError,
    database,
    keystore_passphrase,
    witness_options,
)
from api.cli_witness import add_witness_options
from ledger.config import Settings
from ledger.keystore import Keystore
from ledger.publisher import DEFAULT_INTERVAL
from ledger.serving import LogServer
from ledger.witnessing import WitnessingError

DEFAULT_PORT = 8420


def add_parser(sub: Any, db_help: str) -> None:
    serve = sub.add_parser(
        "serve",
        help="keep every entry covered by a signed checkpoint; serve checkpoints and proofs",
    )
    serve.add_argument("--db", help=db_help)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--ledger",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a ledger to serve (repeatable; default: every one whose log key is in the keystore)",
    )
    add_witness_options(serve)
    serve.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"between publishing rounds, below 1 (default {DEFAULT_INTERVAL})",
    )


def _check(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.interval) and 0 < args.interval < 1):
        raise UsageError(
            "ledger serve: --interval must be above 0 and below 1 second "
            "(every entry is covered by a signed checkpoint within a second)"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"ledger serve: --port {args.port} is not a TCP port")


def cmd_serve(args: argparse.Namespace, settings: Settings, _out: IO[str], err: IO[str]) -> int:
    _check(args)
    witnesses, quorum = witness_options(args, settings, "ledger serve")
    passphrase = keystore_passphrase(settings)
    db = database(args.db, settings, must_exist=True)
    try:
        try:
            server = LogServer.open(
                db,
                Keystore(db, passphrase),
                origins=args.ledger,
                witnesses=witnesses,
                quorum=quorum,
                interval=args.interval,
            )
        except WitnessingError as e:
            raise UsageError(f"ledger serve: {e}") from e
        for served in server.ledgers:
            err.write(f"serving {served.origin} (log key {served.vkey})\n")
        if witnesses:
            names = ", ".join(w.name for w in witnesses)
            err.write(f"witnesses: {names} (quorum {quorum})\n")
        import uvicorn

        from api.log_app import create_log_app

        try:
            uvicorn.run(create_log_app(server), host=args.host, port=args.port)
        except SystemExit as e:  # uvicorn has logged why (e.g. the port is taken)
            if e.code:
                raise UsageError(f"ledger serve: cannot serve on {args.host}:{args.port}") from None
    finally:
        db.close()
    return EXIT_OK

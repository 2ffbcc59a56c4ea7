"""What the command-line modules share: exit codes, errors, progress, database lookup,
the keystore and the witnesses a log publishes to."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import IO

from ledger.config import Settings
from ledger.core.errors import FormatError
from ledger.storage import ConfigurationError, Database, DatabaseURL
from ledger.witnessing import WitnessConfig

EXIT_OK, EXIT_INTEGRITY, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or configuration: exit 2."""


class Parser(argparse.ArgumentParser):
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


def database(url: str | None, settings: Settings, *, must_exist: bool) -> Database:
    url = url or settings.database_url
    parsed = DatabaseURL.parse(url)
    if must_exist and parsed.kind == "sqlite" and not Path(parsed.path).exists():
        raise ConfigurationError(f"no ledger database at {parsed.path} (SQLite file not found)")
    return Database(url)


def read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"ledger: cannot read {path}: {e}") from e


def origin_of(db: Database, wanted: str | None) -> str:
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


def witness_options(
    args: argparse.Namespace, settings: Settings, command: str
) -> tuple[list[WitnessConfig], int]:
    """The witnesses (``--witness``, else LEDGER_WITNESSES) and the quorum (``--quorum``,
    else LEDGER_WITNESS_QUORUM) of ``ledger publish`` and ``ledger serve``."""
    specs = args.witness or [w for w in settings.witnesses.split(",") if w.strip()]
    try:
        witnesses = [WitnessConfig.parse(spec) for spec in specs]
    except FormatError as e:
        raise UsageError(f"{command}: {e}") from e
    quorum = settings.witness_quorum if args.quorum is None else args.quorum
    return witnesses, quorum


def keystore_passphrase(settings: Settings) -> str:
    if settings.keystore_passphrase is None:
        raise ConfigurationError("set LEDGER_KEYSTORE_PASSPHRASE: the log key is in the keystore")
    return settings.keystore_passphrase.get_secret_value()

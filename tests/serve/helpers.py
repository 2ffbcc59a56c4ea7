"""Helpers of the log server tests: polling the served checkpoint, reading it back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.note import NoteVerifier, verifier_key
from ledger.keystore import Keystore, log_actor
from tests.support import ORIGIN, OpenLedger
from tests.witness.helpers import TestClient

PASSPHRASE = "keystore passphrase"
INTERVAL = 0.05  # seconds between publishing rounds in these tests
PATIENCE = 30.0  # how long a poll waits for the server before the test fails
T = TypeVar("T")


def keep_log_key(keys: Keystore, ledger: OpenLedger, origin: str = ORIGIN) -> None:
    keys.add(log_actor(origin), ledger.log)


def vkey_of(ledger: OpenLedger, origin: str = ORIGIN) -> str:
    return verifier_key(origin, ledger.log.public_key)


def eventually(check: Callable[[], T | None], what: str) -> T:
    """Poll ``check`` until it gives a value; fail if it gives none within ``PATIENCE``."""
    deadline = time.monotonic() + PATIENCE
    while True:
        value = check()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def served_checkpoint(client: TestClient, vkey: str, **params: str) -> Checkpoint | None:
    """The checkpoint ``/checkpoint`` serves, its log signature checked; None before one."""
    response = client.get("/checkpoint", params=params)
    if response.status_code == 503:
        return None
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    return open_checkpoint(response.text, NoteVerifier.parse(vkey))


def covering(client: TestClient, vkey: str, size: int, **params: str) -> Checkpoint:
    """Wait for ``/checkpoint`` to serve a checkpoint of at least ``size`` entries."""

    def check() -> Checkpoint | None:
        checkpoint = served_checkpoint(client, vkey, **params)
        return checkpoint if checkpoint is not None and checkpoint.size >= size else None

    return eventually(check, f"a served checkpoint covering {size} entries")

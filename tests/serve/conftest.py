"""Fixtures of the log server tests: a test ledger whose log key is in the keystore, and
the log app running on it (TestClient runs the lifespan, so its publisher runs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.log_app import create_log_app
from ledger.keystore import Keystore
from ledger.serving import LogServer
from ledger.storage import Database
from tests.serve.helpers import INTERVAL, PASSPHRASE, keep_log_key
from tests.support import OpenLedger
from tests.witness.helpers import TestClient


@pytest.fixture
def keys(db: Database) -> Keystore:
    return Keystore(db, PASSPHRASE)


@pytest.fixture
def served(ledger: OpenLedger, keys: Keystore) -> OpenLedger:
    """The test ledger, its log key kept in the keystore (as ``ledger demo`` keeps it)."""
    keep_log_key(keys, ledger)
    return ledger


@pytest.fixture
def server(served: OpenLedger, keys: Keystore) -> LogServer:
    return LogServer.open(served.db, keys, interval=INTERVAL)


@pytest.fixture
def client(server: LogServer) -> Iterator[TestClient]:
    with TestClient(create_log_app(server)) as client:
        yield client

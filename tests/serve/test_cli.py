"""``ledger serve`` on both databases: every configuration error exits 2 with a short
message and no traceback, before anything is served.

Exit status (api/cli.py): 2 usage or configuration error.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from ledger.core.checkpoint import cosigner_vkey
from ledger.core.crypto import LocalSigner
from ledger.keystore import Keystore
from ledger.storage import Database
from tests.serve.helpers import PASSPHRASE, keep_log_key, vkey_of
from tests.support import ORIGIN, OpenLedger, open_ledger, run_cli

SECOND = "ledger.example.org/test-2"
WITNESS = cosigner_vkey("supervisor.example.cn/witness-1", LocalSigner.generate().public_key)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSPHRASE", PASSPHRASE)
    for variable in (
        "LEDGER_DATABASE_URL",
        "LEDGER_MASTER_KEY",
        "LEDGER_WITNESSES",
        "LEDGER_WITNESS_QUORUM",
    ):
        monkeypatch.delenv(variable, raising=False)


def configuration_error(*argv: str, message: str) -> str:
    result = run_cli("serve", *argv)
    assert result.code == 2, (result.out, result.err)
    assert message in result.err, result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    return result.err


def test_without_the_keystore_passphrase(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_KEYSTORE_PASSPHRASE")
    configuration_error("--db", db.url, message="set LEDGER_KEYSTORE_PASSPHRASE")


def test_with_a_wrong_keystore_passphrase(
    served: OpenLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSPHRASE", "not the passphrase")
    configuration_error("--db", served.db.url, message="wrong keystore passphrase")


def test_an_empty_database_or_a_missing_file(db: Database, tmp_path: Path) -> None:
    db.origins()
    configuration_error("--db", db.url, message="holds no ledger")
    missing = f"sqlite:///{tmp_path}/missing.sqlite3"
    configuration_error("--db", missing, message="no ledger database at")
    assert not (tmp_path / "missing.sqlite3").exists()


def test_no_ledger_whose_log_key_the_keystore_holds(ledger: OpenLedger) -> None:
    configuration_error(
        "--db", ledger.db.url, message="the keystore holds the log key of no ledger in"
    )


def test_a_named_ledger_that_is_not_there(served: OpenLedger) -> None:
    configuration_error(
        "--db",
        served.db.url,
        "--ledger",
        "nope.example/x",
        message=f"no ledger 'nope.example/x' in {served.db.describe()}; it holds: {ORIGIN}",
    )


def test_a_named_ledger_without_its_log_key(served: OpenLedger) -> None:
    open_ledger(served.db, SECOND)
    configuration_error(
        "--db",
        served.db.url,
        "--ledger",
        ORIGIN,
        "--ledger",
        SECOND,
        message=f"the keystore holds no log key of {SECOND}",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--witness", "no-at-sign"], "ledger serve: witness 'no-at-sign'"),
        (["--witness", f"{WITNESS}@http://w.example", "--quorum", "2"], "quorum 2 of 1"),
        (["--quorum", "1"], "quorum 1 of 0 witnesses is impossible"),
        (["--interval", "0"], "--interval must be above 0 and below 1 second"),
        (["--interval", "1"], "--interval must be above 0 and below 1 second"),
        (["--interval", "nan"], "--interval must be above 0"),
        (["--interval", "soon"], "argument --interval: invalid float value"),
        (["--port", "70000"], "--port 70000 is not a TCP port"),
        (["--port", "http"], "argument --port: invalid int value"),
    ],
)
def test_bad_options(served: OpenLedger, argv: list[str], message: str) -> None:
    configuration_error("--db", served.db.url, *argv, message=message)


def test_a_bad_witness_setting(served: OpenLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_WITNESSES", "nonsense")
    configuration_error("--db", served.db.url, message="ledger serve: witness 'nonsense'")
    monkeypatch.setenv("LEDGER_WITNESSES", f"{WITNESS}@http://w.example")
    monkeypatch.setenv("LEDGER_WITNESS_QUORUM", "3")
    configuration_error("--db", served.db.url, message="quorum 3 of 1 witnesses is impossible")


def test_a_port_already_taken(served: OpenLedger, keys: Keystore) -> None:
    """Everything is configured: the server starts its publisher, cannot listen, stops it."""
    second = open_ledger(served.db, SECOND)
    keep_log_key(keys, second, SECOND)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = configuration_error(
            "--db",
            served.db.url,
            "--port",
            str(port),
            message=f"ledger serve: cannot serve on 127.0.0.1:{port}",
        )
    assert f"serving {ORIGIN} (log key {vkey_of(served)})\n" in err
    assert f"serving {SECOND} (log key {vkey_of(second, SECOND)})\n" in err
    assert not any(t.name.startswith("publisher ") for t in threading.enumerate())

"""``ledger verify``: exit 2 with a clear message (never a traceback) on bad configuration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.storage import Database
from tests.storage.helpers import CliResult, assert_intact, cli_verify, run_cli
from tests.support import OPENING_ENTRIES, ORIGIN, OpenLedger


def assert_usage_error(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert result.out == ""
    assert result.err.startswith("ledger")
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for fragment in fragments:
        assert fragment in result.err, result.err


def test_missing_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    result = run_cli("verify", "--db", f"sqlite:///{missing}")
    assert_usage_error(result, str(missing), "not found")
    assert not missing.exists()  # verify never creates a database


def test_missing_sqlite_file_with_json(tmp_path: Path) -> None:
    result = cli_verify(f"sqlite:///{tmp_path}/missing.sqlite3")
    assert_usage_error(result, "not found")


@pytest.mark.postgres
def test_unreachable_postgres(postgres_server: str) -> None:
    result = cli_verify("postgresql://postgres@127.0.0.1:1/test")
    # the pool only says it timed out; the message also says why the server refused
    assert_usage_error(result, "127.0.0.1", "Connection refused")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/ledger",
        "ledger.sqlite3",
        "sqlite://host/ledger.sqlite3",
        "postgresql://",
        "postgresql://postgres@localhost:notaport/test",
    ],
)
def test_malformed_database_urls(url: str) -> None:
    assert_usage_error(cli_verify(url), "URL")


def test_unknown_scheme_names_the_expected_ones() -> None:
    assert_usage_error(cli_verify("mysql://root@localhost/ledger"), "sqlite:///", "postgresql://")


def test_bad_arguments_exit_2() -> None:
    assert_usage_error(run_cli("verify", "--no-such-flag"), "--no-such-flag")
    assert_usage_error(run_cli("frobnicate"))
    assert_usage_error(run_cli())


def test_database_url_from_the_environment(
    ledger: OpenLedger, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.record_service(1)
    monkeypatch.setenv("LEDGER_DATABASE_URL", database_url)
    result = run_cli("verify", "--json")
    assert result.code == 0, result.err
    assert result.json()["ok"] is True


def test_json_report(ledger: OpenLedger, database_url: str) -> None:
    for n in range(1, 4):
        ledger.record_service(n)
    result = cli_verify(database_url)
    assert result.code == 0, result.err
    data = result.json()
    assert data["ok"] is True
    (item,) = data["ledgers"]
    assert item["origin"] == ORIGIN
    assert item["ok"] is True
    assert item["entries"] == OPENING_ENTRIES + 3
    assert "failure" not in item
    assert isinstance(item["seconds"], float | int)


def test_text_report(ledger: OpenLedger, database_url: str) -> None:
    ledger.record_service(1)
    result = run_cli("verify", "--db", database_url)
    assert result.code == 0, result.err
    assert result.out.startswith(f"ok    {ORIGIN}: {OPENING_ENTRIES + 1} entries intact")


def test_database_holding_no_ledger(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.ensure_ready()  # the side tables exist, but no ledger was ever opened
    finally:
        db.close()
    assert_usage_error(cli_verify(database_url), "holds no ledger")


def test_empty_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    assert path.exists()
    assert_usage_error(cli_verify(f"sqlite:///{path}"), "holds no ledger")


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"this is not an SQLite database, just some text " * 100)
    result = cli_verify(f"sqlite:///{path}")
    assert_usage_error(result, str(path))


def test_intact_then_failure_exit_codes(ledger: OpenLedger, database_url: str) -> None:
    """Exit 1 is reserved for integrity failures (a registered origin without entries)."""
    ledger.record_service(1)
    assert_intact(ledger.db, database_url)
    ledger.db.register_origin("ledger.example.org/empty", "2026-01-01T00:00:00.000000Z")
    result = cli_verify(database_url)
    assert result.code == 1, result.err
    by_origin = {item["origin"]: item for item in result.json()["ledgers"]}
    assert by_origin[ORIGIN]["ok"] is True
    failure = by_origin["ledger.example.org/empty"]["failure"]
    assert (failure["index"], failure["kind"]) == (0, "VerificationError")

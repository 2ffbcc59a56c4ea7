"""Damaged trees, unreadable bundles, vkeys naming no ledger, exports of truncated logs."""

from __future__ import annotations

from pathlib import Path

from ledger.verification import verify_ledger
from tests.log.helpers import (
    delete_entries,
    record_and_publish,
    rows_of,
    run_cli,
    tables,
)
from tests.support import ORIGIN, OpenLedger, owner_sql


def test_missing_tree_node_fails_verification(ledger: OpenLedger, database_url: str) -> None:
    record_and_publish(ledger, [range(1, 6)])  # 3 opening entries + 5 = 8 leaves
    owner_sql(ledger.db, f"DELETE FROM {tables().nodes} WHERE level = 3 AND idx = 0")
    report = verify_ledger(ledger.db, ORIGIN)
    assert report.failure is not None
    assert "(3, 0) is not stored" in report.failure.problem
    result = run_cli("verify", "--db", database_url)
    assert result.code == 1
    assert "Traceback" not in result.err


def test_vkey_naming_no_ledger_is_a_usage_error(ledger: OpenLedger, database_url: str) -> None:
    record_and_publish(ledger, [range(1, 3)])
    other = "elsewhere.example.org/x+00000000+AQ" + "A" * 42 + "="
    assert run_cli("verify", "--db", database_url, "--vkey", "garbage").code == 2
    result = run_cli("verify", "--db", database_url, "--vkey", other)
    assert result.code == 2
    assert "not a ledger here" in result.err or "verifier key" in result.err


def test_unreadable_bundle_parts_are_usage_errors(
    ledger: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    record_and_publish(ledger, [range(1, 4)])
    out = tmp_path / "bundle"
    assert run_cli("export", "--db", database_url, "--out", str(out)).code == 0
    (out / "checkpoints").mkdir(exist_ok=True)
    (out / "checkpoints" / "sub").mkdir()
    assert run_cli("verify-bundle", str(out)).code == 0  # folders inside are not checkpoints
    (out / "entries.jsonl").unlink()
    (out / "entries.jsonl").mkdir()
    result = run_cli("verify-bundle", str(out))
    assert result.code == 2
    assert "cannot read entries.jsonl" in result.err


def test_export_of_a_truncated_log_fails_and_leaves_nothing(
    ledger: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    record_and_publish(ledger, [range(1, 6)])
    delete_entries(ledger.db, rows_of(ledger.db)[-2:])
    place = tmp_path / "exports"
    place.mkdir()
    out = place / "bundle"
    result = run_cli("export", "--db", database_url, "--out", str(out))
    assert result.code == 1
    assert "truncated" in result.err
    assert list(place.iterdir()) == []

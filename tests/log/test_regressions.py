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
from tests.support import OPENING_ENTRIES, ORIGIN, OpenLedger, owner_sql


def test_missing_tree_node_fails_verification(ledger: OpenLedger, database_url: str) -> None:
    record_and_publish(ledger, [range(1, 6)])  # the opening entries + 5 leaves
    # the node of the tree's largest perfect subtree, which every root of this size needs
    level = (OPENING_ENTRIES + 5).bit_length() - 1
    owner_sql(ledger.db, f"DELETE FROM {tables().nodes} WHERE level = ? AND idx = 0", (level,))
    report = verify_ledger(ledger.db, ORIGIN)
    assert report.failure is not None
    assert f"({level}, 0) is not stored" in report.failure.problem
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


def test_integration_stops_at_what_was_stored_when_it_began(ledger: OpenLedger) -> None:
    """Under constant appends a publisher must still get to sign (it used to chase the tail)."""
    from ledger.tlog import TreeStore

    for n in range(1, 6):
        ledger.record_service(n)
    stored = len(rows_of(ledger.db))
    more = iter(range(100, 200))

    class Busy(TreeStore):
        def integrate(self, limit: int = 2, *, up_to: int | None = None) -> int:
            ledger.record_service(next(more))  # a new entry arrives every round
            return super().integrate(min(limit, 2), up_to=up_to)

    assert Busy(ledger.db, ORIGIN).integrate_all() == stored

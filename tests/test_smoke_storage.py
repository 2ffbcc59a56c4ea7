from __future__ import annotations

from ledger.verification import verify_ledger
from tests.support import ORIGIN, OpenLedger


def test_open_ledger_verifies(ledger: OpenLedger) -> None:
    ledger.record_service(1)
    report = verify_ledger(ledger.db, ORIGIN)
    assert report.ok, report.failure
    assert report.entries == 4

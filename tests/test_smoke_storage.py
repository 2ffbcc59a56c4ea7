from __future__ import annotations

import pytest

from ledger.verification import verify_ledger
from tests.support import OPENING_ENTRIES, ORIGIN, OpenLedger


def test_open_ledger_verifies(ledger: OpenLedger) -> None:
    ledger.record_service(1)
    report = verify_ledger(ledger.db, ORIGIN)
    assert report.ok, report.failure
    assert report.entries == OPENING_ENTRIES + 1


def test_worker_processes_verify_a_stored_ledger(
    ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.core import parallel

    monkeypatch.setattr(parallel, "CHUNK", 3)
    for n in range(1, 12):
        ledger.record_service(n)
    ledger.app.publish()
    alone = verify_ledger(ledger.db, ORIGIN, workers=1)
    together = verify_ledger(ledger.db, ORIGIN, workers=2)
    assert alone.ok
    assert together.ok
    assert together.entries == alone.entries == OPENING_ENTRIES + 11
    assert together.details == alone.details

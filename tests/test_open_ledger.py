"""Opening a ledger: once, at index 0, under a known policy pack."""

from __future__ import annotations

import pytest

from ledger.app import EntryRejectedError, LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.keystore import MemorySigners
from ledger.storage import Database
from tests.support import ORIGIN, OpenLedger


def test_unknown_policy_is_refused_and_nothing_is_written(db: Database) -> None:
    signers = MemorySigners()
    root = signers.add("root", LocalSigner.generate())
    app = LedgerApplication(db, ORIGIN, signers=signers)
    with pytest.raises(EntryRejectedError, match="hunan-sme-2015"):
        app.open_ledger(
            policy="mars-2030",
            root_actor="root",
            root_signers=[root],
            log_signer=LocalSigner.generate(),
        )
    assert list(db.iter_log(ORIGIN)) == []
    assert db.origins() == []


def test_a_ledger_opens_once(ledger: OpenLedger) -> None:
    with pytest.raises(EntryRejectedError, match="already open"):
        ledger.app.open_ledger(
            policy="hunan-sme-2015",
            root_actor="root",
            root_signers=[ledger.root],
            log_signer=ledger.log,
        )

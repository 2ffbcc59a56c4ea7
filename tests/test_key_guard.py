"""A writer with a stale key ring never stores an entry signed by a key revoked meanwhile."""

from __future__ import annotations

import pytest

from ledger.app import EntryRejectedError, LedgerApplication
from ledger.verification import verify_ledger
from tests.support import ORIGIN, OpenLedger, add_window


def test_revocation_by_another_writer_is_seen_before_storing(ledger: OpenLedger) -> None:
    ledger.record_service(1, actor="platform/zhuzhou")  # this writer's key ring is now read
    other = LedgerApplication(ledger.db, ORIGIN, signers=ledger.signers)
    zhuzhou = ledger.actors["platform/zhuzhou"]
    other.revoke_key(by="root", key=zhuzhou.key_id, reason="device lost")
    size = len(list(ledger.db.iter_log(ORIGIN)))

    with pytest.raises(EntryRejectedError, match="no signing key"):
        ledger.record_service(2, actor="platform/zhuzhou")

    assert len(list(ledger.db.iter_log(ORIGIN))) == size
    assert verify_ledger(ledger.db, ORIGIN).ok


def test_key_registered_by_another_writer_is_found(ledger: OpenLedger) -> None:
    ledger.record_service(1)
    position = ledger.app._keyring_position
    other = LedgerApplication(ledger.db, ORIGIN, signers=ledger.signers)
    # another writer onboards a window platform, registering its key in the same batch
    add_window(ledger, "platform/xiangtan", writer=other)
    assert ledger.app._keyring_position == position  # this writer has not seen the key

    ledger.record_service(2, actor="platform/xiangtan")  # the stale writer refreshes and signs
    assert ledger.app._keyring_position > position
    assert verify_ledger(ledger.db, ORIGIN).ok


def test_writes_after_a_concurrent_key_event_are_resealed(ledger: OpenLedger) -> None:
    ledger.record_service(1)
    position = ledger.app._keyring_position
    other = LedgerApplication(ledger.db, ORIGIN, signers=ledger.signers)
    from ledger.core.crypto import LocalSigner

    extra = LocalSigner.generate()
    other.register_key(by="root", subject="platform/hengyang", public_key=extra.public_key)
    ledger.record_service(2)  # guard trips, ring refreshes, entry is sealed again and stored
    assert ledger.app._keyring_position > position
    report = verify_ledger(ledger.db, ORIGIN)
    assert report.ok, report.failure

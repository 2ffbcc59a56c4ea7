"""Custodial keystore and the personal-information vault, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest

from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import decode_entry
from ledger.core.pi import PI_MEMBER, opens, redact
from ledger.disclosures import DisclosureVault, VaultError
from ledger.domain.registration import Member
from ledger.keystore import Keystore, KeystoreError
from ledger.storage import Database
from ledger.verification import verify_ledger
from tests.support import CHANGSHA, ORIGIN, OpenLedger


def test_keystore_signs_for_registered_actor_and_reopens(db: Database) -> None:
    store = Keystore(db, "correct horse battery staple")
    root = store.generate("root")
    app = LedgerApplication(db, ORIGIN, signers=store)
    app.open_ledger(
        policy="hunan-sme-2015",
        root_actor="root",
        root_signers=[root],
        log_signer=LocalSigner.generate(),
    )
    platform = store.generate("platform/changsha")
    app.register_key(by="root", subject="platform/changsha", public_key=platform.public_key)

    reopened = Keystore(db, "correct horse battery staple")
    assert reopened.signer(platform.key_id).public_key == platform.public_key
    assert reopened.signer_for("platform/changsha", app.refresh_keys()) is not None
    assert reopened.signer_for("platform/zhuzhou", app.refresh_keys()) is None


def test_keystore_refuses_wrong_or_empty_passphrase(db: Database) -> None:
    Keystore(db, "right").generate("root")
    with pytest.raises(KeystoreError, match="wrong keystore passphrase"):
        Keystore(db, "wrong")
    with pytest.raises(KeystoreError, match="empty"):
        Keystore(db, "")


def test_revoked_key_is_not_offered_for_signing(ledger: OpenLedger) -> None:
    signer = ledger.actors["platform/zhuzhou"]
    ledger.app.revoke_key(by="root", key=signer.key_id, reason="compromised")
    assert ledger.signers.signer_for("platform/zhuzhou", ledger.app.refresh_keys()) is None


def test_disclosures_open_and_erasure_keeps_the_ledger_intact(ledger: OpenLedger) -> None:
    vault = DisclosureVault(ledger.db, ORIGIN, os.urandom(32))
    contact = {"name": "王芳", "phone": "13800000000", "id_card": "430102199001011234"}
    redacted, disclosures = redact({"contact": contact}, ["/contact/name", "/contact/phone"])
    member = Member.register(
        stream="member/0100",
        actor=CHANGSHA,
        kind="enterprise",
        name="浏阳电子信息有限公司",
        credit_code="91430181MA4L00000R",
        identity=redacted["contact"],
        platform=CHANGSHA,
        state_owned=False,
    )
    ledger.app.save(member, ledger.province.claim(member))
    assert vault.store("member/0100", disclosures) == 2

    stored = next(r.state for r in ledger.db.iter_log(ORIGIN) if r.originator_id == member.id)
    assert decode_entry(stored).envelope.type == "MemberRegistered"
    assert b"13800000000" not in stored
    assert "王芳".encode() not in stored
    commitment = redacted["contact"]["phone"]
    opened = vault.open(commitment[PI_MEMBER])
    assert opened is not None
    assert opened.value == "13800000000"
    assert opens(commitment, opened)

    assert vault.erase("member/0100") == 2
    assert vault.open(commitment[PI_MEMBER]) is None
    report = verify_ledger(ledger.db, ORIGIN)
    assert report.ok, report.failure


def test_vault_with_another_master_key_cannot_unwrap(ledger: OpenLedger) -> None:
    _, disclosures = redact({"phone": "13900000000"}, ["/phone"])
    DisclosureVault(ledger.db, ORIGIN, os.urandom(32)).store("member/0101", disclosures)
    other = DisclosureVault(ledger.db, ORIGIN, os.urandom(32))
    with pytest.raises(VaultError, match="wrong master key"):
        other.open(disclosures[0].commitment())

"""Tampering with stored entries below the application is detected at the exact log index.

Every tamper is raw SQL run as the database owner with the append-only triggers out of
the way (``owner_sql``); both ``verify_ledger`` and ``ledger verify --json`` must then
exit 1 naming the first bad entry's log index and stream.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from eventsourcing.persistence import Notification

from ledger.core.crypto import LocalSigner
from ledger.core.envelope import Entry, assemble_entry, decode_entry, parse_time
from ledger.verification import verify_ledger
from tests.storage.helpers import (
    CHANGSHA,
    MULTI_STREAM,
    ZHUZHOU,
    assert_detected,
    assert_intact,
    cli_verify,
    forge,
    head,
    insert_row,
    log_index,
    log_rows,
    overwrite_state,
    populate,
    row_state,
    service_body,
)
from tests.support import BASIS_DATE, OPENING_ENTRIES, ORIGIN, OpenLedger, owner_sql


@pytest.fixture
def populated(ledger: OpenLedger, database_url: str) -> list[Notification]:
    """The ledger filled with a few dozen entries, verified intact; its rows in log order."""
    populate(ledger)
    rows = log_rows(ledger.db)
    assert len(rows) == OPENING_ENTRIES + 27
    assert [row.originator_version for row in rows if row.originator_id == MULTI_STREAM] == [
        1,
        2,
        3,
        4,
    ]
    assert_intact(ledger.db, database_url)
    return rows


# -- (a) one changed byte -----------------------------------------------------------------


def test_changed_digit_in_body_breaks_the_signature(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    stream = "service/000005"  # evaluated later: its v2 comes after the tampered entry
    index = log_index(populated, stream, 1)
    assert index < log_index(populated, stream, 2)
    state = row_state(populated, stream, 1)
    assert state.count(b'"fee_fen":120000') == 1
    tampered = state.replace(b'"fee_fen":120000', b'"fee_fen":920000')
    assert len(tampered) == len(state)
    assert sum(a != b for a, b in zip(state, tampered, strict=True)) == 1
    assert decode_entry(tampered).envelope.body["fee_fen"] == 920_000  # still valid JSON

    overwrite_state(ledger.db, stream, 1, tampered)

    assert_detected(
        ledger.db,
        database_url,
        index=index,
        stream=stream,
        kind="SignatureError",
        problem="does not verify",
    )


def _break_json(state: bytes) -> bytes:
    tampered = state.replace(b'"fee_fen":120000', b'"fee_fen":x20000')
    assert len(tampered) == len(state)
    assert tampered != state
    return tampered


def test_changed_byte_breaking_json_is_a_malformed_entry(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    stream = "service/000008"
    index = log_index(populated, stream, 1)
    overwrite_state(ledger.db, stream, 1, _break_json(row_state(populated, stream, 1)))

    report = verify_ledger(ledger.db, ORIGIN)
    assert report.failure is not None
    assert report.failure.index == index
    assert report.entries == index
    assert "malformed entry" in report.failure.problem

    result = cli_verify(database_url)
    assert result.code == 1, result.err
    (item,) = result.json()["ledgers"]
    assert item["ok"] is False
    assert item["failure"]["index"] == index
    assert "malformed entry" in item["failure"]["problem"]


def test_malformed_entry_failure_names_the_stream(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    stream = "service/000008"
    index = log_index(populated, stream, 1)
    overwrite_state(ledger.db, stream, 1, _break_json(row_state(populated, stream, 1)))
    assert_detected(
        ledger.db,
        database_url,
        index=index,
        stream=stream,
        kind="VerificationError",
        problem="malformed entry",
    )


# -- (b) an entry deleted from the middle of a stream -------------------------------------


def test_deleted_middle_version_is_a_chain_gap(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    v2, v3 = log_index(populated, MULTI_STREAM, 2), log_index(populated, MULTI_STREAM, 3)
    assert v2 < v3
    owner_sql(
        ledger.db,
        f"DELETE FROM {ledger.db.events_table(ORIGIN)} "
        "WHERE originator_id = ? AND originator_version = ?",
        (MULTI_STREAM, 2),
    )
    assert len(log_rows(ledger.db)) == len(populated) - 1

    # Version 3 is now one position earlier in the log: the row before it is gone.
    assert_detected(
        ledger.db,
        database_url,
        index=v3 - 1,
        stream=MULTI_STREAM,
        kind="ChainError",
        problem="version: expected 2, got 3",
    )


def test_deleted_last_version_of_a_stream_is_caught_by_the_checkpoint(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    """A stream's tail leaves no gap behind: only a signed checkpoint shows it is gone."""
    checkpoint = ledger.app.publish()
    assert checkpoint is not None
    assert checkpoint.checkpoint.size == len(populated)
    deleted = log_index(populated, MULTI_STREAM, 4)
    owner_sql(
        ledger.db,
        f"DELETE FROM {ledger.db.events_table(ORIGIN)} "
        "WHERE originator_id = ? AND originator_version = ?",
        (MULTI_STREAM, 4),
    )
    report = verify_ledger(ledger.db, ORIGIN)
    failure = report.failure
    assert failure is not None, "truncation under a signed checkpoint went unnoticed"
    assert "truncated" in failure.problem
    # Reported where the log stops matching the checkpoint: no earlier than the deleted
    # entry's index, no later than the first index the checkpoint covers but is missing.
    assert failure.index is not None
    assert deleted <= failure.index <= len(populated) - 1

    result = cli_verify(database_url)
    assert result.code == 1, result.err
    (item,) = result.json()["ledgers"]
    assert item["failure"]["index"] == failure.index
    assert "truncated" in item["failure"]["problem"]


def test_changed_digit_under_a_checkpoint_is_reported_at_its_index(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    """A published tree does not mask the entry-level finding: the first bad index wins."""
    assert ledger.app.publish() is not None
    stream = "service/000004"
    index = log_index(populated, stream, 1)
    state = row_state(populated, stream, 1)
    overwrite_state(ledger.db, stream, 1, state.replace(b"120000", b"120500"))
    assert_detected(
        ledger.db,
        database_url,
        index=index,
        stream=stream,
        kind="SignatureError",
        problem="does not verify",
    )


# -- (c) two entries' bytes swapped -------------------------------------------------------


def test_swapped_entries_are_stored_out_of_place(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    first, second = ("service/000004", 1), ("service/000011", 1)
    i, j = log_index(populated, *first), log_index(populated, *second)
    assert i < j
    state_i, state_j = row_state(populated, *first), row_state(populated, *second)
    overwrite_state(ledger.db, *first, state_j)
    overwrite_state(ledger.db, *second, state_i)
    assert log_rows(ledger.db)[i].state == state_j

    assert_detected(
        ledger.db,
        database_url,
        index=i,
        stream=first[0],
        kind="VerificationError",
        problem="stored as 'service/000004' version 1, but the entry says 'service/000011'",
    )


# -- (d) a forged entry signed by an unregistered key -------------------------------------


def test_forged_entry_by_unregistered_key(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    forger = LocalSigner.generate()
    stream = "service/000999"
    entry = forge(
        forger,
        stream=stream,
        version=1,
        prev=None,
        type_="ServiceRecorded",
        body=service_body(999),
        actor=CHANGSHA,
    )
    insert_row(ledger.db, entry)
    rows = log_rows(ledger.db)
    assert rows[-1].state == entry.raw
    index = len(populated)
    assert log_index(rows, stream, 1) == index

    assert_detected(
        ledger.db,
        database_url,
        index=index,
        stream=stream,
        kind="TrustError",
        problem=f"key {forger.key_id} is not registered",
    )


def test_forged_entry_by_registered_key_is_the_control(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    """The same forgery signed by the actor's real key verifies: (d) fails for the key alone."""
    entry = forge(
        ledger.actors[CHANGSHA],
        stream="service/000999",
        version=1,
        prev=None,
        type_="ServiceRecorded",
        body=service_body(999),
        actor=CHANGSHA,
    )
    insert_row(ledger.db, entry)
    report = assert_intact(ledger.db, database_url)
    assert report.entries == len(populated) + 1


# -- (e) an entry signed by a revoked key -------------------------------------------------


ZHUZHOU_STREAM = "service/000013"  # recorded by ZHUZHOU, one version


def _revoke_zhuzhou(ledger: OpenLedger) -> tuple[LocalSigner, str]:
    signer = ledger.actors[ZHUZHOU]
    revocation = ledger.app.revoke_key(by="root", key=signer.key_id, reason="key compromised")
    revoked_at = revocation.envelope.body["revoked_at"]
    assert isinstance(revoked_at, str)
    return signer, revoked_at


def _late_evidence(
    signer: LocalSigner, rows: list[Notification], stream: str, time: datetime
) -> Entry:
    """Evidence ZHUZHOU attaches to a record of its own: the next entry of ``stream``."""
    version, prev = head(rows, stream)
    assert decode_entry(row_state(rows, stream, 1)).envelope.actor == ZHUZHOU
    return forge(
        signer,
        stream=stream,
        version=version + 1,
        prev=prev,
        type_="EvidenceAttached",
        body={
            "corrects": 1,
            "evidence": [
                {
                    "type": "现场照片",
                    "sha256": "cd" * 32,
                    "basis_date": BASIS_DATE,
                    "media_type": "image/jpeg",
                    "size": 2048,
                }
            ],
            "reason": "late",
        },
        actor=ZHUZHOU,
        time=time,
    )


def test_entry_signed_by_revoked_key(ledger: OpenLedger, database_url: str) -> None:
    populate(ledger)
    signer, revoked_at = _revoke_zhuzhou(ledger)
    rows = log_rows(ledger.db)
    assert_intact(ledger.db, database_url)

    stream = ZHUZHOU_STREAM
    entry = _late_evidence(signer, rows, stream, parse_time(revoked_at) + timedelta(seconds=1))
    insert_row(ledger.db, entry)
    assert log_rows(ledger.db)[-1].state == entry.raw

    assert_detected(
        ledger.db,
        database_url,
        index=len(rows),
        stream=stream,
        kind="TrustError",
        problem=f"key {signer.key_id} was revoked at {revoked_at}",
    )


def test_entry_signed_at_the_revocation_instant_is_invalid(
    ledger: OpenLedger, database_url: str
) -> None:
    """FORMAT.md §4: invalid when ``time`` is *at* or after ``revoked_at``."""
    populate(ledger)
    signer, revoked_at = _revoke_zhuzhou(ledger)
    rows = log_rows(ledger.db)
    stream = "service/000002"
    entry = _late_evidence(signer, rows, stream, parse_time(revoked_at))
    insert_row(ledger.db, entry)
    assert_detected(
        ledger.db,
        database_url,
        index=len(rows),
        stream=stream,
        kind="TrustError",
        problem="was revoked at",
    )


def test_entry_signed_before_revocation_is_the_control(
    ledger: OpenLedger, database_url: str
) -> None:
    """The same forgery timed before ``revoked_at`` verifies: (e) fails for the time alone."""
    populate(ledger)
    signer, revoked_at = _revoke_zhuzhou(ledger)
    rows = log_rows(ledger.db)
    entry = _late_evidence(
        signer, rows, ZHUZHOU_STREAM, parse_time(revoked_at) - timedelta(microseconds=1)
    )
    insert_row(ledger.db, entry)
    report = assert_intact(ledger.db, database_url)
    assert report.entries == len(rows) + 1


# -- (f) a signature copied from another entry --------------------------------------------


def test_signature_copied_from_another_entry(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    target, donor = ("service/000007", 1), ("service/000009", 1)  # both by the same actor
    index = log_index(populated, *target)
    original = decode_entry(row_state(populated, *target))
    other = decode_entry(row_state(populated, *donor))
    assert original.envelope.key == other.envelope.key
    assert original.sig != other.sig
    tampered = assemble_entry(original.envelope_bytes, other.sig)
    assert decode_entry(tampered).envelope == original.envelope  # canonical, well formed
    assert len(tampered) == len(original.raw)

    overwrite_state(ledger.db, *target, tampered)

    assert_detected(
        ledger.db,
        database_url,
        index=index,
        stream=target[0],
        kind="SignatureError",
        problem=f"signature by key {original.envelope.key} does not verify",
    )


def test_first_of_several_tampers_is_reported(
    ledger: OpenLedger, database_url: str, populated: list[Notification]
) -> None:
    """With a later chain break and an earlier signature break, the earlier index wins."""
    owner_sql(
        ledger.db,
        f"DELETE FROM {ledger.db.events_table(ORIGIN)} "
        "WHERE originator_id = ? AND originator_version = ?",
        (MULTI_STREAM, 3),
    )
    stream = "service/000002"
    index = log_index(populated, stream, 1)
    assert index < log_index(populated, MULTI_STREAM, 3)
    state = row_state(populated, stream, 1)
    overwrite_state(ledger.db, stream, 1, state.replace(b"120000", b"120001"))
    assert_detected(
        ledger.db,
        database_url,
        index=index,
        stream=stream,
        kind="SignatureError",
        problem="does not verify",
    )


def test_overwrite_really_changes_the_stored_bytes(ledger: OpenLedger) -> None:
    """Sanity: the tamper helpers really change what ``iter_log`` returns."""
    ledger.record_service(1)
    rows = log_rows(ledger.db)
    state = row_state(rows, "service/000001", 1)
    overwrite_state(ledger.db, "service/000001", 1, state.replace(b"120000", b"120009"))
    after = row_state(log_rows(ledger.db), "service/000001", 1)
    assert hashlib.sha256(after).digest() != hashlib.sha256(state).digest()

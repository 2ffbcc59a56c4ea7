"""The storage contract, on SQLite and PostgreSQL alike.

Exact bytes in, exact bytes out; the log's table refuses changes; racing writers never
fork or gap a stream; ledgers sharing a database stay apart; client-signed entries are
checked completely before their bytes are stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ledger.app import EntryRejectedError, LedgerApplication, StreamConflictError
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import Entry, assemble_entry, decode_entry
from ledger.domain.errors import RuleViolationError
from ledger.domain.services import ServiceRecord
from ledger.storage import Database, StorageError
from ledger.verification import verify_ledger
from tests.storage.helpers import (
    CHANGSHA,
    MEMBER,
    MEMBERS,
    ZHUZHOU,
    assert_intact,
    cli_verify,
    forge,
    log_rows,
    record_multi,
    service_body,
)
from tests.support import (
    OPENING_ENTRIES,
    ORIGIN,
    OpenLedger,
    add_window,
    open_ledger,
    service_record,
)

OTHER_ORIGIN = "ledger.example.org/other"


def raws(db: Database, origin: str = ORIGIN) -> list[bytes]:
    return [row.state for row in db.iter_log(origin)]


# -- exact bytes ----------------------------------------------------------------------


def test_entry_bytes_come_back_exactly(ledger: OpenLedger, database_url: str) -> None:
    signer = LocalSigner.generate()
    registered = ledger.app.register_key(
        by="root", subject="platform/xiangtan", public_key=signer.public_key
    )
    stored = raws(ledger.db)
    assert stored[-1] == registered.raw
    assert isinstance(stored[-1], bytes)
    assert decode_entry(stored[-1]) == registered

    submitted = ledger.app.submit(
        forge(
            ledger.actors[CHANGSHA],
            stream="service/000001",
            version=1,
            prev=None,
            type_="ServiceRecorded",
            body=service_body(1, CHANGSHA),
            actor=CHANGSHA,
        ).raw
    )
    stored = raws(ledger.db)
    assert stored[-1] == submitted.raw
    assert stored[-2] == registered.raw
    assert hashlib.sha256(stored[-1]).digest() == submitted.hash
    assert_intact(ledger.db, database_url)


def test_non_ascii_body_bytes_come_back_exactly(ledger: OpenLedger) -> None:
    """UTF-8 body text (the evidence type 合同) is stored as the signed bytes, not re-encoded."""
    record = ledger.record_service(7)
    (row,) = [r for r in ledger.db.iter_log(ORIGIN) if r.originator_id == record.id]
    assert "合同".encode() in row.state
    assert b"\\u" not in row.state
    decode_entry(row.state)  # still canonical


# -- append-only --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET topic = 'x'",
        "UPDATE {table} SET state = state WHERE originator_version = 1",
        "DELETE FROM {table}",
        "DELETE FROM {table} WHERE originator_id = 'service/000001'",
    ],
)
def test_log_table_refuses_update_and_delete(ledger: OpenLedger, statement: str) -> None:
    ledger.record_service(1)
    before = raws(ledger.db)
    table = ledger.db.events_table(ORIGIN)
    with pytest.raises(StorageError, match="append-only"):
        ledger.db.execute(statement.format(table=table))
    assert raws(ledger.db) == before
    assert verify_ledger(ledger.db, ORIGIN).ok


def test_origins_table_refuses_update_and_delete(ledger: OpenLedger) -> None:
    with pytest.raises(StorageError, match="append-only"):
        ledger.db.execute("UPDATE ledger_origins SET table_prefix = 'x'")
    with pytest.raises(StorageError, match="append-only"):
        ledger.db.execute("DELETE FROM ledger_origins")
    assert ledger.db.origins() == [ORIGIN]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_postgres_refuses_truncate(ledger: OpenLedger) -> None:
    assert ledger.db.is_postgres
    ledger.record_service(1)
    before = raws(ledger.db)
    with pytest.raises(StorageError, match="append-only"):
        ledger.db.execute(f"TRUNCATE {ledger.db.events_table(ORIGIN)}")
    with pytest.raises(StorageError, match="append-only"):
        ledger.db.execute("TRUNCATE ledger_origins")
    assert raws(ledger.db) == before
    assert ledger.db.origins() == [ORIGIN]


# -- racing writers -----------------------------------------------------------------------


def _second_app(ledger: OpenLedger, database_url: str) -> tuple[Database, LedgerApplication]:
    db = Database(database_url)
    return db, LedgerApplication(db, ORIGIN, signers=ledger.signers)


def test_two_writers_on_one_stream_exactly_one_wins(ledger: OpenLedger, database_url: str) -> None:
    stream = "service/000001"
    record_multi(ledger, stream, list(MEMBERS))
    db2, app2 = _second_app(ledger, database_url)
    try:
        mine: ServiceRecord = ledger.app.repository.get(stream)
        theirs: ServiceRecord = app2.repository.get(stream)
        mine.evaluate(enterprise=MEMBERS[0], score=5, comment="ok")
        theirs.evaluate(enterprise=MEMBERS[1], score=4, comment="ok")
        before = raws(ledger.db)

        ledger.app.save(mine)
        with pytest.raises(StreamConflictError, match="reload and try again"):
            app2.save(theirs)

        after = raws(ledger.db)
        assert after[: len(before)] == before
        assert len(after) == len(before) + 1
        winner = decode_entry(after[-1]).envelope
        assert (winner.stream, winner.version, winner.actor) == (stream, 2, MEMBERS[0])
        assert winner.body["enterprise"] == MEMBERS[0]
        assert_intact(ledger.db, database_url)

        # The loser reloads and retries: it chains onto the winner's entry.
        again: ServiceRecord = app2.repository.get(stream)
        again.evaluate(enterprise=MEMBERS[1], score=4, comment="ok")
        app2.save(again)
        last = decode_entry(raws(ledger.db)[-1]).envelope
        assert (last.version, last.prev) == (3, hashlib.sha256(after[-1]).hexdigest())
        assert_intact(ledger.db, database_url)
    finally:
        db2.close()


def _race(
    ledger: OpenLedger,
    apps: list[tuple[Database, LedgerApplication]],
    writer: Callable[[int], None],
    streams: int,
    enterprises: list[str],
) -> int:
    """Record ``streams`` services, run one writer thread per app; return the log size before."""
    try:
        for i in range(streams):
            record_multi(ledger, f"service/{i:06d}", enterprises)
        before = len(raws(ledger.db))
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(len(apps))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        for db, _ in apps:
            db.close()
    return before


def test_thread_race_keeps_streams_gap_free(ledger: OpenLedger, database_url: str) -> None:
    """Two threads, each with its own application and connection, race on one stream."""
    iterations = 50 if ledger.db.is_postgres else 20
    enterprises = list(MEMBERS[:2])
    apps = [_second_app(ledger, database_url) for _ in enterprises]
    barrier = threading.Barrier(len(apps), timeout=30)
    outcomes: list[list[str]] = [[] for _ in apps]

    def writer(n: int) -> None:
        _, app = apps[n]
        for i in range(iterations):
            try:
                record: ServiceRecord = app.repository.get(f"service/{i:06d}")
                record.evaluate(enterprise=enterprises[n], score=3, comment="race")
                barrier.wait()  # both hold version 1 before either saves
                barrier.wait()
                app.save(record)
                outcomes[n].append("saved")
            except StreamConflictError:
                outcomes[n].append("conflict")
            except Exception as e:  # reported by the main thread
                outcomes[n].append(f"error: {e!r}")
                barrier.abort()
                return

    before = _race(ledger, apps, writer, iterations, enterprises)

    for i in range(iterations):
        results = sorted(outcome[i] for outcome in outcomes)
        assert results == ["conflict", "saved"], (i, outcomes)
    rows = log_rows(ledger.db)
    assert len(rows) == before + iterations
    versions: dict[str, list[int]] = {}
    for row in rows:
        versions.setdefault(str(row.originator_id), []).append(row.originator_version)
    for stream, numbers in versions.items():
        assert numbers == list(range(1, len(numbers) + 1)), stream
    assert all(versions[f"service/{i:06d}"] == [1, 2] for i in range(iterations))
    assert_intact(ledger.db, database_url)


def test_thread_race_with_retries_loses_nothing(ledger: OpenLedger, database_url: str) -> None:
    """Free-running writers that reload and retry on conflict: every evaluation lands once."""
    streams = 10 if ledger.db.is_postgres else 5
    enterprises = list(MEMBERS)
    apps = [_second_app(ledger, database_url) for _ in enterprises]
    barrier = threading.Barrier(len(apps), timeout=30)
    conflicts = [0 for _ in apps]
    errors: list[str] = []

    def writer(n: int) -> None:
        _, app = apps[n]
        try:
            barrier.wait()
            for i in range(streams):
                while True:
                    record: ServiceRecord = app.repository.get(f"service/{i:06d}")
                    record.evaluate(enterprise=enterprises[n], score=3, comment="")
                    try:
                        app.save(record)
                        break
                    except StreamConflictError:
                        conflicts[n] += 1
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))

    before = _race(ledger, apps, writer, streams, enterprises)

    assert errors == []
    rows = log_rows(ledger.db)
    assert len(rows) == before + streams * len(enterprises)
    for i in range(streams):
        stream = f"service/{i:06d}"
        mine = [decode_entry(row.state).envelope for row in rows if row.originator_id == stream]
        assert [env.version for env in mine] == [1, 2, 3, 4]
        assert sorted(env.body["enterprise"] for env in mine[1:]) == enterprises
    assert_intact(ledger.db, database_url)


# -- several ledgers in one database ------------------------------------------------------


def test_ledgers_sharing_a_database_stay_apart(ledger: OpenLedger, database_url: str) -> None:
    other = open_ledger(ledger.db, OTHER_ORIGIN)
    for n in (1, 2, 3):  # the same stream names in both ledgers
        ledger.record_service(n)
        other.record_service(n, actor=ZHUZHOU)
    other.record_service(4)

    mine, theirs = raws(ledger.db, ORIGIN), raws(ledger.db, OTHER_ORIGIN)
    assert (len(mine), len(theirs)) == (OPENING_ENTRIES + 3, OPENING_ENTRIES + 4)
    assert not set(mine) & set(theirs)
    assert {decode_entry(raw).envelope.ledger for raw in mine} == {ORIGIN}
    assert {decode_entry(raw).envelope.ledger for raw in theirs} == {OTHER_ORIGIN}
    assert list(ledger.app.entries()) == mine
    assert list(other.app.entries()) == theirs
    assert ledger.db.events_table(ORIGIN) != ledger.db.events_table(OTHER_ORIGIN)
    assert ledger.db.origins() == sorted([ORIGIN, OTHER_ORIGIN])

    assert verify_ledger(ledger.db, ORIGIN).entries == OPENING_ENTRIES + 3
    assert verify_ledger(ledger.db, OTHER_ORIGIN).entries == OPENING_ENTRIES + 4
    result = cli_verify(database_url)
    assert result.code == 0, result.err
    by_origin = {item["origin"]: item for item in result.json()["ledgers"]}
    assert set(by_origin) == {ORIGIN, OTHER_ORIGIN}
    assert by_origin[ORIGIN]["entries"] == OPENING_ENTRIES + 3
    assert by_origin[OTHER_ORIGIN]["entries"] == OPENING_ENTRIES + 4
    assert all(item["ok"] for item in by_origin.values())


def test_a_ledger_refuses_entries_of_another(ledger: OpenLedger) -> None:
    other = open_ledger(ledger.db, OTHER_ORIGIN)
    entry = forge(
        other.actors[CHANGSHA],
        stream="service/000001",
        version=1,
        prev=None,
        type_="ServiceRecorded",
        body=service_body(1, CHANGSHA),
        actor=CHANGSHA,
        origin=OTHER_ORIGIN,
    )
    before = raws(ledger.db)
    with pytest.raises(EntryRejectedError, match="is for ledger"):
        ledger.app.submit(entry.raw)
    assert raws(ledger.db) == before
    other.app.submit(entry.raw)
    assert raws(ledger.db, OTHER_ORIGIN)[-1] == entry.raw


# -- client-signed entries ----------------------------------------------------------------


def _record_entry(
    ledger: OpenLedger,
    *,
    signer: LocalSigner | None = None,
    actor: str = CHANGSHA,
    time: datetime | None = None,
    origin: str = ORIGIN,
    stream: str = "service/000042",
) -> Entry:
    return forge(
        signer or ledger.actors[actor],
        stream=stream,
        version=1,
        prev=None,
        type_="ServiceRecorded",
        body=service_body(42, actor),
        actor=actor,
        time=time,
        origin=origin,
    )


def test_client_signed_entries_are_stored(ledger: OpenLedger, database_url: str) -> None:
    first = ledger.app.submit(_record_entry(ledger).raw)
    evaluation = forge(
        ledger.actors[MEMBER],
        stream="service/000042",
        version=2,
        prev=first.hash,
        type_="ServiceEvaluated",
        body={"enterprise": MEMBER, "score": 5, "comment": "好"},
        actor=MEMBER,
    )
    second = ledger.app.submit(evaluation.raw)
    assert second.raw == evaluation.raw
    assert raws(ledger.db)[-2:] == [first.raw, evaluation.raw]

    # The application reads client-signed entries like its own, and chains onto them.
    record: ServiceRecord = ledger.app.repository.get("service/000042")
    assert record.version == 2
    assert record.evaluated_by == {MEMBER}
    assert_intact(ledger.db, database_url)


def _assert_rejected(
    ledger: OpenLedger, raw: bytes, match: str, error: type[Exception] = EntryRejectedError
) -> None:
    before = raws(ledger.db)
    with pytest.raises(error, match=match):
        ledger.app.submit(raw)
    assert raws(ledger.db) == before


def test_submit_rejects_stale_and_future_times(ledger: OpenLedger) -> None:
    now = datetime.now(UTC)
    _assert_rejected(ledger, _record_entry(ledger, time=now - timedelta(minutes=6)).raw, "stale")
    _assert_rejected(
        ledger, _record_entry(ledger, time=now + timedelta(minutes=6)).raw, "in the future"
    )
    # Within the allowed skew both ways, it is accepted.
    ledger.app.submit(_record_entry(ledger, time=now - timedelta(minutes=4)).raw)
    ledger.app.submit(
        _record_entry(ledger, time=now + timedelta(minutes=4), stream="service/000043").raw
    )


def test_submit_rejects_unregistered_and_foreign_keys(ledger: OpenLedger) -> None:
    stranger = LocalSigner.generate()
    _assert_rejected(ledger, _record_entry(ledger, signer=stranger).raw, "is not registered")
    foreign = _record_entry(ledger, signer=ledger.actors[ZHUZHOU], actor=CHANGSHA)
    _assert_rejected(ledger, foreign.raw, f"belongs to '{ZHUZHOU}', not to actor '{CHANGSHA}'")


def test_submit_rejects_a_bad_signature(ledger: OpenLedger) -> None:
    entry = _record_entry(ledger)
    bad_sig = bytes([entry.sig[0] ^ 0x01]) + entry.sig[1:]
    _assert_rejected(ledger, assemble_entry(entry.envelope_bytes, bad_sig), "does not verify")
    # The signature of another envelope by the same key does not verify either.
    other = _record_entry(ledger, stream="service/000043")
    _assert_rejected(ledger, assemble_entry(entry.envelope_bytes, other.sig), "does not verify")


def test_submit_rejects_another_ledger(ledger: OpenLedger) -> None:
    entry = _record_entry(ledger, origin="ledger.example.org/elsewhere")
    _assert_rejected(ledger, entry.raw, "is for ledger 'ledger.example.org/elsewhere'")


def test_submit_rejects_non_canonical_encodings(ledger: OpenLedger) -> None:
    entry = _record_entry(ledger)
    value = json.loads(entry.raw)
    spaced = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
    escaped = json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode()
    reordered = json.dumps(
        {"sig": value["sig"], "envelope": value["envelope"]},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    for raw in (spaced, escaped, reordered, entry.raw + b"\n"):
        assert json.loads(raw) == value
        assert raw != entry.raw
        _assert_rejected(ledger, raw, "malformed entry")


def _evaluation(
    ledger: OpenLedger, version: int, prev: bytes | None, enterprise: str = MEMBER
) -> bytes:
    """An evaluation of ``service/000042`` signed by ``enterprise`` itself."""
    return forge(
        ledger.actors[enterprise],
        stream="service/000042",
        version=version,
        prev=prev,
        type_="ServiceEvaluated",
        body={"enterprise": enterprise, "score": 5, "comment": "ok"},
        actor=enterprise,
    ).raw


def test_submit_rejects_wrong_versions_and_prev(ledger: OpenLedger) -> None:
    first = ledger.app.submit(_record_entry(ledger).raw)

    _assert_rejected(
        ledger, _record_entry(ledger).raw, "expected version 2, got 1", StreamConflictError
    )
    _assert_rejected(
        ledger, _evaluation(ledger, 3, first.hash), "expected version 2, got 3", StreamConflictError
    )
    _assert_rejected(ledger, _evaluation(ledger, 2, hashlib.sha256(b"x").digest()), "prev expected")
    ledger.app.submit(_evaluation(ledger, 2, first.hash))
    _assert_rejected(
        ledger, _evaluation(ledger, 2, first.hash), "expected version 3, got 2", StreamConflictError
    )


def test_submit_rejects_a_revoked_key(ledger: OpenLedger, database_url: str) -> None:
    signer = ledger.actors[ZHUZHOU]
    accepted = ledger.app.submit(_record_entry(ledger, signer=signer, actor=ZHUZHOU).raw)
    ledger.app.revoke_key(by="root", key=signer.key_id, reason="device lost")
    late = _record_entry(ledger, signer=signer, actor=ZHUZHOU, stream="service/000043")
    _assert_rejected(ledger, late.raw, "was revoked at")
    assert accepted.raw in raws(ledger.db)
    assert_intact(ledger.db, database_url)


@pytest.mark.parametrize("enterprise", [MEMBERS[1], MEMBER], ids=["not-recipient", "twice"])
def test_submit_rejects_an_event_the_aggregate_refuses(ledger: OpenLedger, enterprise: str) -> None:
    first = ledger.app.submit(_record_entry(ledger).raw)  # delivered to MEMBER only
    prev = first.hash
    if enterprise == MEMBER:  # a first, valid evaluation by the recipient
        prev = ledger.app.submit(_evaluation(ledger, 2, prev)).hash
    version = 3 if enterprise == MEMBER else 2
    before = raws(ledger.db)
    with pytest.raises((EntryRejectedError, RuleViolationError), match="HN 19"):
        ledger.app.submit(_evaluation(ledger, version, prev, enterprise=enterprise))
    assert raws(ledger.db) == before


def test_custodial_save_without_a_key_writes_nothing(ledger: OpenLedger) -> None:
    # A certified platform that keeps its key itself: the rules admit its record, but the
    # custodial signers hold no key to sign it with.
    nobody = add_window(ledger, "platform/nobody", own_key=True)
    before = raws(ledger.db)
    record = service_record(77, nobody)
    with pytest.raises(EntryRejectedError, match="no signing key for actor 'platform/nobody'"):
        ledger.app.save(record)
    assert raws(ledger.db) == before
    # The same actor's key, revoked, is no key either.
    signer = ledger.actors[ZHUZHOU]
    ledger.app.revoke_key(by="root", key=signer.key_id, reason="left the platform")
    before = raws(ledger.db)
    record = service_record(78, ZHUZHOU)
    with pytest.raises(EntryRejectedError, match="no signing key"):
        ledger.app.save(record)
    assert raws(ledger.db) == before


def test_a_batch_save_is_all_or_nothing(ledger: OpenLedger) -> None:
    nobody = add_window(ledger, "platform/nobody", own_key=True)
    good = service_record(80, CHANGSHA)
    bad = service_record(81, nobody)  # passes the rules, fails when sealed: no custodial key
    before = raws(ledger.db)
    with pytest.raises(EntryRejectedError, match="no signing key for actor 'platform/nobody'"):
        ledger.app.save(good, bad)
    assert raws(ledger.db) == before
    ledger.app.save(service_record(80, CHANGSHA))
    assert decode_entry(raws(ledger.db)[-1]).envelope.version == 1

"""Shared helpers for the storage tests: populate a ledger, forge entries, run verify."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Notification

from ledger.core.crypto import Signer
from ledger.core.envelope import Entry, Envelope, format_time
from ledger.core.sign import seal
from ledger.domain.services import ServiceRecord
from ledger.storage import Database
from ledger.verification import Report, verify_ledger
from tests.support import CHANGSHA as CHANGSHA
from tests.support import MEMBER as MEMBER
from tests.support import MEMBERS as MEMBERS
from tests.support import ORIGIN, OpenLedger, owner_sql, service_record
from tests.support import ZHUZHOU as ZHUZHOU
from tests.support import CliResult as CliResult
from tests.support import run_cli as run_cli
from tests.support import service_body as service_body

MULTI_STREAM = "service/000100"
MULTI_ENTERPRISES = list(MEMBERS)


def record_multi(
    ledger: OpenLedger, stream: str, enterprises: list[str], actor: str = CHANGSHA
) -> ServiceRecord:
    """Save a service record delivered to several enterprises (so it can be evaluated often);
    its evidence digest is the stream's number."""
    n = int(stream.rsplit("/", 1)[-1])
    record = service_record(n, actor, enterprises, stream=stream)
    ledger.app.save(record)
    return record


def evaluate(ledger: OpenLedger, stream: str, enterprise: str = MEMBER) -> None:
    """``enterprise``, a recipient of the service, evaluates it (signed by its own key)."""
    record: ServiceRecord = ledger.app.repository.get(stream)
    record.evaluate(enterprise=enterprise, score=5, comment="ok")
    ledger.app.save(record)


def populate(ledger: OpenLedger) -> None:
    """A few dozen entries: records by two actors, evaluations, one stream of 4 versions.

    Log: the opening entries, 27 more; ``service/000100`` has versions 1..4, interleaved.
    """
    for n in range(1, 13):
        ledger.record_service(n, actor=CHANGSHA if n % 2 else ZHUZHOU)
    record_multi(ledger, MULTI_STREAM, MULTI_ENTERPRISES)
    for n in (3, 5, 7):
        evaluate(ledger, f"service/{n:06d}")
    for i, enterprise in enumerate(MULTI_ENTERPRISES):
        ledger.record_service(13 + 2 * i, actor=ZHUZHOU)
        evaluate(ledger, MULTI_STREAM, enterprise)
        ledger.record_service(14 + 2 * i, actor=CHANGSHA)
    for n in (19, 20):
        ledger.record_service(n)


def log_rows(db: Database, origin: str = ORIGIN) -> list[Notification]:
    return list(db.iter_log(origin))


def log_index(rows: list[Notification], stream: str, version: int) -> int:
    """0-based position of ``stream`` at ``version`` in log (notification) order."""
    for index, row in enumerate(rows):
        if (row.originator_id, row.originator_version) == (stream, version):
            return index
    raise AssertionError(f"{stream} version {version} is not in the log")


def row_state(rows: list[Notification], stream: str, version: int) -> bytes:
    return rows[log_index(rows, stream, version)].state


def head(rows: list[Notification], stream: str) -> tuple[int, bytes]:
    """The last version of ``stream`` in ``rows`` and its entry hash."""
    last = [row for row in rows if row.originator_id == stream][-1]
    return last.originator_version, hashlib.sha256(last.state).digest()


def forge(
    signer: Signer,
    *,
    stream: str,
    version: int,
    prev: bytes | None,
    type_: str,
    body: dict[str, Any],
    actor: str,
    time: datetime | None = None,
    origin: str = ORIGIN,
) -> Entry:
    """A well-formed entry sealed by ``signer``, as a client (or a forger) would build it."""
    envelope = Envelope(
        ledger=origin,
        stream=stream,
        version=version,
        prev=None if prev is None else prev.hex(),
        type=type_,
        time=format_time(time or datetime.now(UTC)),
        actor=actor,
        key=signer.key_id,
        body=body,
    )
    return seal(envelope, signer)


def events_table(db: Database, origin: str = ORIGIN) -> str:
    return db.events_table(origin)


def overwrite_state(db: Database, stream: str, version: int, state: bytes) -> None:
    owner_sql(
        db,
        f"UPDATE {events_table(db)} SET state = ? "
        "WHERE originator_id = ? AND originator_version = ?",
        (state, stream, version),
    )


def insert_row(db: Database, entry: Entry) -> None:
    env = entry.envelope
    owner_sql(
        db,
        f"INSERT INTO {events_table(db)} (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        (env.stream, env.version, env.type, entry.raw),
    )


def cli_verify(database_url: str) -> CliResult:
    return run_cli("verify", "--db", database_url, "--json")


def assert_intact(db: Database, database_url: str, origin: str = ORIGIN) -> Report:
    """Both the library and the command line say the ledger is intact."""
    report = verify_ledger(db, origin)
    assert report.ok, report.failure
    result = cli_verify(database_url)
    assert result.code == 0, result.err
    assert '"ok": true' in result.out
    data = result.json()
    assert data["ok"] is True
    assert any(item["origin"] == origin and item["ok"] is True for item in data["ledgers"])
    return report


def assert_detected(
    db: Database,
    database_url: str,
    *,
    index: int,
    stream: str | None,
    kind: str,
    problem: str,
) -> None:
    """Both verify_ledger and ``ledger verify --json`` report exactly this failure."""
    report = verify_ledger(db, ORIGIN)
    failure = report.failure
    assert failure is not None, "the tamper was not detected"
    assert (failure.index, failure.stream) == (index, stream), failure
    assert type(failure).__name__ == kind, failure
    assert problem in failure.problem, failure
    assert report.entries == index  # verification stopped at the first bad entry

    result = cli_verify(database_url)
    assert result.code == 1, (result.out, result.err)
    data = result.json()
    assert data["ok"] is False
    (ledger_report,) = [item for item in data["ledgers"] if item["origin"] == ORIGIN]
    assert ledger_report["ok"] is False
    assert ledger_report["failure"]["index"] == index
    assert ledger_report["failure"]["stream"] == stream
    assert ledger_report["failure"]["kind"] == kind
    assert problem in ledger_report["failure"]["problem"]

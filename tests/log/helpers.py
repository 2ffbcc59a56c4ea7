"""Helpers for the log tests: build checkpointed ledgers, tamper with them, run the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Notification

from ledger.core.crypto import Signer
from ledger.core.envelope import Entry, decode_entry
from ledger.core.merkle import hash_leaf
from ledger.core.note import verifier_key
from ledger.core.sign import seal
from ledger.domain.services import ServiceRecord
from ledger.storage import Database, table_prefix
from ledger.tlog import SignedCheckpoint
from tests.support import CHANGSHA as CHANGSHA
from tests.support import MEMBER, ORIGIN, OpenLedger, owner_sql
from tests.support import OPENING_ENTRIES as OPENING_ENTRIES
from tests.support import CliResult as CliResult
from tests.support import run_cli as run_cli


@dataclass(frozen=True)
class Tables:
    events: str
    leaves: str
    nodes: str
    checkpoints: str


def tables(origin: str = ORIGIN) -> Tables:
    prefix = table_prefix(origin)
    return Tables(
        f"{prefix}_events", f"{prefix}_leaves", f"{prefix}_nodes", f"{prefix}_checkpoints"
    )


def log_vkey_of(ledger: OpenLedger, origin: str = ORIGIN) -> str:
    return verifier_key(origin, ledger.log.public_key)


def rows_of(db: Database, origin: str = ORIGIN) -> list[Notification]:
    return list(db.iter_log(origin))


def leaf_hashes(db: Database, origin: str = ORIGIN) -> list[bytes]:
    return [hash_leaf(row.state) for row in db.iter_log(origin)]


def record_and_publish(ledger: OpenLedger, batches: list[range]) -> list[SignedCheckpoint]:
    """Record one service per number in each batch, publishing after every batch."""
    signed = []
    for batch in batches:
        for n in batch:
            ledger.record_service(n)
        checkpoint = ledger.app.publish()
        assert checkpoint is not None
        signed.append(checkpoint)
    return signed


def evaluate(ledger: OpenLedger, n: int) -> None:
    """Version 2 of ``service/<n>``: an entry whose ``prev`` names version 1, signed by
    the enterprise the service was delivered to."""
    record: ServiceRecord = ledger.app.repository.get(f"service/{n:06d}")
    record.evaluate(enterprise=MEMBER, score=5, comment="ok")
    ledger.app.save(record)


# -- tampering as the database owner -------------------------------------------------------


def delete_entries(db: Database, rows: list[Notification], origin: str = ORIGIN) -> None:
    """Delete these entries from the events table."""
    if not rows:
        return
    where = " OR ".join("(originator_id = ? AND originator_version = ?)" for _ in rows)
    params = tuple(v for row in rows for v in (str(row.originator_id), row.originator_version))
    owner_sql(db, f"DELETE FROM {tables(origin).events} WHERE {where}", params)


def delete_tree_beyond(db: Database, size: int, origin: str = ORIGIN) -> None:
    """Delete the leaves and perfect nodes that cover any leaf at index ``size`` or later."""
    t = tables(origin)
    owner_sql(db, f"DELETE FROM {t.leaves} WHERE idx >= ?", (size,))
    owner_sql(db, f"DELETE FROM {t.nodes} WHERE (idx + 1) * (1 << level) > ?", (size,))


def delete_checkpoints_beyond(db: Database, size: int, origin: str = ORIGIN) -> None:
    owner_sql(db, f"DELETE FROM {tables(origin).checkpoints} WHERE size > ?", (size,))


def truncate(db: Database, size: int, *, checkpoints: bool, origin: str = ORIGIN) -> None:
    """Cut the log back to ``size`` entries with its tree (and, if asked, its checkpoints)."""
    delete_entries(db, rows_of(db, origin)[size:], origin)
    delete_tree_beyond(db, size, origin)
    if checkpoints:
        delete_checkpoints_beyond(db, size, origin)


def reseal(entry_bytes: bytes, signer: Signer, **body_changes: Any) -> Entry:
    """The same envelope with a changed body, freshly signed by ``signer``."""
    envelope = decode_entry(entry_bytes).envelope
    body = {**envelope.body, **body_changes}
    return seal(dataclasses.replace(envelope, body=body), signer)


def replace_state(db: Database, stream: str, version: int, state: bytes) -> None:
    owner_sql(
        db,
        f"UPDATE {tables().events} SET state = ? "
        "WHERE originator_id = ? AND originator_version = ?",
        (state, stream, version),
    )


# -- the command line ------------------------------------------------------------------------

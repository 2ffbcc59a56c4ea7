"""The verifiable log of one ledger: RFC 9162 tree and signed checkpoints, in the database.

The integrator follows the stored entries in log order, adds each as a leaf, stores
every completed perfect subtree ``(level, index)``, and signs a C2SP checkpoint
for the new size. A proof at any size reads at most a few dozen stored nodes in
one query. Tree and checkpoint tables are append-only, like the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.crypto import Signer
from ledger.core.envelope import format_time
from ledger.core.merkle import (
    CompactRange,
    Node,
    compact_hashes,
    consistency_proof,
    inclusion_proof,
    root_from,
)
from ledger.core.note import NoteVerifier, sign_note
from ledger.storage import Database, table_prefix

INTEGRATE_BATCH = 5000
T = TypeVar("T")


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str


class TreeStore:
    """Tree nodes, leaf-to-entry index and checkpoints of one origin."""

    def __init__(self, db: Database, origin: str) -> None:
        self.db, self.origin = db, origin
        prefix = table_prefix(origin)
        self.leaves, self.nodes = f"{prefix}_leaves", f"{prefix}_nodes"
        self.checkpoints = f"{prefix}_checkpoints"
        self.cosignatures = f"{prefix}_cosignatures"
        self._create()

    def _create(self) -> None:
        db = self.db
        db.ensure_ready()
        blob = "BYTEA" if db.is_postgres else "BLOB"
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.leaves} (idx BIGINT PRIMARY KEY,"
            f" notification_id BIGINT NOT NULL UNIQUE, hash {blob} NOT NULL)"
        )
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (level INTEGER NOT NULL,"
            f" idx BIGINT NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, idx))"
        )
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints} (size BIGINT PRIMARY KEY,"
            f" root {blob} NOT NULL, note TEXT NOT NULL, created TEXT NOT NULL)"
        )
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cosignatures} (size BIGINT NOT NULL,"
            f" witness TEXT NOT NULL, line TEXT NOT NULL, root {blob} NOT NULL,"
            " received TEXT NOT NULL, PRIMARY KEY (size, witness))"
        )
        for table in (self.leaves, self.nodes, self.checkpoints, self.cosignatures):
            db.append_only(table)

    # -- reading -------------------------------------------------------------------------

    def size(self) -> int:
        rows = self.db.execute(f"SELECT MAX(idx) FROM {self.leaves}")
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def lookup(self, nodes: Sequence[Node]) -> Mapping[Node, bytes]:
        """Hashes of perfect subtrees (level 0: leaf hashes), in one read per 250 nodes."""
        found: dict[Node, bytes] = {}
        leaves_table, nodes_table = self.db.qualified(self.leaves), self.db.qualified(self.nodes)
        for group in _chunks(list(nodes), 250):
            leaves = [i for level, i in group if level == 0]
            inner = [v for level, i in group if level > 0 for v in (level, i)]
            parts, params = [], []
            if leaves:
                parts.append(
                    f"SELECT 0, idx, hash FROM {leaves_table} "
                    f"WHERE idx IN ({','.join('?' * len(leaves))})"
                )
                params.extend(leaves)
            if inner:
                where = " OR ".join("(level = ? AND idx = ?)" for _ in range(len(inner) // 2))
                parts.append(f"SELECT level, idx, hash FROM {nodes_table} WHERE {where}")
                params.extend(inner)
            for level, idx, value in self.db.query(" UNION ALL ".join(parts), params):
                found[(int(level), int(idx))] = bytes(value)
        return found

    def root(self, size: int) -> bytes:
        return root_from(size, self.lookup)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(index, size, self.lookup)

    def consistency(self, m: int, n: int) -> list[bytes]:
        return consistency_proof(m, n, self.lookup)

    def notification_id(self, index: int) -> int | None:
        rows = self.db.execute(f"SELECT notification_id FROM {self.leaves} WHERE idx = ?", (index,))
        return int(rows[0][0]) if rows else None

    def cosignature_lines(self, size: int, witnesses: set[str] | None = None) -> list[str]:
        """Witness cosignature lines kept for the checkpoint at ``size``."""
        rows = self.db.execute(
            f"SELECT witness, line FROM {self.cosignatures} WHERE size = ? ORDER BY witness",
            (size,),
        )
        return [line for name, line in rows if witnesses is None or name in witnesses]

    def latest(self) -> SignedCheckpoint | None:
        rows = self.db.execute(f"SELECT note FROM {self.checkpoints} ORDER BY size DESC LIMIT 1")
        return None if not rows else _signed(rows[0][0])

    def history(self) -> list[SignedCheckpoint]:
        rows = self.db.execute(f"SELECT note FROM {self.checkpoints} ORDER BY size")
        return [_signed(row[0]) for row in rows]

    def at_size(self, size: int) -> SignedCheckpoint | None:
        rows = self.db.execute(f"SELECT note FROM {self.checkpoints} WHERE size = ?", (size,))
        return None if not rows else _signed(rows[0][0])

    # -- writing -------------------------------------------------------------------------

    def integrate(self, limit: int = INTEGRATE_BATCH, *, up_to: int | None = None) -> int:
        """Add up to ``limit`` new entries (stored no later than ``up_to``) as leaves;
        return the tree size."""
        size = self.size()
        last = self.db.execute(f"SELECT MAX(notification_id) FROM {self.leaves}")[0][0] or 0
        rows = self.db.recorder(self.origin).select_notifications(
            int(last), limit, stop=up_to, inclusive_of_start=False
        )
        if not rows:
            return size
        compact = CompactRange(size, compact_hashes(size, self.lookup))
        leaf_rows, node_rows = [], []
        for row in rows:
            index = compact.size
            leaf = hashlib.sha256(b"\x00" + row.state).digest()
            for (level, idx), value in compact.append(leaf):
                if level == 0:
                    leaf_rows.append((index, row.id, value))
                else:
                    node_rows.append((level, idx, value))
        with self.db.transaction() as tx:
            tx.executemany(
                f"INSERT INTO {self.leaves} (idx, notification_id, hash) VALUES (?, ?, ?)",
                leaf_rows,
            )
            tx.executemany(
                f"INSERT INTO {self.nodes} (level, idx, hash) VALUES (?, ?, ?)", node_rows
            )
        return compact.size

    def integrate_all(self) -> int:
        """Integrate what is stored now (not what keeps arriving meanwhile)."""
        up_to = self.db.recorder(self.origin).max_notification_id() or 0
        while True:
            before = self.size()
            after = self.integrate(up_to=up_to)
            if after == before:
                return after

    def sign(self, signer: Signer, *, now: datetime | None = None) -> SignedCheckpoint | None:
        """Sign a checkpoint for the integrated size, unless the latest already covers it."""
        size = self.size()
        latest = self.latest()
        if size == 0 or (latest is not None and latest.checkpoint.size >= size):
            return latest
        checkpoint = Checkpoint(self.origin, size, self.root(size))
        note = sign_note(checkpoint.text(), self.origin, signer)
        self.db.execute(
            f"INSERT INTO {self.checkpoints} (size, root, note, created) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (size) DO NOTHING",
            (size, checkpoint.root, note, format_time(now or datetime.now(UTC))),
        )
        return self.at_size(size)

    def advance(self, signer: Signer) -> SignedCheckpoint | None:
        """Integrate everything stored and sign a checkpoint for it."""
        self.integrate_all()
        return self.sign(signer)


def _signed(note: str) -> SignedCheckpoint:
    from ledger.core.note import split_note

    text, _ = split_note(note)
    return SignedCheckpoint(Checkpoint.parse(text), note)


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def verified_checkpoint(note: str, vkey: str) -> Checkpoint:
    return open_checkpoint(note, NoteVerifier.parse(vkey))

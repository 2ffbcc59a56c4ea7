"""Verifying a stored ledger: every entry in log order, streamed, on every core.

Stateless checks (canonical form, envelope, signature) run in worker processes,
chunk by chunk; the ordered checks (origin, keys at the entry's time, chains)
run here. Memory stays flat: chunks are bounded and stream heads spill to disk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.audit import Audit
from ledger.core.errors import VerificationError
from ledger.core.merkle import CompactRange
from ledger.core.parallel import check_chunks, chunked
from ledger.core.verify import Position
from ledger.storage import Database
from ledger.tlog import TreeStore

INLINE_BELOW = 20_000  # entries: fewer than this verify in-process

Progress = Callable[[int, int], None]


@dataclass
class Report:
    """The outcome of verifying one ledger."""

    origin: str
    entries: int = 0
    seconds: float = 0.0
    failure: VerificationError | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "origin": self.origin,
            "ok": self.ok,
            "entries": self.entries,
            "seconds": round(self.seconds, 3),
            **self.details,
        }
        if self.failure is not None:
            out["failure"] = {
                "index": self.failure.index,
                "stream": self.failure.stream,
                "problem": self.failure.problem,
                "kind": type(self.failure).__name__,
            }
        return out


def verify_ledger(
    db: Database,
    origin: str,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    checkpoints: Sequence[tuple[str, str]] = (),
    vkey: str | None = None,
) -> Report:
    """Verify ``origin``'s whole log; the report names the first bad index, if any.

    Besides every entry, the recomputed Merkle root must match each checkpoint
    stored with the log and each of ``checkpoints`` (kept elsewhere, e.g. by an
    auditor or a witness), and the stored tree must agree with the entries.
    """
    started = time.monotonic()
    report = Report(origin=origin)
    recorder = db.recorder(origin)
    tree = TreeStore(db, origin)
    total = recorder.max_notification_id() or 0
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= INLINE_BELOW else 1
    stored = [(f"stored checkpoint {c.checkpoint.size}", c.note) for c in tree.history()]
    audit = Audit(origin, [*stored, *checkpoints], vkey)
    tree_size = tree.size()
    try:
        rows = ((chunk, [r.state for r in chunk]) for chunk in chunked(db.iter_log(origin)))
        for chunk, checked in check_chunks(rows, workers):
            for row, item in zip(chunk, checked, strict=True):
                audit.add(item, Position(str(row.originator_id), row.originator_version))
                if audit.size == tree_size:
                    _check_stored_tree(tree, audit.compact)
            if progress is not None:
                progress(audit.size, total)
        audit.finish()
        if tree_size > audit.size:
            raise VerificationError(
                f"the stored tree has {tree_size} leaves but only {audit.size} entries are "
                "stored: the log was truncated",
                index=audit.size,
            )
    except VerificationError as e:
        report.failure = e
    finally:
        audit.close()
    report.entries = audit.size
    report.seconds = time.monotonic() - started
    report.details = {
        "root": audit.compact.root().hex(),
        "checkpoints_checked": audit.checkpoints.checked,
    }
    return report


def _check_stored_tree(tree: TreeStore, compact: CompactRange) -> None:
    stored = tree.root(compact.size)
    if stored != compact.root():
        raise VerificationError(
            f"the stored tree's root at size {compact.size} is {stored.hex()}, the entries "
            f"give {compact.root().hex()}",
            index=compact.size - 1,
        )


def verify_database(
    db: Database,
    *,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    checkpoints: Sequence[tuple[str, str]] = (),
    vkey: str | None = None,
) -> list[Report]:
    """Verify every ledger in ``db``; each outside checkpoint goes to its own origin."""
    reports = []
    for origin in db.origins():
        callback = None if progress is None else (lambda d, t, o=origin: progress(o, d, t))
        mine = [(w, n) for w, n in checkpoints if _note_origin(n) == origin]
        reports.append(
            verify_ledger(
                db,
                origin,
                workers=workers,
                progress=callback,
                checkpoints=mine,
                vkey=vkey if vkey and vkey.split("+", 1)[0] == origin else None,
            )
        )
    return reports


def _note_origin(note: str) -> str:
    return note.split("\n", 1)[0]

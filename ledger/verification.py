"""Verifying a stored ledger: every entry in log order, streamed, on every core.

Stateless checks (canonical form, envelope, signature) run in worker processes,
chunk by chunk; the ordered checks (origin, keys at the entry's time, chains)
run here. Memory stays flat: chunks are bounded and stream heads spill to disk.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Notification

from ledger.core.crypto import key_id
from ledger.core.envelope import b64decode, decode_entry
from ledger.core.errors import FormatError, VerificationError
from ledger.core.verify import Checked, LogVerifier, Position, check_entries
from ledger.storage import Database

CHUNK = 2000
INLINE_BELOW = 20_000  # entries: fewer than this verify in-process
_KEY_MARKERS = (b'"type":"KeyRegistered"', b'"type":"LedgerOpened"')

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
        }
        if self.failure is not None:
            out["failure"] = {
                "index": self.failure.index,
                "stream": self.failure.stream,
                "problem": self.failure.problem,
                "kind": type(self.failure).__name__,
            }
        return out


def _public_keys_in(raws: Iterable[bytes], into: dict[str, bytes]) -> None:
    """Collect public keys named by key events (self-certifying: id = SHA-256(key))."""
    for raw in raws:
        if not any(marker in raw for marker in _KEY_MARKERS):
            continue
        try:
            body = decode_entry(raw).envelope.body
        except FormatError:
            continue  # reported in order by the verifier
        roots = body.get("root_keys")
        items: list[Any] = roots if isinstance(roots, list) else [body]
        for item in items:
            try:
                public_key = b64decode(item.get("public_key"), size=32)
            except (FormatError, AttributeError):
                continue
            into[key_id(public_key)] = public_key


def _chunks(rows: Iterator[Notification]) -> Iterator[list[Notification]]:
    chunk: list[Notification] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _checked_chunks(
    chunks: Iterator[list[Notification]], workers: int
) -> Iterator[tuple[list[Notification], list[Checked]]]:
    public_keys: dict[str, bytes] = {}
    if workers <= 1:
        for chunk in chunks:
            raws = [row.state for row in chunk]
            _public_keys_in(raws, public_keys)
            yield chunk, check_entries(raws, public_keys)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[list[Notification], Future[list[Checked]]]] = deque()
        for chunk in chunks:
            raws = [row.state for row in chunk]
            _public_keys_in(raws, public_keys)
            pending.append((chunk, pool.submit(check_entries, raws, dict(public_keys))))
            if len(pending) > 2 * workers:
                done_chunk, future = pending.popleft()
                yield done_chunk, future.result()
        while pending:
            done_chunk, future = pending.popleft()
            yield done_chunk, future.result()


def verify_ledger(
    db: Database, origin: str, *, workers: int | None = None, progress: Progress | None = None
) -> Report:
    """Verify ``origin``'s whole log; the report names the first bad index, if any."""
    started = time.monotonic()
    report = Report(origin=origin)
    recorder = db.recorder(origin)
    total = recorder.max_notification_id() or 0
    if workers is None:
        workers = (os.cpu_count() or 1) if total >= INLINE_BELOW else 1
    verifier = LogVerifier(origin=origin)
    try:
        for chunk, checked in _checked_chunks(_chunks(db.iter_log(origin)), workers):
            for row, item in zip(chunk, checked, strict=True):
                verifier.add(item, Position(str(row.originator_id), row.originator_version))
            if progress is not None:
                progress(verifier.size, total)
        if verifier.size == 0:
            raise VerificationError("the ledger has no entries (LedgerOpened is missing)", index=0)
    except VerificationError as e:
        report.failure = e
    finally:
        verifier.close()
    report.entries = verifier.size
    report.seconds = time.monotonic() - started
    return report


def verify_database(
    db: Database,
    *,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Report]:
    """Verify every ledger stored in ``db``."""
    reports = []
    for origin in db.origins():
        callback = None if progress is None else (lambda d, t, o=origin: progress(o, d, t))
        reports.append(verify_ledger(db, origin, workers=workers, progress=callback))
    return reports

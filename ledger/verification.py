"""Verifying a stored ledger: every entry in log order, streamed, on every core.

Stateless checks (canonical form, envelope, signature) run in worker processes,
chunk by chunk; the ordered checks (origin, keys at the entry's time, chains)
run here. Memory stays flat: chunks are bounded and stream heads spill to disk.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Notification

from ledger.core.checkpoint import open_checkpoint
from ledger.core.crypto import key_id
from ledger.core.envelope import b64decode, decode_entry
from ledger.core.errors import FormatError, VerificationError
from ledger.core.merkle import CompactRange
from ledger.core.note import NoteVerifier
from ledger.core.verify import Checked, LogVerifier, Position, check_entries
from ledger.storage import Database
from ledger.tlog import TreeStore

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


class _Checkpoints:
    """Signed checkpoints to hold the recomputed tree against, smallest size first."""

    def __init__(self, notes: Iterable[tuple[str, str]]) -> None:
        self.pending = list(notes)  # (where it came from, signed note)
        self.by_size: list[tuple[int, bytes, str]] = []
        self.checked = 0

    def open(self, vkey: str) -> None:
        verifier = NoteVerifier.parse(vkey)
        for where, note in self.pending:
            try:
                checkpoint = open_checkpoint(note, verifier)
            except (FormatError, VerificationError) as e:
                raise VerificationError(f"{where}: {e}") from e
            self.by_size.append((checkpoint.size, checkpoint.root, where))
        self.by_size.sort()

    def wants(self, size: int) -> bool:
        return bool(self.by_size) and self.by_size[0][0] == size

    def check(self, size: int, root: bytes) -> None:
        while self.by_size and self.by_size[0][0] == size:
            _, signed_root, where = self.by_size.pop(0)
            if signed_root != root:
                raise VerificationError(
                    f"{where} signs root {signed_root.hex()} at size {size}, but the entries "
                    f"give {root.hex()}: history was rewritten or forked",
                    index=size - 1,
                )
            self.checked += 1

    def finish(self, size: int) -> None:
        if self.by_size:
            signed, _, where = self.by_size[0]
            raise VerificationError(
                f"{where} covers {signed} entries but only {size} are stored: the log was "
                "truncated",
                index=size,
            )


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
    verifier = LogVerifier(origin=origin)
    compact = CompactRange()
    stored = [(f"stored checkpoint {c.checkpoint.size}", c.note) for c in tree.history()]
    held = _Checkpoints([*stored, *checkpoints])
    tree_size = tree.size()
    try:
        for chunk, checked in _checked_chunks(_chunks(db.iter_log(origin)), workers):
            for row, item in zip(chunk, checked, strict=True):
                verifier.add(item, Position(str(row.originator_id), row.originator_version))
                compact.push(item.leaf_hash)
                if verifier.size == 1:
                    held.open(_log_vkey(verifier, vkey))
                held.check(compact.size, compact.root() if held.wants(compact.size) else b"")
                if compact.size == tree_size:
                    _check_stored_tree(tree, compact)
            if progress is not None:
                progress(verifier.size, total)
        if verifier.size == 0:
            raise VerificationError("the ledger has no entries (LedgerOpened is missing)", index=0)
        held.finish(verifier.size)
        if tree_size > verifier.size:
            raise VerificationError(
                f"the stored tree has {tree_size} leaves but only {verifier.size} entries are "
                "stored: the log was truncated",
                index=verifier.size,
            )
    except VerificationError as e:
        report.failure = e
    finally:
        verifier.close()
    report.entries = verifier.size
    report.seconds = time.monotonic() - started
    report.details = {"root": compact.root().hex(), "checkpoints_checked": held.checked}
    return report


def _log_vkey(verifier: LogVerifier, published: str | None) -> str:
    """The log's verifier key from LedgerOpened, which must be the published one if given."""
    opening = verifier.keyring.opening
    if opening is None:  # pragma: no cover - index 0 was authorised as LedgerOpened
        raise VerificationError("no LedgerOpened at index 0", index=0)
    if published is not None and published.strip() != opening.verifier_key:
        raise VerificationError(
            f"LedgerOpened names verifier key {opening.verifier_key}, expected the published "
            f"{published.strip()}",
            index=0,
        )
    return opening.verifier_key


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

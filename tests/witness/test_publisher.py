"""The Publisher keeps every acknowledged entry covered by a signed checkpoint within a
second, while writers append concurrently; on both databases.

Four writer threads, each with its own LedgerApplication over the shared database and the
same signers, append service records. A checker thread polls ``TreeStore.latest()`` and,
for every entry whose save has returned, notes when a signed checkpoint first covers it.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.app import LedgerApplication
from ledger.core.merkle import verify_consistency
from ledger.core.note import NoteVerifier, verify_note
from ledger.publisher import Publisher
from ledger.tlog import SignedCheckpoint, TreeStore
from tests.support import ORIGIN, OpenLedger
from tests.witness.helpers import OPENING_ENTRIES, log_vkey, record

WRITERS = 4
PER_WRITER = 40
PROMISE = 1.0  # seconds from a save returning to a signed checkpoint covering the entry


@dataclass
class Coverage:
    """Saved entries (notification id, when the save returned) and when each was covered."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    saved: list[tuple[int, float]] = field(default_factory=list)
    latency: dict[int, float] = field(default_factory=dict)
    late: list[tuple[int, float]] = field(default_factory=list)

    def add(self, nid: int, when: float) -> None:
        with self.lock:
            self.saved.append((nid, when))

    def check(self, tree: TreeStore) -> None:
        """One poll: entries covered now are done; entries past the deadline are late."""
        now = time.monotonic()  # before reading: uncovered at the read means uncovered now
        latest = tree.latest()
        covered = -1
        if latest is not None:
            last = tree.notification_id(latest.checkpoint.size - 1)
            assert last is not None
            covered = last
        done = time.monotonic()
        with self.lock:
            for nid, when in self.saved:
                if nid in self.latency or (nid, when) in self.late:
                    continue
                if nid <= covered:
                    self.latency[nid] = done - when  # an upper bound
                elif now - when > PROMISE:
                    self.late.append((nid, when))

    def pending(self) -> int:
        with self.lock:
            return len(self.saved) - len(self.latency) - len(self.late)


def _writer(
    ledger: OpenLedger, index: int, coverage: Coverage, errors: list[BaseException]
) -> None:
    try:
        app = LedgerApplication(
            ledger.db, ORIGIN, signers=ledger.signers, clock=lambda: datetime.now(UTC)
        )
        rng = random.Random(index)  # noqa: S311 - pacing, not secrets
        for i in range(PER_WRITER):
            nid = record(app, 1000 * (index + 1) + i)
            coverage.add(nid, time.monotonic())
            time.sleep(rng.uniform(0, 0.02))
    except BaseException as e:  # reported by the test
        errors.append(e)


def test_every_append_is_covered_by_a_signed_checkpoint_within_a_second(
    ledger: OpenLedger,
) -> None:
    tree = TreeStore(ledger.db, ORIGIN)
    sizes: list[int] = []
    publisher = Publisher(
        ledger.db,
        ORIGIN,
        ledger.log,
        interval=0.05,
        on_checkpoint=lambda signed: sizes.append(signed.checkpoint.size),
    )
    coverage = Coverage()
    errors: list[BaseException] = []
    writers = [
        threading.Thread(target=_writer, args=(ledger, i, coverage, errors), name=f"writer {i}")
        for i in range(WRITERS)
    ]
    publisher.start()
    try:
        for w in writers:
            w.start()
        deadline = time.monotonic() + 30
        while (any(w.is_alive() for w in writers) or coverage.pending()) and (
            time.monotonic() < deadline
        ):
            coverage.check(tree)
            time.sleep(0.005)
        for w in writers:
            w.join()
    finally:
        publisher.stop()

    assert errors == []
    total = WRITERS * PER_WRITER
    assert len(coverage.saved) == total
    assert coverage.late == [], f"not covered within {PROMISE}s: {coverage.late}"
    assert len(coverage.latency) == total
    assert max(coverage.latency.values()) <= PROMISE

    # the callback saw every checkpoint the publisher signed, in increasing size
    assert sizes == sorted(set(sizes))
    assert sizes[-1] == OPENING_ENTRIES + total
    history = tree.history()
    assert [c.checkpoint.size for c in history] == sizes
    assert publisher.errors == 0
    # each checkpoint is signed by the log key and extends the one before it
    verifier = NoteVerifier.parse(log_vkey(ledger))
    for before, after in itertools.pairwise(history):
        verify_note(after.note, verifier)
        m, n = before.checkpoint.size, after.checkpoint.size
        verify_consistency(
            m, n, before.checkpoint.root, after.checkpoint.root, tree.consistency(m, n)
        )


def test_stop_joins_the_thread_and_nothing_is_published_after(ledger: OpenLedger) -> None:
    seen: list[SignedCheckpoint] = []
    publisher = Publisher(ledger.db, ORIGIN, ledger.log, interval=0.05, on_checkpoint=seen.append)
    assert publisher.start() is publisher
    thread = publisher._thread
    assert thread is not None
    assert thread.is_alive()
    assert publisher.start()._thread is thread  # starting twice keeps one thread

    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [s.checkpoint.size for s in seen] == [OPENING_ENTRIES]

    publisher.stop()
    assert not thread.is_alive()
    assert publisher._thread is None
    assert not any(t.name == f"publisher {ORIGIN}" for t in threading.enumerate())

    ledger.record_service(1)
    time.sleep(0.2)  # four intervals: a running publisher would have signed by now
    assert len(seen) == 1
    assert TreeStore(ledger.db, ORIGIN).latest() == seen[0]
    publisher.stop()  # stopping twice is harmless


def test_publish_once_signs_only_when_the_tree_grew(ledger: OpenLedger) -> None:
    seen: list[int] = []
    publisher = Publisher(
        ledger.db, ORIGIN, ledger.log, on_checkpoint=lambda s: seen.append(s.checkpoint.size)
    )
    assert publisher.latest is None
    first = publisher.publish_once()
    assert first is not None
    assert first.checkpoint.size == OPENING_ENTRIES
    assert publisher.publish_once() == first  # nothing new: the same checkpoint, no callback
    ledger.record_service(1)
    ledger.record_service(2)
    second = publisher.publish_once()
    assert second is not None
    assert second.checkpoint.size == OPENING_ENTRIES + 2
    assert seen == [OPENING_ENTRIES, OPENING_ENTRIES + 2]
    # a new publisher starts from the stored latest checkpoint
    assert Publisher(ledger.db, ORIGIN, ledger.log).latest == second

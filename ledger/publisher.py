"""Keeps every acknowledged entry covered by a signed checkpoint within a second.

A background thread integrates new entries into the Merkle tree, signs a
checkpoint whenever the tree grew, and asks the configured witnesses to cosign
it. Several processes may run one each: the tree tables' keys make concurrent
integration safe, and the loser simply tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ledger.core.crypto import Signer
from ledger.core.errors import LedgerError
from ledger.storage import Database
from ledger.tlog import SignedCheckpoint, TreeStore
from ledger.witnessing import Cosigners

log = logging.getLogger(__name__)
DEFAULT_INTERVAL = 0.2  # seconds between rounds: well inside the one-second promise


class Publisher:
    """Integrate and sign, every ``interval`` seconds, until stopped."""

    def __init__(
        self,
        db: Database,
        origin: str,
        log_signer: Signer,
        *,
        interval: float = DEFAULT_INTERVAL,
        on_checkpoint: Callable[[SignedCheckpoint], None] | None = None,
        cosigners: Cosigners | None = None,
    ) -> None:
        self.tree = TreeStore(db, origin)
        self.log_signer = log_signer
        self.interval = interval
        self.on_checkpoint = on_checkpoint
        self.cosigners = cosigners
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latest: SignedCheckpoint | None = self.tree.latest()
        self.errors = 0

    def publish_once(self) -> SignedCheckpoint | None:
        """One round: integrate what is stored, sign if the tree grew."""
        before = self.latest.checkpoint.size if self.latest else 0
        signed = self.tree.advance(self.log_signer)
        if signed is not None and signed.checkpoint.size > before:
            self.latest = signed
            if self.cosigners is not None:  # push to the supervising units' witnesses
                self.cosigners.publish(signed)
            if self.on_checkpoint is not None:
                self.on_checkpoint(signed)
        return self.latest

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.publish_once()
            except LedgerError as e:  # e.g. another process integrated the same leaves
                self.errors += 1
                log.warning("publishing checkpoint of %s: %s", self.tree.origin, e)
            self._stop.wait(self.interval)

    def start(self) -> Publisher:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"publisher {self.tree.origin}", daemon=True
            )
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the background thread is alive (it stops only when told to)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

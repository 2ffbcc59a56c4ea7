"""The log server's work (``ledger serve``): one Publisher per ledger served, so every
entry any writer appends is covered by a signed checkpoint within a second, and the
read-only answers auditors and supervising units ask for: the latest signed checkpoint
with its witnesses' cosignatures, inclusion and consistency proofs, the log's key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.core.errors import LedgerError
from ledger.core.trust import Opening
from ledger.export import ExportError, consistency_document, inclusion_document, log_opening
from ledger.keystore import Keystore
from ledger.publisher import DEFAULT_INTERVAL, Publisher
from ledger.storage import ConfigurationError, Database
from ledger.tlog import TreeStore
from ledger.witnessing import Cosigners, Transport, WitnessConfig, http_post


class UnknownLedgerError(LedgerError):
    """The ledger asked for is not one this server serves."""


class LedgerNotNamedError(LedgerError):
    """Several ledgers are served and the request named none of them."""

    def __init__(self, origins: Sequence[str]) -> None:
        self.origins = list(origins)
        super().__init__(
            "several ledgers are served; name one with ?ledger=ORIGIN:\n  "
            + "\n  ".join(self.origins)
        )


class NoCheckpointError(LedgerError):
    """The ledger has no signed checkpoint yet (its publisher has not signed one)."""


@dataclass(frozen=True)
class LedgerSummary:
    origin: str
    policy: str
    vkey: str
    size: int | None  # of the latest signed checkpoint; None before the first


@dataclass(frozen=True)
class PublisherHealth:
    origin: str
    running: bool
    size: int | None  # of the latest checkpoint this publisher knows
    errors: int
    witness_failures: dict[str, str] = field(default_factory=dict)


class ServedLedger:
    """One ledger a server keeps checkpointed and answers for."""

    def __init__(
        self, db: Database, opening: Opening, publisher: Publisher, cosigners: Cosigners | None
    ) -> None:
        self.db, self.opening = db, opening
        self.publisher, self.cosigners = publisher, cosigners

    @property
    def origin(self) -> str:
        return self.opening.origin

    @property
    def vkey(self) -> str:
        return self.opening.verifier_key

    @property
    def tree(self) -> TreeStore:
        return self.publisher.tree

    def summary(self) -> LedgerSummary:
        latest = self.tree.latest()
        size = None if latest is None else latest.checkpoint.size
        return LedgerSummary(self.origin, self.opening.policy, self.vkey, size)

    def checkpoint_note(self) -> str:
        """The latest signed checkpoint with the cosignature lines stored for it (by the
        configured witnesses when there are any, else every line kept, as in a bundle)."""
        latest = self.tree.latest()
        if latest is None:
            raise NoCheckpointError(f"ledger {self.origin} has no signed checkpoint yet")
        if self.cosigners is not None:
            return self.cosigners.cosigned_note(latest)
        return latest.note + "".join(self.tree.cosignature_lines(latest.checkpoint.size))

    def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        return inclusion_document(self.db, self.origin, index, size, tree=self.tree)

    def consistency(self, first: int, second: int | None) -> dict[str, Any]:
        return consistency_document(self.db, self.origin, first, second, tree=self.tree)

    def health(self) -> PublisherHealth:
        publisher = self.publisher
        latest = publisher.latest
        failures = dict(self.cosigners.failures) if self.cosigners is not None else {}
        return PublisherHealth(
            self.origin,
            publisher.running,
            None if latest is None else latest.checkpoint.size,
            publisher.errors,
            failures,
        )


class LogServer:
    """The ledgers served from one database; their publishers run between start and stop."""

    def __init__(self, db: Database, ledgers: Sequence[ServedLedger]) -> None:
        if not ledgers:
            raise ConfigurationError("a log server needs at least one ledger to serve")
        self.db = db
        self.ledgers = list(ledgers)
        self._by_origin = {served.origin: served for served in self.ledgers}

    @classmethod
    def open(
        cls,
        db: Database,
        keys: Keystore,
        *,
        origins: Sequence[str] = (),
        witnesses: Sequence[WitnessConfig] = (),
        quorum: int = 0,
        interval: float = DEFAULT_INTERVAL,
        transport: Transport = http_post,
    ) -> LogServer:
        """Serve ``origins`` (each must be here with its log key in ``keys``), or, when
        none are named, every ledger in ``db`` whose log key ``keys`` holds."""
        present = db.origins()
        if not present:
            raise ConfigurationError(f"{db.describe()} holds no ledger")
        for origin in origins:
            if origin not in present:
                raise ConfigurationError(
                    f"no ledger {origin!r} in {db.describe()}; it holds: {', '.join(present)}"
                )
        served, keyless = [], []
        for origin in dict.fromkeys(origins) or present:
            try:
                opening = log_opening(db, origin)
            except ExportError:
                if origins:
                    raise
                continue  # registered, not opened yet: it has no log key to sign with
            signer = keys.log_signer(origin, opening.verifier_key)
            if signer is None:
                keyless.append(origin)
                continue
            cosigners = None
            if witnesses or quorum:
                cosigners = Cosigners(db, origin, witnesses, quorum=quorum, transport=transport)
            publisher = Publisher(db, origin, signer, interval=interval, cosigners=cosigners)
            served.append(ServedLedger(db, opening, publisher, cosigners))
        if origins and keyless:
            raise ConfigurationError(f"the keystore holds no log key of {', '.join(keyless)}")
        if not served:
            raise ConfigurationError(
                f"the keystore holds the log key of no ledger in {db.describe()} "
                f"(it holds: {', '.join(present)})"
            )
        return cls(db, served)

    @property
    def origins(self) -> list[str]:
        return [served.origin for served in self.ledgers]

    def ledger(self, origin: str | None) -> ServedLedger:
        """The ledger named, or the only one served when none is named."""
        if origin is None:
            if len(self.ledgers) == 1:
                return self.ledgers[0]
            raise LedgerNotNamedError(self.origins)
        served = self._by_origin.get(origin)
        if served is None:
            raise UnknownLedgerError(
                f"no ledger {origin!r} is served here; served: {', '.join(self.origins)}"
            )
        return served

    def start(self) -> None:
        for served in self.ledgers:
            served.publisher.start()

    def stop(self) -> None:
        for served in self.ledgers:
            served.publisher.stop()

    def health(self) -> list[PublisherHealth]:
        return [served.health() for served in self.ledgers]

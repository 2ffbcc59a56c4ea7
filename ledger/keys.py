"""The ledger's own aggregates: the ledger itself and its keys (FORMAT.md §4)."""

from __future__ import annotations

from typing import Any

from ledger.core.crypto import ALGORITHM
from ledger.core.trust import LEDGER_STREAM, key_stream
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent


class Ledger(LedgerAggregate):
    """Stream ``ledger``: opened once, at log index 0."""

    class LedgerOpened(LedgerCreated):
        origin: str
        policy: str
        verifier_key: str
        root_keys: list[dict[str, str]]

        def apply(self, aggregate: Any) -> None:
            aggregate.origin = self.origin
            aggregate.policy = self.policy
            aggregate.verifier_key = self.verifier_key

    @classmethod
    def open(
        cls,
        *,
        actor: str,
        origin: str,
        policy: str,
        verifier_key: str,
        root_keys: list[dict[str, str]],
    ) -> Ledger:
        return cls._create(
            cls.LedgerOpened,
            id=LEDGER_STREAM,
            actor=actor,
            origin=origin,
            policy=policy,
            verifier_key=verifier_key,
            root_keys=root_keys,
        )


class Key(LedgerAggregate):
    """Stream ``key/<key id>``: a key's registration, then perhaps its revocation."""

    class KeyRegistered(LedgerCreated):
        subject: str
        key: str
        public_key: str
        algorithm: str

        def apply(self, aggregate: Any) -> None:
            aggregate.subject = self.subject
            aggregate.revoked_at = None

    class KeyRevoked(LedgerEvent):
        key: str
        revoked_at: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.revoked_at = self.revoked_at

    @classmethod
    def register(cls, *, actor: str, subject: str, key: str, public_key: str) -> Key:
        return cls._create(
            cls.KeyRegistered,
            id=key_stream(key),
            actor=actor,
            subject=subject,
            key=key,
            public_key=public_key,
            algorithm=ALGORITHM,
        )

    def revoke(self, *, actor: str, revoked_at: str, reason: str) -> None:
        self.trigger_event(
            self.KeyRevoked,
            actor=actor,
            key=self.id.removeprefix("key/"),
            revoked_at=revoked_at,
            reason=reason,
        )

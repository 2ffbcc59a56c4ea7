"""One error root for the ledger, and the verification family beneath it."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose."""


class EntryRejectedError(LedgerError):
    """An entry or command was refused; nothing was written."""


class FormatError(LedgerError):
    """Bytes or values that do not follow the ledger format (FORMAT.md)."""


class VerificationError(LedgerError):
    """An integrity check failed: the message says what was expected and what was found."""

    def __init__(self, problem: str, *, index: int | None = None, stream: str | None = None):
        self.problem = problem
        self.index = index
        self.stream = stream
        where = []
        if index is not None:
            where.append(f"log index {index}")
        if stream is not None:
            where.append(f"stream {stream!r}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(f"{prefix}{problem}")


class SignatureError(VerificationError):
    """A signature does not verify against the key it names."""


class TrustError(VerificationError):
    """A key is unknown, revoked, or bound to another actor."""


class ChainError(VerificationError):
    """A stream has a gap, a fork or a broken hash chain."""

"""Auditing a log in order: entries, Merkle root, and the signed checkpoints it must match.

Used alike on a database (``ledger verify``) and on an export bundle
(``ledger verify-bundle``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.core.checkpoint import open_checkpoint
from ledger.core.errors import FormatError, VerificationError
from ledger.core.merkle import CompactRange
from ledger.core.note import NoteVerifier
from ledger.core.verify import Checked, LogVerifier, Position


class CheckpointSet:
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


def log_vkey(verifier: LogVerifier, published: str | None) -> str:
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


class Audit:
    """Feeds checked entries in log order through every ordered check."""

    def __init__(
        self,
        origin: str | None = None,
        checkpoints: Iterable[tuple[str, str]] = (),
        vkey: str | None = None,
    ) -> None:
        self.verifier = LogVerifier(origin=origin)
        self.compact = CompactRange()
        self.checkpoints = CheckpointSet(checkpoints)
        self.vkey = vkey

    @property
    def size(self) -> int:
        return self.verifier.size

    def add(self, checked: Checked, position: Position | None = None) -> None:
        self.verifier.add(checked, position)
        self.compact.push(checked.leaf_hash)
        if self.verifier.size == 1:
            self.vkey = log_vkey(self.verifier, self.vkey)
            self.checkpoints.open(self.vkey)
        if self.checkpoints.wants(self.compact.size):
            self.checkpoints.check(self.compact.size, self.compact.root())

    def finish(self) -> None:
        if self.verifier.size == 0:
            raise VerificationError("the log has no entries (LedgerOpened is missing)", index=0)
        self.checkpoints.finish(self.verifier.size)

    def close(self) -> None:
        self.verifier.close()

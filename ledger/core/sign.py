"""Sealing an envelope: canonical bytes, signature, entry bytes (FORMAT.md §2)."""

from __future__ import annotations

from ledger.core.crypto import Signer
from ledger.core.envelope import Entry, Envelope, assemble_entry
from ledger.core.errors import FormatError


def seal(envelope: Envelope, signer: Signer) -> Entry:
    """Sign JCS(envelope) with ``signer`` and return the entry with its exact bytes."""
    if envelope.key != signer.key_id:
        raise FormatError(f"envelope names key {envelope.key}, signer holds {signer.key_id}")
    envelope_bytes = envelope.canonical_bytes()
    sig = signer.sign(envelope_bytes)
    raw = assemble_entry(envelope_bytes, sig)
    return Entry(envelope=envelope, sig=sig, raw=raw, envelope_bytes=envelope_bytes)

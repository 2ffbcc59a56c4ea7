"""Checking proof documents offline, against the log's verifier key only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.envelope import b64decode
from ledger.core.errors import FormatError, VerificationError
from ledger.core.merkle import HASH_SIZE, hash_leaf, verify_consistency, verify_inclusion
from ledger.core.note import NoteVerifier


def _int(doc: Mapping[str, Any], name: str) -> int:
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FormatError(f"proof member {name!r} must be a non-negative integer")
    return value


def _path(doc: Mapping[str, Any]) -> list[bytes]:
    path = doc.get("path")
    if not isinstance(path, list):
        raise FormatError("proof member 'path' must be a list of base64 hashes")
    return [b64decode(h, size=HASH_SIZE, what="proof hash") for h in path]


def _checkpoint(doc: Mapping[str, Any], name: str, verifier: NoteVerifier) -> Checkpoint:
    note = doc.get(name)
    if not isinstance(note, str):
        raise FormatError(f"proof member {name!r} must be a signed checkpoint note")
    return open_checkpoint(note, verifier)


def check_proof(doc: Mapping[str, Any], vkey: str) -> str:
    """Verify an inclusion or consistency proof document; return a one-line summary."""
    verifier = NoteVerifier.parse(vkey)
    kind = doc.get("proof")
    if kind == "inclusion":
        checkpoint = _checkpoint(doc, "checkpoint", verifier)
        index, size = _int(doc, "index"), _int(doc, "size")
        if size != checkpoint.size:
            raise VerificationError(f"proof is for size {size}, checkpoint is {checkpoint.size}")
        entry = doc.get("entry")
        if not isinstance(entry, str):
            raise FormatError("proof member 'entry' must be the entry's JSON text")
        leaf = hash_leaf(entry.encode("utf-8"))
        verify_inclusion(index, size, leaf, _path(doc), checkpoint.root)
        return f"entry {index} is in {checkpoint.origin} at size {size}"
    if kind == "consistency":
        old = _checkpoint(doc, "checkpoint_from", verifier)
        new = _checkpoint(doc, "checkpoint_to", verifier)
        if (old.size, new.size) != (_int(doc, "from"), _int(doc, "to")):
            raise VerificationError("proof sizes differ from its checkpoints' sizes")
        verify_consistency(old.size, new.size, old.root, new.root, _path(doc))
        return f"{checkpoint_name(old)} is a prefix of {checkpoint_name(new)}"
    raise FormatError("proof member 'proof' must be 'inclusion' or 'consistency'")


def checkpoint_name(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.origin}@{checkpoint.size}"

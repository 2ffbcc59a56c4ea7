"""Proof that a log misbehaved: two signed checkpoints that cannot both be true.

A report holds both signed notes (and, for different sizes, the consistency proof
the log offered, if any). Anyone with the log's verifier key can check it: both
signatures verify, and either the sizes are equal with different roots, or the
offered proof fails to connect them. A log that cannot produce a valid proof
between two of its own checkpoints has forked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.envelope import b64decode, b64encode
from ledger.core.errors import FormatError, VerificationError
from ledger.core.merkle import HASH_SIZE, ProofError, verify_consistency
from ledger.core.note import NoteVerifier

REPORT_KIND = "ledger-misbehaviour/v1"


def fork_report(
    first: str, second: str, vkey: str, proof: Sequence[bytes] | None = None
) -> dict[str, Any]:
    """A portable report if the two notes prove misbehaviour; VerificationError if they do not."""
    verifier = NoteVerifier.parse(vkey)
    a, b = open_checkpoint(first, verifier), open_checkpoint(second, verifier)
    if a.size > b.size:
        a, b, first, second = b, a, second, first
    reason = _contradiction(a, b, proof)
    report: dict[str, Any] = {
        "kind": REPORT_KIND,
        "origin": a.origin,
        "vkey": str(verifier),
        "reason": reason,
        "checkpoints": [first, second],
    }
    if proof is not None:
        report["proof"] = [b64encode(h) for h in proof]
    return report


def _contradiction(a: Checkpoint, b: Checkpoint, proof: Sequence[bytes] | None) -> str:
    if a.size == b.size:
        if a.root == b.root:
            raise VerificationError(f"both checkpoints agree at size {a.size}: no misbehaviour")
        return f"two different roots signed for tree size {a.size}"
    if proof is None:
        raise VerificationError(
            "different sizes: a consistency proof is needed to show they cannot both be true"
        )
    try:
        verify_consistency(a.size, b.size, a.root, b.root, proof)
    except ProofError as e:
        return f"the log's consistency proof from {a.size} to {b.size} fails: {e.problem}"
    raise VerificationError(f"size {a.size} is consistent with size {b.size}: no misbehaviour")


def check_report(report: Mapping[str, Any], vkey: str | None = None) -> str:
    """Re-check a report from its contents alone; return the contradiction it proves."""
    if not isinstance(report, Mapping) or report.get("kind") != REPORT_KIND:
        raise FormatError(f"not a {REPORT_KIND} report")
    notes = report.get("checkpoints")
    if not (isinstance(notes, list) and len(notes) == 2 and all(isinstance(n, str) for n in notes)):
        raise FormatError("a report holds exactly two signed checkpoint notes")
    key = vkey or report.get("vkey")
    if not isinstance(key, str):
        raise FormatError("a report names the log's verifier key")
    raw_proof = report.get("proof")
    proof = None
    if raw_proof is not None:
        if not isinstance(raw_proof, list):
            raise FormatError("proof must be a list of base64 hashes")
        proof = [b64decode(h, size=HASH_SIZE, what="proof hash") for h in raw_proof]
    checked = fork_report(notes[0], notes[1], key, proof)
    return str(checked["reason"])

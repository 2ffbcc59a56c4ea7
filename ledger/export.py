"""Writing export bundles (FORMAT.md §6) and proofs from a stored ledger."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.core.bundle import CHECKPOINT, CHECKPOINTS, ENTRIES, VKEY
from ledger.core.envelope import b64encode, decode_entry
from ledger.core.errors import LedgerError, VerificationError
from ledger.core.merkle import hash_leaf
from ledger.core.trust import Opening, parse_opening
from ledger.storage import Database
from ledger.tlog import SignedCheckpoint, TreeStore


class ExportError(LedgerError):
    """The ledger cannot be exported or proved as asked (a usage error)."""


@dataclass(frozen=True)
class ExportResult:
    origin: str
    entries: int
    checkpoints: int
    vkey: str


def log_opening(db: Database, origin: str) -> Opening:
    """The ledger's ``LedgerOpened`` (log index 0): its policy, root keys and log key."""
    for row in db.iter_log(origin, page=1):
        return parse_opening(decode_entry(row.state).envelope.body)
    raise ExportError(f"ledger {origin!r} has no entries")


def log_vkey(db: Database, origin: str) -> str:
    """The verifier key named by the ledger's ``LedgerOpened``."""
    return log_opening(db, origin).verifier_key


def _latest(tree: TreeStore) -> SignedCheckpoint:
    latest = tree.latest()
    if latest is None:
        raise ExportError(f"ledger {tree.origin!r} has no signed checkpoint yet")
    return latest


def export_bundle(db: Database, origin: str, out: Path) -> ExportResult:
    """Write the entries covered by the latest checkpoint, the checkpoints and the key.

    The bundle is written beside ``out`` and moved into place only when complete.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty directory")
    tree = TreeStore(db, origin)
    latest = _latest(tree)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        written = _write_bundle(db, tree, latest, work)
        if out.exists():
            out.rmdir()
        work.rename(out)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return written


def _write_bundle(
    db: Database, tree: TreeStore, latest: SignedCheckpoint, work: Path
) -> ExportResult:
    origin, size = tree.origin, latest.checkpoint.size
    written = 0
    with (work / ENTRIES).open("wb") as f:
        for row in db.iter_log(origin):
            if written == size:
                break
            f.write(row.state + b"\n")
            written += 1
    if written != size:
        raise VerificationError(
            f"the latest checkpoint covers {size} entries but only {written} are stored: "
            "the log was truncated",
            index=written,
        )
    (work / CHECKPOINT).write_text(
        latest.note + "".join(tree.cosignature_lines(size)), encoding="utf-8"
    )
    earlier = [c for c in tree.history() if c.checkpoint.size < size]
    if earlier:
        (work / CHECKPOINTS).mkdir()
        for c in earlier:
            (work / CHECKPOINTS / str(c.checkpoint.size)).write_text(c.note, encoding="utf-8")
    vkey = log_vkey(db, origin)
    (work / VKEY).write_text(vkey + "\n", encoding="utf-8")
    return ExportResult(origin, written, len(earlier) + 1, vkey)


def _checkpoint_at(tree: TreeStore, size: int | None) -> SignedCheckpoint:
    if size is None:
        return _latest(tree)
    signed = tree.at_size(size)
    if signed is None:
        sizes = [c.checkpoint.size for c in tree.history()][-5:]
        raise ExportError(f"no signed checkpoint at size {size}; latest sizes: {sizes}")
    return signed


def inclusion_document(
    db: Database, origin: str, index: int, size: int | None, *, tree: TreeStore | None = None
) -> dict[str, Any]:
    """An inclusion proof of entry ``index`` against a signed checkpoint, self-contained.

    ``tree``: the origin's TreeStore when the caller keeps one (a server answering many).
    """
    tree = tree or TreeStore(db, origin)
    signed = _checkpoint_at(tree, size)
    n = signed.checkpoint.size
    if not 0 <= index < n:
        raise ExportError(f"index {index} is outside the checkpoint's tree of size {n}")
    notification = tree.notification_id(index)
    rows = db.recorder(origin).select_notifications(notification, 1) if notification else []
    if not rows:
        raise ExportError(f"entry {index} is not in the tree")
    raw = rows[0].state
    return {
        "proof": "inclusion",
        "origin": origin,
        "index": index,
        "size": n,
        "entry": raw.decode("utf-8"),
        "leaf_hash": b64encode(hash_leaf(raw)),
        "path": [b64encode(h) for h in tree.inclusion(index, n)],
        "checkpoint": signed.note,
    }


def consistency_document(
    db: Database, origin: str, first: int, second: int | None, *, tree: TreeStore | None = None
) -> dict[str, Any]:
    """A consistency proof between two signed checkpoints."""
    tree = tree or TreeStore(db, origin)
    old = _checkpoint_at(tree, first)
    new = _checkpoint_at(tree, second)
    m, n = old.checkpoint.size, new.checkpoint.size
    if m > n:
        raise ExportError(f"from size {m} is larger than to size {n}")
    return {
        "proof": "consistency",
        "origin": origin,
        "from": m,
        "to": n,
        "path": [b64encode(h) for h in (tree.consistency(m, n) if m else [])],
        "checkpoint_from": old.note,
        "checkpoint_to": new.note,
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

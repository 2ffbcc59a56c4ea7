"""Checking entries on every core: chunks go to worker processes, results come back in order.

Workers need each entry's public key. Key ids are SHA-256 of the public key, so
keys can be gathered ahead of the ordered checks from any key event; whether a
key was valid for that actor at that time is decided later, in log order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from ledger.core.crypto import key_id
from ledger.core.envelope import Envelope, b64decode, decode_entry
from ledger.core.errors import FormatError
from ledger.core.verify import Checked, check_entries

CHUNK = 2000
_KEY_MARKERS = (b'"type":"KeyRegistered"', b'"type":"LedgerOpened"')
T = TypeVar("T")


def gather_public_keys(raws: Iterable[bytes], into: dict[str, bytes]) -> None:
    """Add the public keys named by key events among ``raws`` (self-certifying ids)."""
    for raw in raws:
        if not any(marker in raw for marker in _KEY_MARKERS):
            continue
        try:
            body = decode_entry(raw).envelope.body
        except FormatError:
            continue  # the ordered checks report it at its index
        roots = body.get("root_keys")
        items: list[Any] = roots if isinstance(roots, list) else [body]
        for item in items:
            try:
                public_key = b64decode(item.get("public_key"), size=32)
            except (FormatError, AttributeError):
                continue
            into[key_id(public_key)] = public_key


Wire = tuple[Any, ...]


def _to_wire(checked: Checked) -> Wire:
    """Plain tuples cross process boundaries several times faster than dataclasses."""
    fields = None if checked.envelope is None else checked.envelope.as_tuple()
    return (
        checked.entry_hash,
        checked.leaf_hash,
        fields,
        checked.envelope_bytes,
        checked.sig,
        checked.problem,
        checked.sig_ok,
    )


def _from_wire(wire: Wire) -> Checked:
    entry_hash, leaf, fields, envelope_bytes, sig, problem, sig_ok = wire
    env = None if fields is None else Envelope(*fields)
    return Checked(entry_hash, leaf, env, envelope_bytes, sig, problem, sig_ok)


def check_chunk_wire(raws: list[bytes], public_keys: dict[str, bytes]) -> list[Wire]:
    """A worker's job: check one chunk, answer in wire tuples."""
    return [_to_wire(c) for c in check_entries(raws, public_keys)]


def chunked(items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    size = size or CHUNK
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check_chunks(
    chunks: Iterable[tuple[T, Sequence[bytes]]], workers: int
) -> Iterator[tuple[T, list[Checked]]]:
    """Stateless checks of each chunk of raw entries, in order, on ``workers`` processes.

    Each chunk comes with a tag (e.g. the stored rows) that is handed back with its
    results. At most ``2 * workers`` chunks are in flight, so memory stays bounded.
    """
    public_keys: dict[str, bytes] = {}
    if workers <= 1:
        for tag, raws in chunks:
            gather_public_keys(raws, public_keys)
            yield tag, check_entries(list(raws), public_keys)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[T, Future[list[Wire]]]] = deque()
        for tag, raws in chunks:
            gather_public_keys(raws, public_keys)
            pending.append((tag, pool.submit(check_chunk_wire, list(raws), dict(public_keys))))
            if len(pending) > 2 * workers:
                done, future = pending.popleft()
                yield done, [_from_wire(w) for w in future.result()]
        while pending:
            done, future = pending.popleft()
            yield done, [_from_wire(w) for w in future.result()]

"""Checking entries on every core: chunks go to worker processes, results come back in order.

Workers need each entry's public key. Key ids are SHA-256 of the public key, so
keys can be gathered ahead of the ordered checks from any key event; whether a
key was valid for that actor at that time is decided later, in log order.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from ledger.core.crypto import Verifiers, key_id
from ledger.core.envelope import b64decode, decode_entry
from ledger.core.errors import FormatError
from ledger.core.verify import Checked, Row, check_entries, check_rows, checked_rows

CHUNK = 2000
_KEY_MARKERS = (b'"type":"KeyRegistered"', b'"type":"LedgerOpened"')
LINE_BYTES = 512  # scan_lines cuts chunks of about CHUNK lines by reading CHUNK * LINE_BYTES
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


Wire = tuple[bytes, list[Row]]


def check_chunk_wire(raws: list[bytes], public_keys: dict[str, bytes]) -> Wire:
    """A worker's job: check one chunk, answer in check_rows' compact form."""
    return check_rows(raws, public_keys, Verifiers())


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
        pending: deque[tuple[T, Future[Wire]]] = deque()
        try:
            for tag, raws in chunks:
                gather_public_keys(raws, public_keys)
                pending.append((tag, pool.submit(check_chunk_wire, list(raws), dict(public_keys))))
                if len(pending) > 2 * workers:
                    done, future = pending.popleft()
                    yield done, checked_rows(*future.result())
            while pending:
                done, future = pending.popleft()
                yield done, checked_rows(*future.result())
        finally:
            for _, future in pending:
                future.cancel()


# -- a file of entries, one a line ----------------------------------------------------------------


@dataclass
class Layout:
    """A file of lines cut into chunks of whole lines, and the keys its key events name."""

    lines: int = 0
    bounds: list[int] = field(default_factory=lambda: [0])  # chunk i: bytes [b[i], b[i + 1])
    public_keys: dict[str, bytes] = field(default_factory=dict)

    def sizes(self) -> Iterator[tuple[int, int]]:
        """(offset, length) of each chunk."""
        for start, end in zip(self.bounds, self.bounds[1:], strict=False):
            yield start, end - start


def scan_lines(f: IO[bytes], size: int | None = None) -> Layout:
    """One pass over ``f``: count its lines as iterating over it does (a final newline is
    optional), cut it into chunks of about ``size`` lines, and gather the public keys.

    A chunk is the whole lines of one read of ``size * LINE_BYTES`` bytes (with the rest
    of a line the previous read cut), so no line needs looking at on its own.
    """
    read = (size or CHUNK) * LINE_BYTES
    layout = Layout()
    key_lines: dict[bytes, None] = {}
    offset = 0  # of the first byte not yet in a chunk
    carry: list[bytes] = []  # the start of a line that earlier reads cut
    while block := f.read(read):
        if b"\n" not in block:
            carry.append(block)
            continue
        data = b"".join((*carry, block)) if carry else block
        cut = data.rfind(b"\n") + 1
        layout.lines += data.count(b"\n", 0, cut)
        for marker in _KEY_MARKERS:
            found = data.find(marker, 0, cut)
            while found >= 0:
                end = data.index(b"\n", found, cut)
                key_lines[data[data.rfind(b"\n", 0, found) + 1 : end]] = None
                found = data.find(marker, end, cut)
        offset += cut
        layout.bounds.append(offset)
        carry = [data[cut:]] if cut < len(data) else []
    if carry:
        layout.lines += 1
        layout.bounds.append(offset + sum(map(len, carry)))
    gather_public_keys(key_lines, layout.public_keys)
    return layout


Block = bytes | tuple[str, int, int]  # whole lines, or (path, offset, length) to read them from


def read_exactly(f: IO[bytes], length: int) -> bytes:
    """The next ``length`` bytes of a file that scan_lines measured."""
    data = f.read(length)
    if len(data) != length:
        raise OSError(errno.EIO, "it changed while it was read")
    return data


def _lines(block: Block) -> list[bytes]:
    if isinstance(block, bytes):
        data = block
    else:
        path, offset, length = block
        with open(path, "rb") as f:
            f.seek(offset)
            data = read_exactly(f, length)
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()
    return lines


class _Checker:
    def __init__(self, public_keys: dict[str, bytes]) -> None:
        self.public_keys = public_keys
        self.verifiers = Verifiers()

    def __call__(self, block: Block) -> Wire:
        return check_rows(_lines(block), self.public_keys, self.verifiers)


_worker: _Checker | None = None


def _start_worker(public_keys: dict[str, bytes]) -> None:
    global _worker
    _worker = _Checker(public_keys)


def _check_in_worker(block: Block) -> Wire:
    if _worker is None:  # pragma: no cover - the pool's initializer sets it
        raise RuntimeError("worker not started")
    return _worker(block)


def check_blocks(
    blocks: Iterable[Block], public_keys: dict[str, bytes], workers: int
) -> Iterator[list[Checked]]:
    """Stateless checks of blocks of lines, in order, on ``workers`` processes.

    ``public_keys`` (e.g. from :func:`scan_lines`) goes to each worker once; a block
    given as a file range is read by the worker itself. At most ``2 * workers + 1``
    blocks are in flight.
    """
    if workers <= 1:
        check = _Checker(public_keys)
        for block in blocks:
            yield checked_rows(*check(block))
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(public_keys,)
    ) as pool:
        pending: deque[Future[Wire]] = deque()
        try:
            for block in blocks:
                pending.append(pool.submit(_check_in_worker, block))
                if len(pending) > 2 * workers:
                    yield checked_rows(*pending.popleft().result())
            while pending:
                yield checked_rows(*pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()

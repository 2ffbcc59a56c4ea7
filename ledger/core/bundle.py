"""Export bundles (FORMAT.md §6), read and verified offline with no database.

A bundle is a directory (or a ``.tar`` of one) holding ``entries.jsonl`` (line *i*
is the entry bytes of log index *i*), ``checkpoint`` (a signed note whose size is
the number of lines), optional earlier ``checkpoints/<size>``, and ``log.vkey``.
"""

from __future__ import annotations

import os
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ledger.core.audit import Audit
from ledger.core.checkpoint import Checkpoint
from ledger.core.errors import FormatError, LedgerError, VerificationError
from ledger.core.note import NoteVerifier, split_note
from ledger.core.parallel import Block, Layout, check_blocks, read_exactly, scan_lines

ENTRIES, CHECKPOINT, CHECKPOINTS, VKEY = "entries.jsonl", "checkpoint", "checkpoints", "log.vkey"
INLINE_BELOW = 20_000


class BundleError(LedgerError):
    """A bundle is missing a file or cannot be read (a usage error, not an integrity one)."""


@dataclass
class BundleReport:
    origin: str = ""
    entries: int = 0
    seconds: float = 0.0
    root: str = ""
    checkpoints_checked: int = 0
    failure: VerificationError | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


class Bundle:
    """The files of a bundle, from a directory or a tar archive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None
        self._prefix = ""
        if path.is_file():
            try:
                self._tar = tarfile.open(path)  # noqa: SIM115 - closed by close()
            except (tarfile.TarError, OSError) as e:
                raise BundleError(f"{path}: not a readable tar archive: {e}") from e
            names = self._tar.getnames()
            tops = {n.split("/", 1)[0] for n in names if "/" in n}
            if ENTRIES not in names and len(tops) == 1:
                self._prefix = tops.pop() + "/"
        elif not path.is_dir():
            raise BundleError(f"{path}: no such bundle (a directory or a .tar)")

    def _names(self, folder: str) -> list[str]:
        if self._tar is None:
            directory = self.path / folder
            if not directory.is_dir():
                return []
            return sorted(p.name for p in directory.iterdir() if p.is_file())
        prefix = f"{self._prefix}{folder}/"
        return sorted(
            n[len(prefix) :]
            for n in self._tar.getnames()
            if n.startswith(prefix) and "/" not in n[len(prefix) :] and n != prefix
        )

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self._tar is None:
            try:
                with (self.path / name).open("rb") as f:
                    yield f
            except FileNotFoundError:
                raise BundleError(f"{self.path}: {name} is missing") from None
            except OSError as e:
                raise BundleError(f"{self.path}: cannot read {name}: {e.strerror}") from None
            return
        try:
            member = self._tar.extractfile(self._prefix + name)
        except KeyError:
            member = None
        if member is None:
            raise BundleError(f"{self.path}: {name} is missing")
        with member:
            yield member

    def text(self, name: str) -> str:
        with self.open(name) as f:
            try:
                return f.read().decode("utf-8")
            except UnicodeDecodeError as e:
                raise BundleError(f"{name} is not UTF-8") from e

    def earlier_checkpoints(self) -> list[tuple[str, str]]:
        return [
            (f"{CHECKPOINTS}/{n}", self.text(f"{CHECKPOINTS}/{n}"))
            for n in self._names(CHECKPOINTS)
        ]

    def entries(self) -> Iterator[bytes]:
        """Entry bytes line by line (a final newline is optional)."""
        with self.open(ENTRIES) as f:
            for line in f:
                yield line[:-1] if line.endswith(b"\n") else line

    def entries_path(self) -> Path | None:
        """The entries file, when other processes can read it themselves (not in a tar)."""
        return self.path / ENTRIES if self._tar is None else None

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()


def _scan(bundle: Bundle) -> Layout:
    with bundle.open(ENTRIES) as f:
        return scan_lines(f)


def _blocks(bundle: Bundle, layout: Layout, f: IO[bytes]) -> Iterator[Block]:
    """The chunks of entries.jsonl: file ranges for workers to read, or the bytes from ``f``."""
    path = bundle.entries_path()
    for offset, length in layout.sizes():
        yield (str(path), offset, length) if path is not None else read_exactly(f, length)


def verify_bundle(
    path: Path,
    *,
    vkey: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BundleReport:
    """Verify every entry, the Merkle root and every checkpoint of a bundle.

    ``vkey`` is the verifier key published out of band; the bundle's ``log.vkey``
    and the ledger's ``LedgerOpened`` must both be that key. BundleError means the
    bundle could not be read (usage); the report's failure means it is not intact.
    """
    started = time.monotonic()
    bundle = Bundle(path)
    report = BundleReport()
    try:
        own_vkey = bundle.text(VKEY).strip()
        note = bundle.text(CHECKPOINT)
        try:
            verifier = NoteVerifier.parse(vkey or own_vkey)
            if vkey is not None and vkey.strip() != own_vkey:
                raise VerificationError(f"log.vkey is {own_vkey}, expected the published {vkey}")
            head = Checkpoint.parse(split_note(note)[0])
        except (FormatError, VerificationError) as e:
            report.failure = e if isinstance(e, VerificationError) else VerificationError(str(e))
            return report
        report.origin = verifier.name
        layout = _scan(bundle)
        total = layout.lines
        if head.size != total:
            report.failure = VerificationError(
                f"checkpoint covers {head.size} entries, entries.jsonl has {total} lines",
                index=min(head.size, total),
            )
            return report
        if workers is None:
            workers = (os.cpu_count() or 1) if total >= INLINE_BELOW else 1
        checkpoints = [(CHECKPOINT, note), *bundle.earlier_checkpoints()]
        audit = Audit(verifier.name, checkpoints, str(verifier))
        try:
            with bundle.open(ENTRIES) as f:
                for checked in check_blocks(
                    _blocks(bundle, layout, f), layout.public_keys, workers
                ):
                    for item in checked:
                        audit.add(item)
                    if progress is not None:
                        progress(audit.size, total)
            audit.finish()
        except VerificationError as e:
            report.failure = e
        finally:
            audit.close()
        report.entries = audit.size
        report.root = audit.compact.root().hex()
        report.checkpoints_checked = audit.checkpoints.checked
    finally:
        bundle.close()
        report.seconds = time.monotonic() - started
    return report

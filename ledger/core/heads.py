"""Stream heads for streaming verification, in bounded memory.

The most recently used heads stay in a dict; past ``capacity`` the older half
spills into a temporary SQLite file, so a ledger of any size verifies in flat memory.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path


class StreamHeads:
    """``stream -> (version, entry hash)`` with an on-disk overflow."""

    def __init__(self, capacity: int = 250_000) -> None:
        self.capacity = max(capacity, 2)
        self._hot: dict[str, tuple[int, bytes]] = {}
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None

    def get(self, stream: str) -> tuple[int, bytes] | None:
        head = self._hot.get(stream)
        if head is not None or self._db is None:
            return head
        row = self._db.execute(
            "SELECT version, hash FROM heads WHERE stream=?", (stream,)
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def put(self, stream: str, version: int, entry_hash: bytes) -> None:
        self._hot.pop(stream, None)
        self._hot[stream] = (version, entry_hash)
        if len(self._hot) > self.capacity:
            self._spill()

    def _spill(self) -> None:
        if self._db is None:
            self._dir = tempfile.TemporaryDirectory(prefix="ledger-heads-")
            self._db = sqlite3.connect(Path(self._dir.name) / "heads.sqlite3")
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE heads (stream TEXT PRIMARY KEY, version INT, hash BLOB)")
        count = len(self._hot) // 2
        oldest = [(s, *self._hot[s]) for s in list(self._hot)[:count]]
        self._db.executemany("INSERT OR REPLACE INTO heads VALUES (?,?,?)", oldest)
        for stream, _, _ in oldest:
            del self._hot[stream]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

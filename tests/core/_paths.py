"""Where the shared, project-independent material (FORMAT.md, test vectors) lives."""

from __future__ import annotations

from pathlib import Path


def shared_dir() -> Path:
    """The ``shared`` directory that sits beside the repository root."""
    return Path(__file__).resolve().parents[2] / ".." / "shared"

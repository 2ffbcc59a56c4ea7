"""Run the project from a fresh clone with nothing but Python 3.11+.

    python3 scripts/bootstrap.py demo [ARGS...]   # the main job: `ledger demo` on SQLite
    python3 scripts/bootstrap.py test [PYTEST ARGS...]   # lint, types, layers, whole test suite
    python3 scripts/bootstrap.py ledger ARGS...   # any `ledger` command

On first use (and whenever pyproject.toml changes) it creates `.venv` and installs
the project with its development extras into it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def _run(*cmd: str | Path) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def ensure_environment() -> None:
    """Create the virtual environment and install the project, once per pyproject.toml."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any install
        raise SystemExit("Python 3.11 or newer is needed")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its tools into .venv ...", file=sys.stderr)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]")
    STAMP.write_text(wanted + "\n")


def run_tests(args: list[str]) -> int:
    checks: list[list[str]] = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["lint-imports"],
    ]
    for tool, *tool_args in checks:
        print("$", tool, *tool_args, flush=True)
        if subprocess.run([str(BIN / tool), *tool_args], cwd=ROOT, check=False).returncode != 0:
            return 1
    pytest = [str(BIN / "pytest"), "-n", "2", *args]
    return subprocess.run(pytest, cwd=ROOT, check=False).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "ledger"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return run_tests(rest)
    ledger_args = ["demo", *rest] if command == "demo" else rest
    return subprocess.run([str(BIN / "ledger"), *ledger_args], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The pure core imports only the standard library, cryptography, rfc8785 and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "ledger" / "core"
ALLOWED = {"cryptography", "rfc8785"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_are_allowed(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        allowed = top in sys.stdlib_module_names or top in ALLOWED or name.startswith("ledger.core")
        assert allowed, f"{path.name} imports {name}"

"""`shared/` is the library every service builds on: it imports no service (and nothing from the
launcher or the tests), at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
FORBIDDEN = ("services", "deploy", "tests")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_shared_imports_no_service() -> None:
    files = sorted(SHARED.rglob("*.py"))
    assert len(files) > 10  # the scan really looked at shared/
    wrong = [
        f"{path.relative_to(SHARED.parent)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert wrong == []

"""Which app may import which: the dependency between orders and vendors goes one way.

Rule: ``vendors`` never imports ``orders`` (nor ``returns``), at module level or inside a
function; ``orders`` may import ``vendors`` (an order is split into vendor sub-orders). vendors
reaches the order side through ``vendors.hooks``, which ``OrdersConfig.ready`` installs.
``core`` imports no domain app at all (every app may import core). Imports are read from the
source with ``ast``, so a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "vendors": {"orders", "returns", "subscriptions"},
    "core": {"orders", "vendors", "returns", "subscriptions"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in ``path``, relative ones resolved to absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def violations(app: str, forbidden: set[str]) -> list[str]:
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".")[0] in forbidden:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_app_does_not_import_the_apps_that_depend_on_it(app):
    assert violations(app, FORBIDDEN[app]) == []


def test_the_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    package = tmp_path / "vendors"
    package.mkdir()
    (package / "sneaky.py").write_text(
        "def later():\n    from orders.models import Order\n    from ..orders import x\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("vendors", {"orders"}) == [
        "vendors/sneaky.py:2 imports orders.models",
        "vendors/sneaky.py:3 imports orders",
    ]

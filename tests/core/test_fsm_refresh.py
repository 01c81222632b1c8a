"""No application code calls ``refresh_from_db``.

django-fsm's ``refresh_from_db`` on a model with a protected state field switches the protection
off and on again on the field object, which every thread shares: a concurrent refresh in another
thread then fails with "Direct status modification is not allowed". Application code re-reads a
row with a fresh query (``Model.objects.get(pk=...)``) instead; tests may refresh.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "core", "orders", "processes", "returns", "subscriptions", "vendors")


def refresh_calls(source: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("refresh_from_db", "arefresh_from_db")
    ]


def test_the_scan_finds_a_refresh():
    assert refresh_calls("order.refresh_from_db()\nx = 1\n") == [1]


def test_no_application_module_calls_refresh_from_db():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for line in refresh_calls(path.read_text())
    ]
    assert found == [], "re-read with a fresh query instead: " + ", ".join(found)

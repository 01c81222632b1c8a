"""Import rules: domain apps and back-office views reach the engine only through the port, and the
embedded engine knows nothing of the domain.

Every import statement counts, including those inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DOMAIN_APPS = ("orders", "vendors", "returns", "subscriptions", "core")
# The back-office views of the process layer (they render through the port too).
BACK_OFFICE = ("processes/views.py", "processes/selectors.py", "processes/forms.py")
ENGINE_INSIDE = ("processes.engine", "processes.models", "processes.adapters")


def package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1]).removesuffix(".__init__")


def imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``; relative imports resolved
    against ``package``. ``from a import b`` also counts as ``a.b`` (b may be a module)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def imported_modules(path: Path) -> list[tuple[int, str]]:
    return imports_of(path.read_text(), package_of(path))


def python_files(*roots: str) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        target = ROOT / root
        files.extend([target] if target.is_file() else sorted(target.rglob("*.py")))
    return [f for f in files if "migrations" not in f.parts]


def is_within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in files
        for line, module in imported_modules(path)
        if is_within(module, forbidden)
    ]


def test_domain_apps_and_back_office_views_use_only_the_port():
    files = python_files(*DOMAIN_APPS, *BACK_OFFICE)
    assert len(files) > 20  # the apps were found
    assert violations(files, ENGINE_INSIDE) == []


def test_the_embedded_engine_imports_no_domain_app():
    files = python_files("processes/engine")
    assert files
    assert violations(files, DOMAIN_APPS) == []


@pytest.mark.parametrize(
    "source",
    [
        "from processes.models import UserTask",
        "from processes import models",
        "import processes.engine.service",
        "def f():\n    from processes.adapters import embedded",
        "if TYPE_CHECKING:\n    from processes.engine.bpmn import X",
        "from ..models import UserTask",  # relative, from processes.api
    ],
)
def test_the_rule_sees_every_form_of_import(source):
    assert [m for _line, m in imports_of(source, "processes.api") if is_within(m, ENGINE_INSIDE)]


def test_the_port_itself_is_allowed():
    source = "from processes import port\nfrom processes.port import PortError\nfrom . import port"
    assert not [m for _l, m in imports_of(source, "processes") if is_within(m, ENGINE_INSIDE)]


def test_relative_imports_are_resolved():
    found = [m for _line, m in imports_of("from .models import A\nfrom . import port", "processes")]
    assert found == ["processes.models", "processes.models.A", "processes", "processes.port"]
    assert package_of(ROOT / "processes" / "engine" / "__init__.py") == "processes.engine"
    assert package_of(ROOT / "processes" / "views.py") == "processes"

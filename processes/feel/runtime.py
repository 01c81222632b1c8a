"""Evaluation scopes and per-evaluation state (warnings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processes.feel.errors import Warning
from processes.feel.values import from_python


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: Marker for "no such variable" (distinct from a variable bound to null).
MISSING: Any = _Missing()


class Scope:
    """A frame of variable bindings chained to its parent; all frames share ``warnings``."""

    __slots__ = ("parent", "vars", "warnings")

    def __init__(self, vars: Mapping[str, Any], parent: Scope | None, warnings: list[Warning]):
        self.vars = vars
        self.parent = parent
        self.warnings = warnings

    def lookup(self, name: str) -> Any:
        """The value bound to ``name`` in this frame or an enclosing one, else ``MISSING``."""
        scope: Scope | None = self
        while scope is not None:
            if type(scope) is TopScope:
                return scope.lookup(name)
            value = scope.vars.get(name, MISSING)
            if value is not MISSING:
                return value
            scope = scope.parent
        return MISSING

    def child(self, vars: Mapping[str, Any]) -> Scope:
        """A new frame on top of this one."""
        return Scope(vars, self, self.warnings)

    def warn(self, type_: str, message: str) -> None:
        """Record a suppressed failure."""
        self.warnings.append(Warning(type_, message))


class TopScope(Scope):
    """The outermost frame: the caller's variables, converted to FEEL values on access."""

    __slots__ = ()

    def lookup(self, name: str) -> Any:
        value = self.vars.get(name, MISSING)
        if value is MISSING:
            return MISSING
        return from_python(value)


class ItemScope(Scope):
    """The frame of a filter condition: ``item`` plus, for a context item, its entries."""

    __slots__ = ("item",)

    def __init__(self, item: Any, parent: Scope) -> None:
        self.item = item
        self.vars = item if type(item) is dict else _EMPTY
        self.parent = parent
        self.warnings = parent.warnings

    def lookup(self, name: str) -> Any:
        value = self.vars.get(name, MISSING)
        if value is not MISSING:
            return value
        if name == "item":
            return self.item
        return self.parent.lookup(name)  # type: ignore[union-attr]


_EMPTY: dict[str, Any] = {}

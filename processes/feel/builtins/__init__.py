"""Built-in function registry and invocation (overload resolution, named arguments).

Built-ins are registered with Camunda's parameter names so named calls work. An implementation
raises :class:`InvalidArguments` for arguments it can't handle; the call then gives null plus a
``FUNCTION_INVOCATION_FAILURE`` warning. :class:`FeelEvaluationError` propagates (a failure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from processes.feel.errors import FeelEvaluationError, InvalidArguments
from processes.feel.runtime import Scope
from processes.feel.values import FeelFunction, feel_string

BUILTINS: dict[str, list[FeelFunction]] = {}


def builtin(
    name: str | tuple[str, ...],
    *signatures: str,
    varargs: bool = False,
    needs_state: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` under ``name`` (or several names) for each signature ``"a, b, c"``."""
    names = (name,) if isinstance(name, str) else name

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for n in names:
            for sig in signatures:
                params = tuple(p.strip() for p in sig.split(",") if p.strip())
                BUILTINS.setdefault(n, []).append(
                    FeelFunction(n, params, fn, varargs=varargs, needs_state=needs_state)
                )
        return fn

    return register


def _describe(v: Any) -> str:
    text = feel_string(v, True)
    return "null" if text is None else text


def invoke(
    s: Scope,
    name: str,
    overloads: list[FeelFunction],
    positional: list[Any] | None,
    named: dict[str, Any] | None,
) -> Any:
    """Call the first matching overload; failures become null plus a warning."""
    chosen: FeelFunction | None = None
    args: list[Any] = []
    if positional is not None:
        n = len(positional)
        for fn in overloads:
            p = len(fn.params)
            if fn.varargs and n >= max(1, p - 1):
                if n == p and _exact_list_call(fn, positional):
                    args = positional
                else:
                    args = [*positional[: p - 1], positional[p - 1 :]]
                chosen = fn
                break
            if p == n:
                chosen, args = fn, positional
                break
    else:
        assert named is not None
        for fn in overloads:
            if all(k in fn.params for k in named):
                chosen = fn
                args = [named.get(p) for p in fn.params]
                break
    if chosen is None:
        count = len(positional) if positional is not None else len(named or ())
        s.warn("NO_FUNCTION_FOUND", f"No function found with name '{name}' and {count} parameters")
        return None
    try:
        if chosen.needs_state:
            return chosen.impl(s, *args)
        return chosen.impl(*args)
    except FeelEvaluationError:
        raise
    except (
        InvalidArguments,
        TypeError,
        ValueError,
        ArithmeticError,
        InvalidOperation,
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
    ) as error:
        detail = str(error) if isinstance(error, InvalidArguments) and str(error) else ""
        message = f"Failed to invoke function '{name}': " + (
            detail or "Illegal arguments: " + ", ".join(f"'{_describe(a)}'" for a in args)
        )
        s.warn("FUNCTION_INVOCATION_FAILURE", message)
        return None


def _exact_list_call(fn: FeelFunction, positional: list[Any]) -> bool:
    """Varargs functions given exactly one list for the variadic parameter take it as is."""
    return fn.impl in _LIST_OR_ITEMS and type(positional[-1]) is list


#: Varargs implementations that accept ``f(list)`` as well as ``f(a, b, c)``.
_LIST_OR_ITEMS: set[Callable[..., Any]] = set()


def list_or_items(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a varargs built-in whose single list argument is the item list itself."""
    _LIST_OR_ITEMS.add(fn)
    return fn


# --- argument helpers ------------------------------------------------------------------------


def num(v: Any) -> int | Decimal:
    """A number argument."""
    t = type(v)
    if t is int or t is Decimal:
        return v
    raise InvalidArguments()


def integer(v: Any) -> int:
    """An integral number argument."""
    t = type(v)
    if t is int:
        return v
    if t is Decimal and v == v.to_integral_value():
        return int(v)
    raise InvalidArguments()


def text(v: Any) -> str:
    """A string argument."""
    if type(v) is str:
        return v
    raise InvalidArguments()


def lst(v: Any) -> list[Any]:
    """A list argument."""
    if type(v) is list:
        return v
    raise InvalidArguments()


def ctx(v: Any) -> dict[str, Any]:
    """A context argument."""
    if type(v) is dict:
        return v
    raise InvalidArguments()


def boolean(v: Any) -> bool:
    """A boolean argument."""
    if type(v) is bool:
        return v
    raise InvalidArguments()


def date_like(v: Any) -> dt.date:
    """A date or date-time argument."""
    if isinstance(v, dt.date):
        return v
    raise InvalidArguments()


def call_function(s: Scope, fn: Any, args: list[Any]) -> Any:
    """Call a FEEL function value from a built-in (e.g. ``sort``'s ``precedes``)."""
    if type(fn) is not FeelFunction or (len(fn.params) != len(args) and not fn.varargs):
        raise InvalidArguments()
    return invoke(s, fn.name, [fn], args, None)


from processes.feel.builtins import (  # noqa: E402,F401
    contexts,
    conversion,
    lists,
    misc,
    numeric,
    ranges,
    strings,
    temporal,
)

"""``instance of`` type checks built from the type text (``list<number>``, ``context<a: x>``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from processes.feel.values import kind

Check = Callable[[Any], bool]

_SIMPLE = {
    "number",
    "string",
    "boolean",
    "date",
    "time",
    "date and time",
    "days and time duration",
    "years and months duration",
    "list",
    "context",
    "function",
    "range",
}


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


@lru_cache(maxsize=512)
def type_check(text: str) -> Check:
    """A predicate for ``value instance of <text>``."""
    text = text.strip()
    if "->" in text and text.startswith("function"):
        return lambda v: kind(v) == "function"
    if "<" in text and text.endswith(">"):
        head = text[: text.index("<")].strip()
        inner = text[text.index("<") + 1 : -1]
        if head == "list":
            item = type_check(inner)
            return lambda v: type(v) is list and all(item(x) for x in v)
        if head == "range":
            item = type_check(inner)
            return lambda v: (
                kind(v) == "range" and all(x is None or item(x) for x in (v.start, v.end))
            )
        if head == "context":
            fields = []
            for part in _split_top(inner):
                name, _, t = part.partition(":")
                fields.append((name.strip(), type_check(t.strip())))
            return lambda v: (
                type(v) is dict and all(name in v and check(v[name]) for name, check in fields)
            )
        if head == "function":
            return lambda v: kind(v) == "function"
        return lambda v: False
    if text == "Any":
        return lambda v: v is not None
    if text == "Null":
        return lambda v: v is None
    if text in _SIMPLE:
        return lambda v: v is not None and kind(v) == text
    return lambda v: False

"""Context built-ins."""

from __future__ import annotations

from typing import Any

from processes.feel.builtins import builtin, ctx, lst, text
from processes.feel.errors import InvalidArguments


@builtin("get entries", "context", "m")
def get_entries(context: Any) -> Any:
    return [{"key": k, "value": v} for k, v in ctx(context).items()]


@builtin("get value", "context, key", "m, key", "context, keys")
def get_value(context: Any, key: Any) -> Any:
    c = ctx(context)
    if type(key) is list:
        value: Any = c
        for k in key:
            if type(value) is not dict:
                return None
            value = value.get(text(k))
        return value
    return c.get(text(key))


def _put(c: dict[str, Any], keys: list[Any], value: Any) -> dict[str, Any]:
    result = dict(c)
    head = text(keys[0])
    if len(keys) == 1:
        result[head] = value
        return result
    inner = result.get(head)
    result[head] = _put(inner if type(inner) is dict else {}, keys[1:], value)
    return result


@builtin(("context put", "put"), "context, key, value", "context, keys, value")
def context_put(context: Any, key: Any, value: Any) -> Any:
    c = ctx(context)
    keys = lst(key) if type(key) is list else [text(key)]
    if not keys:
        raise InvalidArguments()
    return _put(c, keys, value)


@builtin(("context merge", "put all"), "contexts", varargs=True)
def context_merge(contexts: Any) -> Any:
    if len(contexts) == 1 and type(contexts[0]) is list:
        contexts = contexts[0]
    result: dict[str, Any] = {}
    for c in contexts:
        result.update(ctx(c))
    return result

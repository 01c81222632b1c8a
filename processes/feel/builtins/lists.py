"""List built-ins."""

from __future__ import annotations

import math
import statistics
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from processes.feel.builtins import builtin, call_function, integer, list_or_items, lst
from processes.feel.errors import FeelEvaluationError, InvalidArguments
from processes.feel.runtime import Scope
from processes.feel.values import D34, feel_compare, feel_equal, is_number


def _contains(items: list[Any], value: Any) -> bool:
    return any(feel_equal(x, value) is True for x in items)


@builtin("list contains", "list, element")
def list_contains(items: Any, element: Any) -> Any:
    return _contains(lst(items), element)


@builtin("count", "list")
def count(items: Any) -> Any:
    return len(lst(items))


def _ordered(items: list[Any]) -> list[Any]:
    for x in items:
        if feel_compare(x, items[0]) is None:
            raise InvalidArguments()
    return items


@builtin("min", "list", varargs=True)
@list_or_items
def min_(items: Any) -> Any:
    items = lst(items)
    if not items:
        return None
    best = _ordered(items)[0]
    for x in items[1:]:
        if feel_compare(x, best) < 0:  # type: ignore[operator]
            best = x
    return best


@builtin("max", "list", varargs=True)
@list_or_items
def max_(items: Any) -> Any:
    items = lst(items)
    if not items:
        return None
    best = _ordered(items)[0]
    for x in items[1:]:
        if feel_compare(x, best) > 0:  # type: ignore[operator]
            best = x
    return best


def _numbers(items: Any) -> list[Any]:
    items = lst(items)
    for x in items:
        if not is_number(x):
            raise InvalidArguments()
    return items


@builtin("sum", "list", varargs=True)
@list_or_items
def sum_(items: Any) -> Any:
    items = _numbers(items)
    if not items:
        return None
    total: Any = 0
    for x in items:
        total = total + x if type(total) is int and type(x) is int else D34.add(total, x)
    return total


@builtin("product", "list", varargs=True)
@list_or_items
def product(items: Any) -> Any:
    items = _numbers(items)
    if not items:
        return None
    total: Any = 1
    for x in items:
        total = D34.multiply(total, x)
    return total


@builtin("mean", "list", varargs=True)
@list_or_items
def mean(items: Any) -> Any:
    items = _numbers(items)
    if not items:
        return None
    return D34.divide(sum_(items), len(items))


@builtin("median", "list", varargs=True)
@list_or_items
def median(items: Any) -> Any:
    items = sorted(_numbers(items))
    if not items:
        return None
    n = len(items)
    if n % 2:
        return items[n // 2]
    return D34.divide(D34.add(items[n // 2 - 1], items[n // 2]), 2)


@builtin("stddev", "list", varargs=True)
@list_or_items
def stddev(items: Any) -> Any:
    items = _numbers(items)
    if not items:
        return None
    if len(items) < 2:
        raise FeelEvaluationError("stddev: at least two values are needed")
    value = statistics.stdev(float(x) for x in items)
    if math.isnan(value):
        return None
    return Decimal(repr(value))


@builtin("mode", "list", varargs=True)
@list_or_items
def mode(items: Any) -> Any:
    items = _numbers(items)
    counts: dict[Any, int] = {}
    for x in items:
        counts[x] = counts.get(x, 0) + 1
    if not counts:
        return []
    top = max(counts.values())
    return sorted(k for k, c in counts.items() if c == top)


@builtin(("all", "and"), "list", varargs=True)
@list_or_items
def all_(items: Any) -> Any:
    if type(items) is not list:
        return None if type(items) is not bool else items
    unknown = False
    for x in items:
        if x is False:
            return False
        if x is not True:
            unknown = True
    return None if unknown else True


@builtin(("any", "or"), "list", varargs=True)
@list_or_items
def any_(items: Any) -> Any:
    if type(items) is not list:
        return None if type(items) is not bool else items
    unknown = False
    for x in items:
        if x is True:
            return True
        if x is not False:
            unknown = True
    return None if unknown else False


@builtin("sublist", "list, start position", "list, start position, length")
def sublist(items: Any, start: Any, length: Any = None) -> Any:
    items = lst(items)
    pos = integer(start)
    n = len(items)
    if (pos == 0 or abs(pos) > n) and (pos == 0 or pos > n or pos < -n):
        raise InvalidArguments()
    begin = pos - 1 if pos > 0 else n + pos
    if length is None:
        return items[begin:]
    ln = integer(length)
    if ln < 0:
        raise InvalidArguments()
    return items[begin : begin + ln]


@builtin("append", "list, items", varargs=True)
def append(items: Any, new: Any) -> Any:
    return lst(items) + list(new)


@builtin("concatenate", "lists", varargs=True)
def concatenate(lists: Any) -> Any:
    result: list[Any] = []
    for x in lists:
        if type(x) is list:
            result.extend(x)
        else:
            raise InvalidArguments()
    return result


@builtin("insert before", "list, position, newItem")
def insert_before(items: Any, position: Any, new_item: Any) -> Any:
    items = list(lst(items))
    pos = integer(position)
    n = len(items)
    if pos == 0 or pos > n or pos < -n:
        raise InvalidArguments()
    index = pos - 1 if pos > 0 else n + pos
    items.insert(index, new_item)
    return items


@builtin("remove", "list, position")
def remove(items: Any, position: Any) -> Any:
    items = list(lst(items))
    pos = integer(position)
    n = len(items)
    if pos == 0 or pos > n or pos < -n:
        raise InvalidArguments()
    del items[pos - 1 if pos > 0 else n + pos]
    return items


@builtin("reverse", "list")
def reverse(items: Any) -> Any:
    return list(reversed(lst(items)))


@builtin("index of", "list, match")
def index_of(items: Any, match: Any) -> Any:
    return [i + 1 for i, x in enumerate(lst(items)) if feel_equal(x, match) is True]


@builtin("union", "lists", varargs=True)
def union(lists: Any) -> Any:
    result: list[Any] = []
    for x in lists:
        for item in lst(x):
            if not _contains(result, item):
                result.append(item)
    return result


@builtin("distinct values", "list")
def distinct_values(items: Any) -> Any:
    result: list[Any] = []
    for item in lst(items):
        if not _contains(result, item):
            result.append(item)
    return result


@builtin("duplicate values", "list")
def duplicate_values(items: Any) -> Any:
    seen: list[Any] = []
    dups: list[Any] = []
    for item in lst(items):
        if _contains(seen, item):
            if not _contains(dups, item):
                dups.append(item)
        else:
            seen.append(item)
    return dups


def _flatten(items: list[Any], out: list[Any]) -> None:
    for x in items:
        if type(x) is list:
            _flatten(x, out)
        else:
            out.append(x)


@builtin("flatten", "list")
def flatten(items: Any) -> Any:
    out: list[Any] = []
    _flatten(lst(items), out)
    return out


@builtin("sort", "list, precedes", needs_state=True)
def sort(s: Scope, items: Any, precedes: Any) -> Any:
    items = lst(items)

    def compare(a: Any, b: Any) -> int:
        if call_function(s, precedes, [a, b]) is True:
            return -1
        if call_function(s, precedes, [b, a]) is True:
            return 1
        return 0

    return sorted(items, key=cmp_to_key(compare))


@builtin("is empty", "list")
def is_empty(items: Any) -> Any:
    return len(lst(items)) == 0


@builtin("partition", "list, size")
def partition(items: Any, size: Any) -> Any:
    items = lst(items)
    n = integer(size)
    if n <= 0:
        raise InvalidArguments()
    return [items[i : i + n] for i in range(0, len(items), n)]


@builtin("list replace", "list, position, newItem", "list, match, newItem", needs_state=True)
def list_replace(s: Scope, items: Any, position: Any, new_item: Any) -> Any:
    items = list(lst(items))
    if type(position) is int or type(position) is Decimal:
        pos = integer(position)
        n = len(items)
        if pos == 0 or pos > n or pos < -n:
            raise InvalidArguments()
        items[pos - 1 if pos > 0 else n + pos] = new_item
        return items
    return [new_item if call_function(s, position, [x, new_item]) is True else x for x in items]

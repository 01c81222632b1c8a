"""Range built-ins (DMN 1.5 interval relations on points and ranges)."""

from __future__ import annotations

from typing import Any

from processes.feel.builtins import builtin
from processes.feel.errors import InvalidArguments
from processes.feel.values import Range, feel_compare


def _c(a: Any, b: Any) -> int:
    r = feel_compare(a, b)
    if r is None:
        raise InvalidArguments()
    return r


def _check(*values: Any) -> None:
    for v in values:
        if v is None:
            raise InvalidArguments()
        if type(v) is Range and (v.start is None or v.end is None):
            raise InvalidArguments()


def _is_range(v: Any) -> bool:
    return type(v) is Range


_POINTS = ("point1, point2", "point, range", "range, point", "range1, range2")


@builtin("before", *_POINTS)
def before(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(a) and not _is_range(b):
        return _c(a, b) < 0
    if not _is_range(a):
        c = _c(a, b.start)
        return c < 0 or (c == 0 and not b.start_included)
    if not _is_range(b):
        c = _c(a.end, b)
        return c < 0 or (c == 0 and not a.end_included)
    c = _c(a.end, b.start)
    return c < 0 or (c == 0 and (not a.end_included or not b.start_included))


@builtin("after", *_POINTS)
def after(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(a) and not _is_range(b):
        return _c(a, b) > 0
    if not _is_range(a):
        c = _c(a, b.end)
        return c > 0 or (c == 0 and not b.end_included)
    if not _is_range(b):
        c = _c(a.start, b)
        return c > 0 or (c == 0 and not a.start_included)
    c = _c(a.start, b.end)
    return c > 0 or (c == 0 and (not a.start_included or not b.end_included))


def _ranges(a: Any, b: Any) -> None:
    _check(a, b)
    if not (_is_range(a) and _is_range(b)):
        raise InvalidArguments()


@builtin("meets", "range1, range2")
def meets(a: Any, b: Any) -> Any:
    _ranges(a, b)
    return a.end_included and b.start_included and _c(a.end, b.start) == 0


@builtin("met by", "range1, range2")
def met_by(a: Any, b: Any) -> Any:
    _ranges(a, b)
    return a.start_included and b.end_included and _c(a.start, b.end) == 0


@builtin("overlaps", "range1, range2")
def overlaps(a: Any, b: Any) -> Any:
    _ranges(a, b)
    c1 = _c(a.end, b.start)
    c2 = _c(a.start, b.end)
    first = c1 > 0 or (c1 == 0 and a.end_included and b.start_included)
    second = c2 < 0 or (c2 == 0 and a.start_included and b.end_included)
    return first and second


@builtin("overlaps before", "range1, range2")
def overlaps_before(a: Any, b: Any) -> Any:
    _ranges(a, b)
    cs = _c(a.start, b.start)
    ce = _c(a.end, b.start)
    cee = _c(a.end, b.end)
    return (
        (cs < 0 or (cs == 0 and a.start_included and not b.start_included))
        and (ce > 0 or (ce == 0 and a.end_included and b.start_included))
        and (cee < 0 or (cee == 0 and (not a.end_included or b.end_included)))
    )


@builtin("overlaps after", "range1, range2")
def overlaps_after(a: Any, b: Any) -> Any:
    return overlaps_before(b, a)


@builtin("finishes", "point, range", "range1, range2")
def finishes(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(b):
        raise InvalidArguments()
    if not _is_range(a):
        return b.end_included and _c(b.end, a) == 0
    cs = _c(a.start, b.start)
    return (
        a.end_included == b.end_included
        and _c(a.end, b.end) == 0
        and (cs > 0 or (cs == 0 and (not a.start_included or b.start_included)))
    )


@builtin("finished by", "range, point", "range1, range2")
def finished_by(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(a):
        raise InvalidArguments()
    if not _is_range(b):
        return a.end_included and _c(a.end, b) == 0
    return finishes(b, a)


@builtin("includes", "range, point", "range1, range2")
def includes(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(a):
        raise InvalidArguments()
    if not _is_range(b):
        cs = _c(a.start, b)
        ce = _c(a.end, b)
        return (cs < 0 and ce > 0) or (cs == 0 and a.start_included) or (ce == 0 and a.end_included)
    cs = _c(a.start, b.start)
    ce = _c(a.end, b.end)
    return (cs < 0 or (cs == 0 and (a.start_included or not b.start_included))) and (
        ce > 0 or (ce == 0 and (a.end_included or not b.end_included))
    )


@builtin("during", "point, range", "range1, range2")
def during(a: Any, b: Any) -> Any:
    return includes(b, a)


@builtin("starts", "point, range", "range1, range2")
def starts(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(b):
        raise InvalidArguments()
    if not _is_range(a):
        return b.start_included and _c(b.start, a) == 0
    ce = _c(a.end, b.end)
    return (
        _c(a.start, b.start) == 0
        and a.start_included == b.start_included
        and (ce < 0 or (ce == 0 and (not a.end_included or b.end_included)))
    )


@builtin("started by", "range, point", "range1, range2")
def started_by(a: Any, b: Any) -> Any:
    _check(a, b)
    if not _is_range(a):
        raise InvalidArguments()
    if not _is_range(b):
        return a.start_included and _c(a.start, b) == 0
    return starts(b, a)


@builtin("coincides", "point1, point2", "range1, range2")
def coincides(a: Any, b: Any) -> Any:
    _check(a, b)
    if _is_range(a) != _is_range(b):
        raise InvalidArguments()
    if not _is_range(a):
        return _c(a, b) == 0
    return (
        _c(a.start, b.start) == 0
        and _c(a.end, b.end) == 0
        and a.start_included == b.start_included
        and a.end_included == b.end_included
    )


@builtin("range", "from")
def range_(from_: Any) -> Any:
    """DMN 1.5 ``range("[1..3]")``: a range (or comparison test) from its FEEL text."""
    if type(from_) is not str:
        raise InvalidArguments()
    from processes.feel.api import compile_expression
    from processes.feel.errors import FeelError
    from processes.feel.values import UnaryTest

    try:
        value = compile_expression(from_.strip()).evaluate_raw().value
    except FeelError:
        return None
    if type(value) is Range:
        if feel_compare(value.start, value.end) == 1:
            return None
        return value
    if type(value) is UnaryTest and value.op in ("<", "<=", ">", ">="):
        return value
    return None

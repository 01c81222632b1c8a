"""Numeric built-ins."""

from __future__ import annotations

import datetime as dt
import math
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    Inexact,
    InvalidOperation,
    localcontext,
)
from typing import Any

from processes.feel.builtins import builtin, integer, num, text
from processes.feel.errors import FeelEvaluationError, InvalidArguments
from processes.feel.values import D34, YearMonthDuration

_MODES = {
    "UP": ROUND_UP,
    "DOWN": ROUND_DOWN,
    "CEILING": ROUND_CEILING,
    "FLOOR": ROUND_FLOOR,
    "HALF_UP": ROUND_HALF_UP,
    "HALF_DOWN": ROUND_HALF_DOWN,
    "HALF_EVEN": ROUND_HALF_EVEN,
}


def round_to(n: Any, scale: Any, mode: str) -> Decimal:
    """Round ``n`` to ``scale`` decimal places with a ``decimal`` rounding mode."""
    value = Decimal(num(n))
    places = integer(scale)
    if places < -6111 or places > 6176:
        raise InvalidArguments()
    with localcontext(D34) as c:
        c.prec = 100
        return value.quantize(Decimal(1).scaleb(-places), rounding=mode)


@builtin("decimal", "n, scale")
def decimal(n: Any, scale: Any) -> Any:
    return round_to(n, scale, ROUND_HALF_EVEN)


@builtin("decimal", "n, scale, mode")
def decimal_mode(n: Any, scale: Any, mode: Any) -> Any:
    name = text(mode).upper()
    if name == "UNNECESSARY":
        value = Decimal(num(n))
        with localcontext(D34) as c:
            c.traps[Inexact] = True
            try:
                return value.quantize(Decimal(1).scaleb(-integer(scale)))
            except (Inexact, InvalidOperation):
                return None
    if name not in _MODES:
        raise InvalidArguments()
    return round_to(n, scale, _MODES[name])


@builtin("floor", "n", "n, scala", "n, scale")
def floor(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, ROUND_FLOOR)


@builtin("ceiling", "n", "n, scale")
def ceiling(n: Any, scale: Any = 0) -> Any:
    return round_to(n, scale, ROUND_CEILING)


@builtin("round up", "n, scale")
def round_up(n: Any, scale: Any) -> Any:
    return round_to(n, scale, ROUND_UP)


@builtin("round down", "n, scale")
def round_down(n: Any, scale: Any) -> Any:
    return round_to(n, scale, ROUND_DOWN)


@builtin("round half up", "n, scale")
def round_half_up(n: Any, scale: Any) -> Any:
    return round_to(n, scale, ROUND_HALF_UP)


@builtin("round half down", "n, scala", "n, scale")
def round_half_down(n: Any, scale: Any) -> Any:
    return round_to(n, scale, ROUND_HALF_DOWN)


@builtin(("abs",), "n")
def abs_(n: Any) -> Any:
    if type(n) is dt.timedelta:
        return abs(n)
    if type(n) is YearMonthDuration:
        return YearMonthDuration(abs(n.months))
    return abs(num(n))


@builtin("abs", "number")
def _abs_number(number: Any) -> Any:
    return abs_(number)


@builtin("modulo", "dividend, divisor")
def modulo(dividend: Any, divisor: Any) -> Any:
    a, b = num(dividend), num(divisor)
    if b == 0:
        raise FeelEvaluationError("modulo: division by zero")
    if type(a) is int and type(b) is int:
        return a % b
    a, b = Decimal(a), Decimal(b)
    r = D34.remainder(a, b)
    if r != 0 and (r < 0) != (b < 0):
        r = D34.add(r, b)
    return r


def _from_float(value: float) -> Any:
    if math.isnan(value) or math.isinf(value):
        return None
    return Decimal(repr(value))


@builtin("sqrt", "number")
def sqrt(number: Any) -> Any:
    n = num(number)
    if n < 0:
        return None
    return _from_float(math.sqrt(float(n)))


@builtin("log", "number")
def log(number: Any) -> Any:
    n = num(number)
    if n <= 0:
        raise FeelEvaluationError("log: the number must be positive")
    return _from_float(math.log(float(n)))


@builtin("exp", "number")
def exp(number: Any) -> Any:
    try:
        return _from_float(math.exp(float(num(number))))
    except OverflowError:
        return None


@builtin("odd", "number")
def odd(number: Any) -> Any:
    n = num(number)
    if n != int(n):
        return False
    return int(n) % 2 == 1


@builtin("even", "number")
def even(number: Any) -> Any:
    n = num(number)
    if n != int(n):
        return False
    return int(n) % 2 == 0

"""Boolean and miscellaneous built-ins: not, is defined, get or else, assert, is, uuid, base64."""

from __future__ import annotations

import base64
import os
import random
import time
import uuid as uuid_module
from decimal import Decimal
from typing import Any

from processes.feel.builtins import builtin, text
from processes.feel.errors import FeelEvaluationError, InvalidArguments
from processes.feel.values import kind


@builtin("not", "negand")
def not_(negand: Any) -> Any:
    if type(negand) is bool:
        return not negand
    return None


@builtin("is defined", "value")
def is_defined(value: Any) -> Any:
    return value is not None


@builtin("get or else", "value, default")
def get_or_else(value: Any, default: Any) -> Any:
    return default if value is None else value


@builtin("assert", "value, condition", "value, condition, cause")
def assert_(value: Any, condition: Any, cause: Any = None) -> Any:
    if condition is True:
        return value
    message = cause if type(cause) is str else "The condition is not fulfilled"
    raise FeelEvaluationError(f"Assertion failure on evaluate the expression: {message}")


@builtin("is", "value1, value2")
def is_(value1: Any, value2: Any) -> Any:
    if kind(value1) != kind(value2):
        return False
    if type(value1) in (type(None),):
        return True
    import datetime as dt

    if isinstance(value1, (dt.time, dt.datetime)):
        from processes.feel.values import tz_key

        same_clock = value1.replace(tzinfo=None) == value2.replace(tzinfo=None)
        return same_clock and tz_key(value1.tzinfo) == tz_key(value2.tzinfo)
    return value1 == value2


@builtin("uuid", "")
def uuid() -> str:
    """A time-ordered (version 7) UUID."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = millis << 80 | 0x7 << 76 | ((rand >> 62) & 0xFFF) << 64 | 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid_module.UUID(int=value))


@builtin("random number", "")
def random_number() -> Any:
    return Decimal(repr(random.random()))


@builtin("to base64", "value")
def to_base64(value: Any) -> Any:
    return base64.b64encode(text(value).encode("utf-8")).decode("ascii")


@builtin("from base64", "value")
def from_base64(value: Any) -> Any:
    try:
        return base64.b64decode(text(value), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


@builtin("fromAi", "value", "value, description", "value, description, type")
def from_ai(value: Any, description: Any = None, type_: Any = None) -> Any:
    return value


@builtin("cycle", "interval", "repetitions, interval")
def cycle(first: Any, second: Any = None) -> Any:
    from processes.feel.values import feel_string

    if second is None:
        return "R/" + (feel_string(first) or "")
    if type(first) is not int:
        raise InvalidArguments()
    return f"R{first}/" + (feel_string(second) or "")

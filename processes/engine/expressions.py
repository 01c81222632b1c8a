"""FEEL at the engine's usage points: typed results or an incident."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


class ExpressionFailure(Exception):
    """An expression failed or gave the wrong type: the element gets an incident."""

    def __init__(self, message: str, error_type: str = "EXTRACT_VALUE_ERROR") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


_TYPE_NAMES = {
    bool: "BOOLEAN",
    int: "NUMBER",
    Decimal: "NUMBER",
    float: "NUMBER",
    str: "STRING",
    list: "ARRAY",
    dict: "OBJECT",
    type(None): "NULL",
}


def type_name(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return "DATE_TIME"
    if isinstance(value, dt.timedelta):
        return "DURATION"
    return _TYPE_NAMES.get(type(value), type(value).__name__.upper())


def is_expression(raw: str | None) -> bool:
    return raw is not None and raw.lstrip().startswith("=")


def evaluate(raw: str, variables: dict[str, Any], error_type: str = "EXTRACT_VALUE_ERROR") -> Any:
    """Evaluate ``=expr`` (FEEL) against the variables; a static value is returned as it is."""
    if not is_expression(raw):
        return raw
    text = raw.lstrip()[1:]
    from processes import feel

    _wire_clock()
    try:
        result = feel.compile_expression(text).evaluate_detailed(variables)
    except feel.FeelError as error:
        raise ExpressionFailure(
            f"Expected to evaluate expression '{text.strip()}', but failed: {error}", error_type
        ) from error
    if result.value is None and result.warnings:
        # Remember why it is null, for the incident text if the caller needs a value.
        _last_warnings[0] = "; ".join(w.message for w in result.warnings)
    else:
        _last_warnings[0] = ""
    return result.value


_last_warnings = [""]


def _wire_clock() -> None:
    """FEEL ``now()``/``today()`` follow the engine clock, pinned or not.

    Set before every evaluation (one assignment), so a FEEL user that swapped the clock
    meanwhile cannot leave engine expressions on another time source.
    """
    from processes import feel

    from . import clock

    feel.set_clock(clock.now)


def _wrong_type(raw: str, expected: str, value: Any) -> ExpressionFailure:
    text = raw.lstrip()[1:].strip() if is_expression(raw) else raw
    message = (
        f"Expected result of the expression '{text}' to be '{expected}', "
        f"but was '{type_name(value)}'."
    )
    if value is None and _last_warnings[0]:
        message += f" The evaluation reported the following warnings: {_last_warnings[0]}"
    return ExpressionFailure(message)


def evaluate_bool(raw: str, variables: dict[str, Any]) -> bool:
    value = evaluate(raw, variables)
    if not isinstance(value, bool):
        raise _wrong_type(raw, "BOOLEAN", value)
    return value


def evaluate_string(raw: str, variables: dict[str, Any]) -> str:
    value = evaluate(raw, variables)
    if not isinstance(value, str):
        raise _wrong_type(raw, "STRING", value)
    return value


def evaluate_int(raw: str, variables: dict[str, Any]) -> int:
    if not is_expression(raw):
        try:
            return int(raw.strip())
        except ValueError:
            raise _wrong_type(raw, "NUMBER", raw) from None
    value = evaluate(raw, variables)
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise _wrong_type(raw, "NUMBER", value)
    return int(value)


def evaluate_list(raw: str, variables: dict[str, Any]) -> list[Any]:
    value = evaluate(raw, variables)
    if not isinstance(value, list):
        raise _wrong_type(raw, "ARRAY", value)
    return value


def evaluate_correlation_key(raw: str, variables: dict[str, Any]) -> str:
    """A correlation key is a string, or a number turned into its integer string."""
    value = evaluate(raw, variables)
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(int(value))
    raise ExpressionFailure(
        f"Failed to extract the correlation key for '{raw.lstrip()[1:].strip()}': "
        f"The value must be either a string or a number, but was '{type_name(value)}'."
    )


def evaluate_strings(raw: str | None, variables: dict[str, Any]) -> list[str]:
    """Candidate groups/users: static CSV or a FEEL list of strings."""
    if raw is None or raw.strip() == "":
        return []
    if not is_expression(raw):
        return [item.strip() for item in raw.split(",") if item.strip()]
    value = evaluate(raw, variables)
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong_type(raw, "ARRAY of STRING", value)
    return value


def to_variable(value: Any) -> Any:
    """A FEEL result as the JSON value stored in a process variable."""
    if value is None or isinstance(value, str | bool | int):
        return value
    from processes import feel

    return feel.to_json(value)

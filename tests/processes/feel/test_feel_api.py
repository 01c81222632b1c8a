"""Public API: caching, warnings, failures, unary tests, clock, JSON conversion."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from processes import feel
from processes.feel import (
    EvalResult,
    FeelError,
    FeelEvaluationError,
    YearMonthDuration,
    check_syntax,
    compile_expression,
    evaluate,
    evaluate_detailed,
    evaluate_unary_tests,
    set_clock,
    to_json,
)


def test_compile_is_cached_by_text() -> None:
    assert compile_expression("amount > 500") is compile_expression("amount > 500")
    expr = compile_expression("amount > 500")
    assert expr.evaluate({"amount": 700}) is True
    assert expr.evaluate({"amount": 100}) is False


def test_numbers_come_back_as_int_or_decimal() -> None:
    assert type(evaluate("1 + 1")) is int
    assert evaluate("0.5 + 0.25") == Decimal("0.75")
    assert type(evaluate("1.5 + 1.5")) is int
    assert evaluate("x * 2", {"x": 0.1}) == Decimal("0.2")
    assert evaluate("x", {"x": float("nan")}) is None


def test_inputs_of_all_supported_types() -> None:
    variables = {
        "d": dt.date(2024, 1, 31),
        "t": dt.time(10, 0),
        "dt": dt.datetime(2024, 1, 31, 10, 0, tzinfo=dt.UTC),
        "td": dt.timedelta(hours=2),
        "ctx": {"n": Decimal("1.5"), "xs": (1, 2)},
        "flag": True,
    }
    assert evaluate('d + @"P1M"', variables) == dt.date(2024, 2, 29)
    assert evaluate("t + td", variables) == dt.time(12, 0)
    assert evaluate("dt.hour", variables) == 10
    assert evaluate("ctx.n * 2", variables) == 3
    assert evaluate("ctx.xs[2]", variables) == 2
    assert evaluate("flag = true", variables) is True
    assert evaluate("flag + 1", variables) is None


@pytest.mark.parametrize(
    ("expression", "variables", "type_", "fragment"),
    [
        ("missing", {}, "NO_VARIABLE_FOUND", "'missing'"),
        ("{a: 1}.b", {}, "NO_CONTEXT_ENTRY_FOUND", "'b'"),
        ('1 = "1"', {}, "NOT_COMPARABLE", "compare"),
        ('"a" + 1', {}, "INVALID_TYPE", "add"),
        ("nope(1)", {}, "NO_FUNCTION_FOUND", "'nope'"),
        ("number(null)", {}, "FUNCTION_INVOCATION_FAILURE", "'number'"),
        ("for x in 1 return x", {}, "INVALID_TYPE", "Expected list"),
    ],
)
def test_warnings(expression: str, variables: dict, type_: str, fragment: str) -> None:
    result = evaluate_detailed(expression, variables)
    assert isinstance(result, EvalResult)
    assert result.value is None
    assert [w.type for w in result.warnings] == [type_]
    assert fragment in result.warnings[0].message


def test_no_warnings_on_success_and_is_defined() -> None:
    assert evaluate_detailed("1 + 1").warnings == []
    assert evaluate_detailed("is defined(missing)").warnings == []
    assert compile_expression("x").evaluate_detailed({"x": 1}).value == 1


def test_check_syntax() -> None:
    check_syntax("a + b")
    with pytest.raises(FeelError) as info:
        check_syntax("a +* b")
    assert info.value.position == 3
    assert not isinstance(info.value, FeelEvaluationError)


def test_assert_failure_is_an_evaluation_error() -> None:
    with pytest.raises(FeelEvaluationError) as info:
        evaluate('assert(x, x > 0, "x must be positive")', {"x": -1})
    assert "x must be positive" in str(info.value)
    assert isinstance(info.value, FeelError)


@pytest.mark.parametrize(
    ("tests", "value", "expected"),
    [
        ("< 5", 3, True),
        ("< 5", 7, False),
        ("[1..5]", 5, True),
        ("(1..5)", 5, False),
        ("1, 2, 3", 2, True),
        ('"a", "b"', "c", False),
        ("-", 42, True),
        ("not(1, 2)", 3, True),
        ("not(1, 2)", 2, False),
        ("? > limit", 10, True),
        ("limit", 5, True),
        ("< limit", None, None),
        ("null", None, True),
        ("[1, 2, 3]", 2, True),
        (">= 10, < 0", -1, True),
    ],
)
def test_unary_tests(tests: str, value: object, expected: object) -> None:
    assert evaluate_unary_tests(tests, value, {"limit": 5}) == expected


def test_clock_can_be_pinned() -> None:
    pinned = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    set_clock(lambda: pinned)
    try:
        assert evaluate("now()") == pinned
        assert evaluate("today()") == dt.date(2025, 6, 1)
        assert evaluate('now() + duration("PT48H")') == pinned + dt.timedelta(hours=48)
        assert evaluate('now() > @"2025-01-01T00:00:00Z"') is True
        assert evaluate('now() > @"2025-01-01T00:00:00"') is None
    finally:
        set_clock(None)
    assert evaluate("now()").tzinfo is not None


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1", 1),
        ("1.5", 1.5),
        ("3.0", 3),
        ('"x"', "x"),
        ("null", None),
        ("[1, 2.5]", [1, 2.5]),
        ('{a: @"2020-01-01"}', {"a": "2020-01-01"}),
        ('@"2020-07-31T14:27:30@Europe/Berlin"', "2020-07-31T14:27:30+02:00"),
        ('@"2020-07-31T14:27:30Z"', "2020-07-31T14:27:30Z"),
        ('@"2020-07-31T14:27:30"', "2020-07-31T14:27:30"),
        ('@"10:30:00"', "10:30"),
        ('@"10:30:15"', "10:30:15"),
        ('@"10:30:00+01:00"', "10:30:00+01:00"),
        ('@"PT36H"', "P1DT12H"),
        ('@"P14M"', "P1Y2M"),
        ("function(x) x", None),
    ],
)
def test_to_json(expression: str, expected: object) -> None:
    value = compile_expression(expression).evaluate_raw().value
    converted = to_json(value)
    assert converted == expected
    assert type(converted) is type(expected)


def test_year_month_duration_value_type() -> None:
    value = evaluate('@"P1Y2M"')
    assert value == YearMonthDuration(14)
    assert str(value) == "P1Y2M"
    with pytest.raises(AttributeError):
        value.months = 3  # type: ignore[misc]


def test_public_api_names() -> None:
    for name in feel.__all__:
        assert hasattr(feel, name)

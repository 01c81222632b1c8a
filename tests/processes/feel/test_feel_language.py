"""FEEL language constructs: literals, operators, paths, filters, control flow, names."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from processes.feel import FeelError, FeelEvaluationError, YearMonthDuration, evaluate


def D(text: str) -> Decimal:
    return Decimal(text)


LITERALS = [
    ("1", 1),
    ("02", 2),
    (".5", D("0.5")),
    ("-3", -3),
    ("1.50", D("1.5")),
    ('"a\\nb"', "a\nb"),
    ('"\\d"', "\\d"),
    ('"say \\"hi\\""', 'say "hi"'),
    ('"\\u0041"', "A"),
    ("true", True),
    ("false", False),
    ("null", None),
    ("[]", []),
    ("[1, 2, 3]", [1, 2, 3]),
    ("{a: 1, b: 2}", {"a": 1, "b": 2}),
    ('{"a b": 1}', {"a b": 1}),
    ("{foo bar: 2}", {"foo bar": 2}),
    ("{a+b: 1}", {"a+b": 1}),
    ('@"2021-01-31"', dt.date(2021, 1, 31)),
    ('@"10:20:30"', dt.time(10, 20, 30)),
    ('@"2021-01-31T10:00:00"', dt.datetime(2021, 1, 31, 10)),
    ('@"2021-01-31T10:00:00Z"', dt.datetime(2021, 1, 31, 10, tzinfo=dt.UTC)),
    ('@"P1D"', dt.timedelta(days=1)),
    ('@"-PT1H"', dt.timedelta(hours=-1)),
    ('@"P14M"', YearMonthDuration(14)),
    ('@"2023-02-29"', None),
    ("1 /* inline */ + // line\n 2", 3),
]


@pytest.mark.parametrize(("expression", "expected"), LITERALS)
def test_literals(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected


ARITHMETIC = [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 - 2 - 3", 5),
    ("7 / 2", D("3.5")),
    ("6 / 2", 3),
    ("1 / 3", D("0.3333333333333333333333333333333333")),
    ("1 / 3 * 3", D("0.9999999999999999999999999999999999")),
    ("0.1 + 0.2", D("0.3")),
    ("0.1 + 0.2 = 0.3", True),
    ("1 / 0", None),
    ("0 / 0", None),
    ("2 ** 3", 8),
    ("2 ** 2 ** 3", 64),
    ("-2 ** 2", 4),
    ("5 ** -2", D("0.04")),
    ("2 ** 0.5", D("1.4142135623730951")),
    ("1 - -1", 2),
    ('"a" + "b"', "ab"),
    ('"a" + 1', None),
    ("1 + null", None),
    ("-x", -5),
]


@pytest.mark.parametrize(("expression", "expected"), ARITHMETIC)
def test_arithmetic(expression: str, expected: object) -> None:
    assert evaluate(expression, {"x": 5}) == expected


COMPARISON = [
    ("1 < 2", True),
    ("2 <= 2", True),
    ("3 > 4", False),
    ("1 = 1.0", True),
    ("1 != 2", True),
    ('"a" < "b"', True),
    ("null = null", True),
    ("1 = null", False),
    ("null != 1", True),
    ("null < 1", None),
    ('1 = "1"', None),
    ('1 != "1"', None),
    ("[1] = [true]", False),
    ("[1, 2] = [1, 2]", True),
    ("{a: 1, b: 2} = {b: 2, a: 1}", True),
    ("true < false", None),
    ('@"2021-01-01" < @"2021-01-02"', True),
    ('@"2021-01-01" = @"2021-01-01T00:00:00"', None),
    ('@"P1Y" > @"P11M"', True),
    ('@"PT24H" = @"P1D"', True),
    ("5 between 1 and 10", True),
    ("5 between 6 and 10", False),
    ("x between 1 and 3", None),
    ('"b" between "a" and "c"', True),
]


@pytest.mark.parametrize(("expression", "expected"), COMPARISON)
def test_comparison(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected


LOGIC = [
    ("true and true", True),
    ("true and false", False),
    ("true and null", None),
    ("false and null", False),
    ('false and "x"', False),
    ("true and 2", None),
    ("2 and false", False),
    ("true or null", True),
    ('true or "x"', True),
    ("false or null", None),
    ("null or null", None),
    ("2 or true", True),
    ("not(true)", False),
    ("not(null)", None),
    ("not(1)", None),
]


@pytest.mark.parametrize(("expression", "expected"), LOGIC)
def test_three_valued_logic(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected


VARS = {
    "order": {"id": "o-1", "total": 120, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}]},
    "xs": [1, 2, 3],
    "i": 2,
    "Monthly Salary": 1000,
    "first name": "Ada",
    "nested": {"inner": {"value": 7}},
}

PATHS_AND_FILTERS = [
    ("order.id", "o-1"),
    ("order.items.sku", ["a", "b"]),
    ("nested.inner.value", 7),
    ("order.missing", None),
    ("{a: 1}.b.c", None),
    ("[{a: 1}, {b: 2}].a", [1, None]),
    ("xs[1]", 1),
    ("xs[-1]", 3),
    ("xs[0]", None),
    ("xs[4]", None),
    ("[][1]", None),
    ("xs[i]", 2),
    ("xs[item > 1]", [2, 3]),
    ("[1, null, 3][item > 1]", [3]),
    ('xs["x"]', []),
    ("order.items[qty > 2].sku", ["b"]),
    ("order.items[item.qty < 3]", [{"sku": "a", "qty": 2}]),
    ("[{x: 1}, {y: 1}][x = null]", [{"y": 1}]),
    ("5[1]", None),
    ("[1, 2][1]", 1),
    ("{a: [1, 2]}.a[2]", 2),
    ("Monthly Salary * 12", 12000),
    ("`first name`", "Ada"),
    ('@"PT36H".days', 1),
    ('@"PT36H".hours', 12),
    ('@"P14M".years', 1),
    ('@"2024-05-06".weekday', 1),
    ('@"2024-05-06T10:11:12".minute', 11),
]


@pytest.mark.parametrize(("expression", "expected"), PATHS_AND_FILTERS)
def test_paths_and_filters(expression: str, expected: object) -> None:
    assert evaluate(expression, VARS) == expected


CONTROL = [
    ("if true then 1 else 2", 1),
    ("if null then 1 else 2", 2),
    ('if "yes" then 1 else 2', 2),
    ("1 + (if x > 1 then 10 else 20)", 11),
    ("for x in [1, 2] return x * 2", [2, 4]),
    ("for x in [1, 2], y in [3, 4] return x * y", [3, 4, 6, 8]),
    ("for i in 1..3 return i", [1, 2, 3]),
    ("for i in 3..1 return i", [3, 2, 1]),
    ("for i in 1..4 return if i = 1 then 1 else i * partial[-1]", [1, 2, 6, 24]),
    ("for x in [[1, 2], [3]], y in x return y", [1, 2, 3]),
    ("for x in 5 return x", None),
    ("some x in [1, 2] satisfies x > 1", True),
    ("some x in [] satisfies x > 1", False),
    ("every x in [] satisfies false", True),
    ("every x in [1, 2] satisfies x > 0", True),
    ("some x in [1, 2] satisfies null", None),
    ("some x in 1..5 satisfies x > 3", True),
    ("5 in [1..10]", True),
    ("5 in (5..10]", False),
    ("5 in [4, 5, 6]", True),
    ("5 in (< 3, >= 5)", True),
    ("5 in < 3", False),
    ("5 in (1, 2)", False),
    ("null in (2..4)", None),
    ('"b" in ["a".."c"]', True),
    ("1 instance of number", True),
    ('"a" instance of string', True),
    ("null instance of Any", False),
    ("[1, 2] instance of list<number>", True),
    ('@"2020-01-01T00:00:00" instance of date and time', True),
    ('@"P1D" instance of days and time duration', True),
    ("{a: 1} instance of context", True),
    ("(function(x) x) instance of function", True),
    ("{a: 1, b: a + 1}.b", 2),
    ("{a: 1, b: {a: 2, c: a + 3}}.b.c", 5),
    ("{f: function(x) x * 2, r: f(3)}.r", 6),
    ("(function(a, b) a - b)(5, 3)", 2),
    ("{f: function(a, b) a - b, r: f(b: 1, a: 5)}.r", 4),
    ("{f: function(a, b) b, r: f(a: 1)}.r", None),
]


@pytest.mark.parametrize(("expression", "expected"), CONTROL)
def test_control_flow_and_functions(expression: str, expected: object) -> None:
    assert evaluate(expression, {"x": 2}) == expected


NAMES = [
    ("a + b", {"a + b": 1}, 1),
    ("Mike's age - 10", {"Mike's age": 40}, 30),
    ("`tracking-id`", {"tracking-id": "t1"}, "t1"),
    ("order.`total price`", {"order": {"total price": 9}}, 9),
    ("date", {"date": "not a function"}, "not a function"),
    ('date("2020-01-01")', {"date": "shadowed"}, dt.date(2020, 1, 1)),
    ("Full Name", {"Full Name": "Ada L"}, "Ada L"),
    ("orderTotal", {"orderTotal": 5}, 5),
]


@pytest.mark.parametrize(("expression", "variables", "expected"), NAMES)
def test_names(expression: str, variables: dict, expected: object) -> None:
    assert evaluate(expression, variables) == expected


@pytest.mark.parametrize(
    ("expression", "position"),
    [("1 +", 3), ("1 + * 2", 4), ("[1, 2", 5), ("1 < 2 < 3", 6), ('"open', 0), ("5.", 2)],
)
def test_syntax_errors_have_positions(expression: str, position: int) -> None:
    with pytest.raises(FeelError) as info:
        evaluate(expression)
    assert info.value.position == position
    assert info.value.line == 1
    assert info.value.column == position + 1
    assert info.value.expression == expression
    assert "failed to parse" in str(info.value)


def test_syntax_error_line_and_column_on_second_line() -> None:
    with pytest.raises(FeelError) as info:
        evaluate("1 +\n  )")
    assert (info.value.line, info.value.column, info.value.position) == (2, 3, 6)


def test_input_marker_outside_unary_tests_fails() -> None:
    with pytest.raises(FeelEvaluationError):
        evaluate("? < 10")


TEMPORAL = [
    ('@"2021-01-31" + @"P1M"', dt.date(2021, 2, 28)),
    ('@"2021-03-01" - @"2020-03-01"', dt.timedelta(days=365)),
    ('@"2017-01-10" + @"PT1H"', dt.date(2017, 1, 10)),
    ('@"2017-01-10" - @"PT1H"', dt.date(2017, 1, 9)),
    ('@"09:00:00" - @"10:00:00"', dt.timedelta(hours=-1)),
    ('@"23:00:00" + @"PT2H"', dt.time(1, 0)),
    ('@"2020-01-01T10:00:00" + @"P1D"', dt.datetime(2020, 1, 2, 10)),
    ('@"2020-01-01T10:00:00Z" - @"2020-01-01T09:00:00Z"', dt.timedelta(hours=1)),
    ('@"P1Y" + @"P2M"', YearMonthDuration(14)),
    ('@"P1D" * 2', dt.timedelta(days=2)),
    ('@"P1D" * 1.5', dt.timedelta(days=1)),
    ('@"P1D" / @"PT1H"', 24),
    ('@"PT1H" / @"PT40M"', 1),
    ('@"P1Y" / @"P1M"', 12),
    ('@"P1Y" / 5', YearMonthDuration(2)),
    ('@"P1D" / 0', None),
    ('string(@"PT36H")', "P1DT12H"),
    ('string(@"P0D")', "P0D"),
    ('string(@"P14M")', "P1Y2M"),
    ('string(@"2015-09-18T10:31:10@Europe/Paris")', "2015-09-18T10:31:10@Europe/Paris"),
    ('string(@"10:00:00+01:00")', "10:00:00+01:00"),
    ('@"2020-01-01T00:00:00Z" > @"2020-01-01T00:00:00"', None),
    ('-@"P1D"', None),
]


@pytest.mark.parametrize(("expression", "expected"), TEMPORAL)
def test_temporal_arithmetic(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected

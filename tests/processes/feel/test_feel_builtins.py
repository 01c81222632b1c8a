"""Built-in functions, called positionally and with Camunda's parameter names."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from processes.feel import FeelEvaluationError, YearMonthDuration, evaluate
from processes.feel.builtins import BUILTINS


def D(text: str) -> Decimal:
    return Decimal(text)


CASES = [
    # conversion
    ('date("2012-12-25")', dt.date(2012, 12, 25)),
    ("date(2012, 12, 25)", dt.date(2012, 12, 25)),
    ("date(2012, 2, 30)", None),
    ('date(from: "2012-12-25")', dt.date(2012, 12, 25)),
    ('date(@"2012-12-25T10:00:00")', dt.date(2012, 12, 25)),
    ('date and time("2012-12-24T23:59:00")', dt.datetime(2012, 12, 24, 23, 59)),
    ('date and time(@"2012-12-24", @"10:00:00")', dt.datetime(2012, 12, 24, 10)),
    (
        'date and time(@"2020-07-31T14:27:30", "Z")',
        dt.datetime(2020, 7, 31, 14, 27, 30, tzinfo=dt.UTC),
    ),
    ('time("10:30:00")', dt.time(10, 30)),
    ("time(10, 30, 15)", dt.time(10, 30, 15)),
    ('time(@"2020-01-01T10:11:12")', dt.time(10, 11, 12)),
    ('duration("P2DT3H")', dt.timedelta(days=2, hours=3)),
    ('duration("P1Y2M")', YearMonthDuration(14)),
    ('duration("P1W")', None),
    ('years and months duration(@"2011-12-22", @"2013-08-24")', YearMonthDuration(20)),
    ('number("1500.5")', D("1500.5")),
    ('number("1,500.5", ",", ".")', D("1500.5")),
    ('number("1.500,5", ".", ",")', D("1500.5")),
    ('number("abc")', None),
    ("number(null)", None),
    ('number(from: "12")', 12),
    ("string(1.1)", "1.1"),
    ("string(true)", "true"),
    ("string(null)", None),
    ("string([1, 2])", "[1, 2]"),
    ('string({a: 1, b: "x"})', '{a:1, b:"x"}'),
    ('string(@"2012-12-25")', "2012-12-25"),
    ('context([{key: "a", value: 1}, {key: "b", value: 2}])', {"a": 1, "b": 2}),
    ('context([{key: "a"}])', None),
    ("to json({a: 1, b: [true, null]})", '{"a":1,"b":[true,null]}'),
    ('from json("{\\"a\\": 1.5}")', {"a": D("1.5")}),
    ('from json("nope")', None),
    # boolean and misc
    ("not(false)", True),
    ("not(negand: true)", False),
    ("is defined(1)", True),
    ("is defined(null)", False),
    ("is defined(missing)", False),
    ("is defined(missing.field)", False),
    ('get or else(null, "x")', "x"),
    ('get or else("a", "x")', "a"),
    ("get or else(value: null, default: 1)", 1),
    ("assert(5, 5 > 1)", 5),
    ('to base64("FEEL")', "RkVFTA=="),
    ('from base64("RkVFTA==")', "FEEL"),
    ('from base64("@@")', None),
    # strings
    ('substring("foobar", 3)', "obar"),
    ('substring("foobar", 3, 3)', "oba"),
    ('substring("foobar", -2)', "ar"),
    ('substring("abc", 2, 10)', "bc"),
    ('substring(string: "foobar", start position: 2, length: 2)', "oo"),
    ('string length("foo")', 3),
    ('string length("🐎")', 2),
    ('upper case("aBc")', "ABC"),
    ('lower case("aBc")', "abc"),
    ('substring before("foobar", "bar")', "foo"),
    ('substring before("foobar", "xyz")', ""),
    ('substring after("foobar", "ob")', "ar"),
    ('contains("foobar", "of")', False),
    ('contains("foobar", "ob")', True),
    ('starts with("foobar", "fo")', True),
    ('ends with("foobar", "r")', True),
    ('matches("foobar", "o")', True),
    ('matches("FooBar", "^foo", "i")', True),
    ('matches("foo", "[")', None),
    ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"),
    ('replace("a1b2", "\\d", "#")', "a#b#"),
    ('split("a;b;;", ";")', ["a", "b", "", ""]),
    ('split("John Doe", "\\s")', ["John", "Doe"]),
    ('extract("a1b22", "[0-9]+")', ["1", "22"]),
    ('trim("  x  ")', "x"),
    ('is blank("  ")', True),
    ('is blank("a")', False),
    ('string join(["a", null, "c"], "-")', "a-c"),
    ('string join(["a", "b"])', "ab"),
    ('string join(["a", "b"], ", ", "[", "]")', "[a, b]"),
    ('string join(["a", 1])', None),
    # lists
    ("list contains([1, 2], 2)", True),
    ("list contains([1, null], null)", True),
    ("count([1, 2, 3])", 3),
    ('count("a")', None),
    ("min([3, 1, 2])", 1),
    ("min(3, 1, 2)", 1),
    ("max([3, 1, 2])", 3),
    ('max("a", "c", "b")', "c"),
    ("min([])", None),
    ('min([1, "a"])', None),
    ("sum([1, 2, 3])", 6),
    ("sum(1, 2.5)", D("3.5")),
    ("sum([])", None),
    ("product([2, 3, 4])", 24),
    ("mean([1, 2, 3, 4])", D("2.5")),
    ("median([3, 1, 2])", 2),
    ("median([1, 2, 3, 4])", D("2.5")),
    ("stddev(2, 4, 7, 5)", D("2.0816659994661326")),
    ("mode([1, 2, 2, 3, 3])", [2, 3]),
    ("mode([])", []),
    ("all([true, true])", True),
    ("all([true, null])", None),
    ("all([])", True),
    ("all(0)", None),
    ("and([true, false])", False),
    ("any([false, true])", True),
    ("any([])", False),
    ("or([false, null])", None),
    ("sublist([1, 2, 3], 2)", [2, 3]),
    ("sublist([1, 2, 3], 1, 2)", [1, 2]),
    ("sublist([1, 2, 3], 0)", None),
    ("append([1], 2, 3)", [1, 2, 3]),
    ("concatenate([1], [2, 3])", [1, 2, 3]),
    ("insert before([1, 3], 2, 2)", [1, 2, 3]),
    ("remove([1, 2, 3], 2)", [1, 3]),
    ("remove([1, 2, 3], 0)", None),
    ("reverse([1, 2, 3])", [3, 2, 1]),
    ("index of([1, 2, 1], 1)", [1, 3]),
    ("union([1, 2], [2, 3])", [1, 2, 3]),
    ("distinct values([1, 2, 1, 3])", [1, 2, 3]),
    ("duplicate values([1, 2, 1, 3, 2])", [1, 2]),
    ("flatten([1, [2, [3]]])", [1, 2, 3]),
    ("sort([3, 1, 2], function(a, b) a < b)", [1, 2, 3]),
    ("sort(list: [3, 1, 2], precedes: function(x, y) x > y)", [3, 2, 1]),
    ("sort([3, 1, 2])", None),
    ("is empty([])", True),
    ("is empty([1])", False),
    ("partition([1, 2, 3], 2)", [[1, 2], [3]]),
    ("partition([1, 2], 0)", None),
    # numeric
    ("decimal(1/3, 2)", D("0.33")),
    ("decimal(2.5, 0)", 2),
    ('decimal(2.5, 0, "half_up")', 3),
    ('decimal(2.55, 1, "UNNECESSARY")', None),
    ("floor(1.5)", 1),
    ("floor(-1.56, 1)", D("-1.6")),
    ("ceiling(1.2)", 2),
    ("ceiling(-1.56, 1)", D("-1.5")),
    ("round up(5.5, 0)", 6),
    ("round up(5.5)", None),
    ("round down(5.5, 0)", 5),
    ("round half up(-2.5, 0)", -3),
    ("round half down(2.5, 0)", 2),
    ("abs(-5)", 5),
    ("abs(n: -5)", 5),
    ("abs(number: -5)", 5),
    ('abs(@"-P1D")', dt.timedelta(days=1)),
    ("modulo(12, 5)", 2),
    ("modulo(-12, 5)", 3),
    ("modulo(12, -5)", -3),
    ("modulo(10.1, -4.5)", D("-3.4")),
    ("sqrt(16)", 4),
    ("sqrt(-1)", None),
    ("log(10)", D("2.302585092994046")),
    ("exp(1)", D("2.718281828459045")),
    ("odd(5)", True),
    ("odd(2.5)", False),
    ("even(4)", True),
    # context
    ("get entries({a: 1})", [{"key": "a", "value": 1}]),
    ('get value({a: 1}, "a")', 1),
    ('get value({a: {b: 2}}, ["a", "b"])', 2),
    ('get value({a: 1}, "b")', None),
    ('context put({a: 1}, "b", 2)', {"a": 1, "b": 2}),
    ('context put({a: 1, b: 2}, "a", 3)', {"a": 3, "b": 2}),
    ('context put({a: {b: 1}}, ["a", "c"], 2)', {"a": {"b": 1, "c": 2}}),
    ('put({a: 1}, "b", 2)', {"a": 1, "b": 2}),
    ("context merge([{a: 1}, {a: 2, b: 3}])", {"a": 2, "b": 3}),
    ("put all({a: 1}, {b: 2})", {"a": 1, "b": 2}),
    # temporal
    ('day of year(@"2019-09-17")', 260),
    ('day of week(@"2019-09-17")', "Tuesday"),
    ('month of year(@"2019-09-17")', "September"),
    ('week of year(@"2019-09-17")', 38),
    ('last day of month(@"2024-02-10")', dt.date(2024, 2, 29)),
    # ranges
    ("before(1, 10)", True),
    ("before([1..5], 10)", True),
    ("before(1, [2..5])", True),
    ("after(10, [1..5])", True),
    ("meets([1..5], [5..10])", True),
    ("met by([5..10], [1..5])", True),
    ("overlaps([1..5], [3..8])", True),
    ("overlaps((5..8], [1..5])", False),
    ("overlaps before([1..5], [3..8])", True),
    ("overlaps after([3..8], [1..5])", True),
    ("finishes(5, [1..5])", True),
    ("finished by([1..5], 5)", True),
    ("includes([1..10], 5)", True),
    ("during(5, [1..10])", True),
    ("starts(1, [1..5])", True),
    ("started by([1..5], 1)", True),
    ("coincides([1..5], [1..5])", True),
    ('before(1, "a")', None),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_builtin(expression: str, expected: object) -> None:
    assert evaluate(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["assert(1, false)", 'assert(1, 1 > 2, "too small")', "modulo(1, 0)", 'substring("abc", 5)'],
)
def test_failures_raise(expression: str) -> None:
    with pytest.raises(FeelEvaluationError):
        evaluate(expression)


def test_random_number_and_uuid() -> None:
    n = evaluate("random number()")
    assert 0 <= n < 1
    u = evaluate("uuid()")
    assert len(u) == 36 and u[14] == "7"


@pytest.mark.parametrize(
    "name",
    [
        "not", "is defined", "get or else", "assert", "substring", "string length",
        "upper case", "lower case", "substring before", "substring after", "contains",
        "starts with", "ends with", "matches", "replace", "split", "extract", "trim",
        "is blank", "uuid", "to base64", "from base64", "string join", "list contains",
        "count", "min", "max", "sum", "product", "mean", "median", "stddev", "mode", "all",
        "and", "any", "or", "sublist", "append", "concatenate", "insert before", "remove",
        "reverse", "index of", "union", "distinct values", "duplicate values", "flatten",
        "sort", "is empty", "partition", "decimal", "floor", "ceiling", "round up",
        "round down", "round half up", "round half down", "abs", "modulo", "sqrt", "log",
        "exp", "odd", "even", "random number", "get entries", "get value", "context put",
        "put", "context merge", "put all", "context", "date", "time", "date and time",
        "duration", "years and months duration", "number", "string", "now", "today",
        "day of year", "day of week", "month of year", "week of year", "last day of month",
        "before", "after", "meets", "met by", "overlaps", "overlaps before", "overlaps after",
        "finishes", "finished by", "includes", "during", "starts", "started by", "coincides",
        "from json", "to json",
    ],
)  # fmt: skip
def test_camunda_builtins_are_registered(name: str) -> None:
    assert name in BUILTINS

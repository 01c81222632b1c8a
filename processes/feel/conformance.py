"""Conformance runner for FEEL test data in JSON Lines (see ../shared/conformance/feel/README.md).

Usage::

    python -m processes.feel.conformance FILE.jsonl [FILE.jsonl ...] [--failures] [--markdown]

Prints pass rates per file and per category, split into cases that expect a value and cases that
expect null. ``--failures`` lists the failing ids with expression, expected and actual values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from processes.feel.api import evaluate
from processes.feel.errors import FeelError, FeelEvaluationError
from processes.feel.temporal import (
    parse_date,
    parse_datetime,
    parse_dt_duration,
    parse_time,
    parse_ym_duration,
)
from processes.feel.values import YearMonthDuration, time_key

_MISSING = object()


def decode(value: Any) -> Any:
    """Decode the record encoding (tagged temporals) into Python values."""
    if isinstance(value, dict):
        if set(value) == {"@type", "value"}:
            return _decode_temporal(value["@type"], value["value"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _decode_temporal(type_: str, text: str) -> Any:
    parsed: Any
    if type_ == "date":
        parsed = parse_date(text)
    elif type_ == "time":
        parsed = parse_time(text)
    elif type_ == "date and time":
        parsed = parse_datetime(text)
    elif type_ == "days and time duration":
        parsed = parse_dt_duration(text)
    elif type_ == "years and months duration":
        parsed = parse_ym_duration(text)
    else:
        parsed = None
    return _Unparsable(type_, text) if parsed is None else parsed


@dataclass(frozen=True)
class _Unparsable:
    """A temporal value outside what Python's datetime can represent."""

    type: str
    text: str


def _decimals(n: Any) -> int:
    exponent = Decimal(n).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def same(actual: Any, expected: Any, rounded: bool = False) -> bool:
    """Compare by value: numbers numerically, temporals by value, collections recursively."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, Decimal)):
        if not isinstance(actual, (int, Decimal)):
            return False
        if rounded:
            places = _decimals(expected)
            return round(Decimal(actual), places) == Decimal(expected)
        return Decimal(actual) == Decimal(expected)
    if isinstance(expected, str):
        return actual == expected
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e, rounded) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same(actual[k], v, rounded) for k, v in expected.items())
        )
    if isinstance(expected, dt.datetime):
        if type(actual) is not dt.datetime:
            return False
        if (actual.tzinfo is None) != (expected.tzinfo is None):
            return False
        return actual == expected
    if isinstance(expected, dt.date):
        return type(actual) is dt.date and actual == expected
    if isinstance(expected, dt.time):
        if type(actual) is not dt.time or (actual.tzinfo is None) != (expected.tzinfo is None):
            return False
        return time_key(actual) == time_key(expected)
    if isinstance(expected, (dt.timedelta, YearMonthDuration)):
        return type(actual) is type(expected) and actual == expected
    return False


@dataclass
class Outcome:
    """One evaluated record."""

    id: str
    category: str
    expects_null: bool
    passed: bool
    expression: str
    expected: Any
    actual: Any


def category_of(record_id: str) -> str:
    """The category part of ``source:category:local``."""
    parts = record_id.split(":", 2)
    return parts[1] if len(parts) > 2 else "?"


def run_record(record: dict[str, Any]) -> Outcome:
    """Evaluate one record and compare with its expectation."""
    expected = decode(record["expected"])
    note = record.get("note", "") or ""
    rounded = "rounded" in note
    error_ok = "errorResult" in note
    variables = decode(record["context"])
    actual: Any = _MISSING
    try:
        actual = evaluate(record["expression"], variables)
        passed = same(actual, expected, rounded)
    except FeelEvaluationError as error:
        actual = f"<failure: {error}>"
        passed = expected is None and error_ok
    except FeelError as error:
        actual = f"<syntax error: {error}>"
        passed = False
    except Exception as error:
        actual = f"<crash: {type(error).__name__}: {error}>"
        passed = False
    return Outcome(
        record["id"],
        category_of(record["id"]),
        record["expected"] is None,
        passed,
        record["expression"],
        record["expected"],
        actual,
    )


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON Lines file (floats read as Decimal)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line, parse_float=Decimal)


def _rate(passed: int, total: int) -> str:
    if total == 0:
        return "-"
    return f"{passed}/{total} ({100 * passed / total:.1f}%)"


def summarize(outcomes: list[Outcome]) -> dict[str, list[int]]:
    """Category -> [value passed, value total, null passed, null total]."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for o in outcomes:
        row = table[o.category]
        offset = 2 if o.expects_null else 0
        row[offset + 1] += 1
        if o.passed:
            row[offset] += 1
    return dict(sorted(table.items()))


def _totals(table: dict[str, list[int]]) -> list[int]:
    return [sum(row[i] for row in table.values()) for i in range(4)]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--failures", action="store_true", help="list failing cases")
    parser.add_argument("--markdown", action="store_true", help="print the summary as markdown")
    parser.add_argument("--categories", action="store_true", help="show per-category rows")
    args = parser.parse_args(argv)

    summary_rows = []
    for path in args.paths:
        outcomes = [run_record(r) for r in read_records(path)]
        table = _summary = summarize(outcomes)
        totals = _totals(table)
        summary_rows.append((path.name, totals))
        if not args.markdown:
            print(f"== {path.name}: value {_rate(totals[0], totals[1])}, ", end="")
            print(f"null {_rate(totals[2], totals[3])}")
            for category, row in _summary.items():
                print(f"   {category:28s} value {_rate(row[0], row[1]):22s}", end="")
                print(f" null {_rate(row[2], row[3])}")
        if args.failures:
            for o in outcomes:
                if not o.passed:
                    expected = json.dumps(o.expected, default=str, ensure_ascii=False)
                    print(f"FAIL {o.id}\n     expr: {o.expression!r}")
                    print(f"     expected: {expected}\n     actual:   {o.actual!r}")
    if args.markdown:
        print("| file | value cases | null cases | all |")
        print("| --- | ---: | ---: | ---: |")
        for name, t in summary_rows:
            print(
                f"| {name} | {_rate(t[0], t[1])} | {_rate(t[2], t[3])} | "
                f"{_rate(t[0] + t[2], t[1] + t[3])} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

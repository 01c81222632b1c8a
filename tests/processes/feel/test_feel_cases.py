"""Case files in the conformance record format: our own cases, and the shared data if present."""

from __future__ import annotations

from pathlib import Path

import pytest

from processes.feel.conformance import read_records, run_record, same

CASES = Path(__file__).parent / "cases" / "orderly.jsonl"
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "feel"


@pytest.mark.parametrize("record", list(read_records(CASES)), ids=lambda r: r["id"])
def test_orderly_case(record: dict) -> None:
    outcome = run_record(record)
    assert outcome.passed, (
        f"{record['expression']!r}: expected {record['expected']!r}, got {outcome.actual!r}"
    )


def test_orderly_case_file_is_substantial() -> None:
    assert len(list(read_records(CASES))) >= 40


@pytest.mark.skipif(not (SHARED / "feel-scala.jsonl").exists(), reason="shared data not present")
def test_feel_scala_conformance_is_complete() -> None:
    failing = [
        r["id"] for r in read_records(SHARED / "feel-scala.jsonl") if not run_record(r).passed
    ]
    assert failing == []


def test_comparison_helper_is_strict() -> None:
    assert same(2, 2)
    assert not same(2, 3)
    assert not same(True, 1)
    assert not same([1, 2], [1])
    assert not same({"a": 1}, {"a": 1, "b": None})

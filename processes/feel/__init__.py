"""FEEL (Friendly Enough Expression Language) evaluator, Camunda 8 / feel-scala flavour.

Plain Python (no Django). Typical use::

    from processes import feel

    feel.evaluate("amount > 500", {"amount": 700})            # True
    expr = feel.compile_expression("count(items) > 2")       # cached by text
    expr.evaluate_detailed({"items": []})                     # EvalResult(value, warnings)

Numbers come back as ``int`` when integral, else ``decimal.Decimal``; temporals as ``datetime``
values; years-and-months durations as :class:`YearMonthDuration`. Runtime problems give ``None``
plus a warning; syntax errors raise :class:`FeelError`; failures such as a false ``assert`` raise
:class:`FeelEvaluationError`.
"""

from __future__ import annotations

from processes.feel.api import (
    CompiledExpression,
    EvalResult,
    check_syntax,
    compile_expression,
    evaluate,
    evaluate_detailed,
    evaluate_unary_tests,
)
from processes.feel.builtins.temporal import set_clock
from processes.feel.errors import FeelError, FeelEvaluationError, Warning
from processes.feel.tojson import to_json
from processes.feel.values import YearMonthDuration

__all__ = [
    "CompiledExpression",
    "EvalResult",
    "FeelError",
    "FeelEvaluationError",
    "Warning",
    "YearMonthDuration",
    "check_syntax",
    "compile_expression",
    "evaluate",
    "evaluate_detailed",
    "evaluate_unary_tests",
    "set_clock",
    "to_json",
]

"""Public entry points: parse (cached), evaluate, unary tests, JSON conversion."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lark import Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from processes.feel.compiler import Compiler
from processes.feel.errors import FeelError, Warning
from processes.feel.grammar import get_parser
from processes.feel.runtime import Scope, TopScope
from processes.feel.values import from_python, to_python

_EMPTY: Mapping[str, Any] = {}


@dataclass(slots=True)
class EvalResult:
    """A value plus the suppressed failures (warnings) recorded while computing it."""

    value: Any
    warnings: list[Warning] = field(default_factory=list)


def _syntax_error(expression: str, error: Exception) -> FeelError:
    position = getattr(error, "pos_in_stream", None)
    token = getattr(error, "token", None)
    at_end = isinstance(error, UnexpectedEOF) or (token is not None and token.type == "$END")
    if at_end or position is None:
        position = len(expression)
    line = expression.count("\n", 0, position) + 1
    column = position - (expression.rfind("\n", 0, position) + 1) + 1
    if isinstance(error, UnexpectedCharacters):
        what = f"unexpected character {expression[position : position + 1]!r}"
    elif at_end:
        what = "unexpected end of expression"
    else:
        what = f"unexpected {str(token)!r}"
    message = f"failed to parse expression '{expression}': {what} at line {line}, column {column}"
    return FeelError(message, expression, position, line, column)


def _parse(expression: str, start: str) -> Tree:
    try:
        return get_parser().parse(expression, start=start)
    except UnexpectedInput as error:
        raise _syntax_error(expression, error) from None
    except LarkError as error:
        raise FeelError(f"failed to parse expression '{expression}': {error}", expression) from None


class CompiledExpression:
    """A parsed and compiled FEEL expression; evaluate it any number of times."""

    __slots__ = ("_fn", "text")

    def __init__(self, text: str, fn: Callable[[Scope], Any]) -> None:
        self.text = text
        self._fn = fn

    def evaluate(self, variables: Mapping[str, Any] | None = None) -> Any:
        """The result as a Python value (warnings are discarded)."""
        if variables:
            alt = _variant_for(self.text, variables)
            if alt is not None:
                return alt.evaluate(variables)
        scope = TopScope(variables or _EMPTY, None, [])
        return to_python(self._fn(scope))

    def evaluate_detailed(self, variables: Mapping[str, Any] | None = None) -> EvalResult:
        """The result plus the warnings of this evaluation."""
        if variables:
            alt = _variant_for(self.text, variables)
            if alt is not None:
                return alt.evaluate_detailed(variables)
        warnings: list[Warning] = []
        scope = TopScope(variables or _EMPTY, None, warnings)
        return EvalResult(to_python(self._fn(scope)), warnings)

    def evaluate_raw(self, variables: Mapping[str, Any] | None = None) -> EvalResult:
        """Like :meth:`evaluate_detailed` but keeps internal values (numbers stay Decimal)."""
        warnings: list[Warning] = []
        scope = TopScope(variables or _EMPTY, None, warnings)
        return EvalResult(self._fn(scope), warnings)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.text!r})"


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CompiledExpression:
    """Parse and compile ``expression`` (no leading ``=``); cached by text."""
    tree = _parse(expression, "start")
    fn = Compiler(expression).compile(tree)
    return CompiledExpression(expression, fn)


def check_syntax(expression: str) -> None:
    """Raise :class:`FeelError` (with position) if ``expression`` does not parse."""
    compile_expression(expression)


# --- names that the grammar can't read (operators, keywords) ---------------------------------

_PLAIN_NAME = re.compile(r"[^\W\d][\w$]*(?: [\w$]+)*")
_KEYWORDS = {
    "and",
    "or",
    "in",
    "if",
    "then",
    "else",
    "for",
    "return",
    "some",
    "every",
    "satisfies",
    "between",
    "instance",
    "function",
    "null",
    "true",
    "false",
}


@lru_cache(maxsize=4096)
def _needs_quoting(name: str) -> bool:
    if not _PLAIN_NAME.fullmatch(name):
        return True
    return any(word in _KEYWORDS for word in name.split(" "))


_SEGMENT = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`', re.S)


def _quote_name(expression: str, name: str) -> str:
    pattern = re.compile(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])")
    out, last = [], 0
    for m in _SEGMENT.finditer(expression):
        out.append(
            pattern.sub("`" + name.replace("\\", "\\\\") + "`", expression[last : m.start()])
        )
        out.append(m.group(0))
        last = m.end()
    out.append(pattern.sub(lambda _m: "`" + name + "`", expression[last:]))
    return "".join(out)


def _variant_for(expression: str, variables: Mapping[str, Any]) -> CompiledExpression | None:
    """A compiled variant with backtick-quoted variable names the grammar can't read as is."""
    special = [k for k in variables if k in expression and _needs_quoting(k)]
    if not special:
        return None
    text = expression
    for name in sorted(special, key=len, reverse=True):
        if "`" in name:
            continue
        text = _quote_name(text, name)
    if text == expression:
        return None
    try:
        return compile_expression(text)
    except FeelError:
        return None


def _compiled_for(expression: str, variables: Mapping[str, Any] | None) -> CompiledExpression:
    if variables:
        alt = _variant_for(expression, variables)
        if alt is not None:
            return alt
    return compile_expression(expression)


def evaluate(expression: str, variables: Mapping[str, Any] | None = None) -> Any:
    """Evaluate a FEEL expression; runtime problems give None (see :func:`evaluate_detailed`)."""
    return _compiled_for(expression, variables).evaluate(variables)


def evaluate_detailed(expression: str, variables: Mapping[str, Any] | None = None) -> EvalResult:
    """Evaluate and return the value together with the warnings."""
    return _compiled_for(expression, variables).evaluate_detailed(variables)


# --- unary tests ---------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _compile_unary_tests(tests: str) -> Callable[[Scope, Any], Any]:
    stripped = tests.strip()
    if stripped == "-":
        return lambda s, v: True
    m = re.fullmatch(r"not\s*\((.*)\)", stripped, re.S)
    if m:
        try:
            inner = _compile_unary_tests(m.group(1))
        except FeelError:
            inner = None
        if inner is not None:

            def negated(s: Scope, v: Any) -> Any:
                r = inner(s, v)
                return None if r is None else not r

            return negated
    tree = _parse(stripped, "unary_tests")
    compiler = Compiler(stripped)
    parts = [compiler.compile_test(c) for c in tree.children]

    def any_test(s: Scope, v: Any) -> Any:
        unknown = False
        for t in parts:
            r = t(s, v)
            if r is True:
                return True
            if r is not False:
                unknown = True
        return None if unknown else False

    return any_test


def evaluate_unary_tests(
    tests: str, input_value: Any, variables: Mapping[str, Any] | None = None
) -> bool | None:
    """Whether ``input_value`` satisfies unary tests (``< 5, [10..20]``, ``-``, ``not(...)``)."""
    test = _compile_unary_tests(tests)
    value = from_python(input_value)
    scope = TopScope(dict(variables or {}), None, [])
    inner = scope.child({"?": value})
    return test(inner, value)

"""Compile a Lark parse tree into nested Python closures ``f(scope) -> value``.

Compiling once and calling closures avoids walking the tree on every evaluation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from lark import Token, Tree

from processes.feel import ops
from processes.feel.builtins import BUILTINS, invoke
from processes.feel.errors import FeelError
from processes.feel.runtime import MISSING, ItemScope, Scope
from processes.feel.temporal import parse_at_literal
from processes.feel.types import type_check
from processes.feel.values import (
    FeelFunction,
    Range,
    UnaryTest,
    feel_compare,
    feel_equal,
    feel_string,
    kind,
)

Fn = Callable[[Scope], Any]

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{6}|.)", re.S)


def unescape(body: str) -> str:
    """Translate FEEL string escapes; unknown sequences stay verbatim (``"\\d"``)."""
    if "\\" not in body:
        return body

    def repl(m: re.Match[str]) -> str:
        seq = m.group(1)
        if seq[0] in "uU" and len(seq) > 1:
            code = int(seq[1:], 16)
            try:
                return chr(code)
            except ValueError:
                return m.group(0)
        return _ESCAPES.get(seq, m.group(0))

    text = _ESCAPE_RE.sub(repl, body)
    # Join UTF-16 surrogate pairs written as two \u escapes.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _describe(v: Any) -> str:
    text = feel_string(v, True)
    return "null" if text is None else text


class Compiler:
    """Turns one parse tree into a closure; ``source`` is used to slice names and keys."""

    def __init__(self, source: str) -> None:
        self.source = source

    # --- helpers --------------------------------------------------------------------------

    def name_of(self, node: Tree | Token) -> str:
        """The FEEL name a ``name`` node denotes."""
        if isinstance(node, Token):
            return str(node)
        if node.data == "words":
            return " ".join(str(t) for t in node.children)
        if node.data == "bname":
            return str(node.children[0])[1:-1]
        if node.data == "special_name":
            return re.sub(r"\s+", " ", str(node.children[0]))
        raise FeelError(f"unexpected name node {node.data}", self.source)

    def compile(self, node: Tree | Token) -> Fn:
        """Compile any expression node."""
        if isinstance(node, Token):
            raise FeelError(f"unexpected token {node!r}", self.source)
        method = getattr(self, "c_" + node.data, None)
        if method is None:
            raise FeelError(f"unsupported construct {node.data}", self.source)
        return method(node)

    # --- literals -------------------------------------------------------------------------

    def c_number(self, node: Tree) -> Fn:
        text = str(node.children[0])
        value: Any = int(text) if "." not in text else Decimal(text)
        return lambda s: value

    def c_string(self, node: Tree) -> Fn:
        value = unescape(str(node.children[0])[1:-1])
        return lambda s: value

    def c_true(self, node: Tree) -> Fn:
        return lambda s: True

    def c_false(self, node: Tree) -> Fn:
        return lambda s: False

    def c_null(self, node: Tree) -> Fn:
        return lambda s: None

    def c_at_literal(self, node: Tree) -> Fn:
        value = parse_at_literal(unescape(str(node.children[0])[1:-1]))
        return lambda s: value

    def c_empty_list(self, node: Tree) -> Fn:
        return lambda s: []

    def c_list(self, node: Tree) -> Fn:
        items = [self.compile(c) for c in node.children]
        return lambda s: [f(s) for f in items]

    def c_context(self, node: Tree) -> Fn:
        entries: list[tuple[str, Fn]] = []
        for entry in node.children:
            if entry is None:
                continue
            key_node, value_node = entry.children
            entries.append((self.key_of(key_node), self.compile(value_node)))

        def context(s: Scope) -> Any:
            result: dict[str, Any] = {}
            inner = s.child(result)
            for key, f in entries:
                result[key] = f(inner)
            return result

        return context

    def key_of(self, node: Tree) -> str:
        if node.data == "string_key":
            return unescape(str(node.children[0])[1:-1])
        parts = node.children
        if len(parts) == 1 and isinstance(parts[0], Token) and parts[0].type == "BNAME":
            return str(parts[0])[1:-1]
        start = parts[0].start_pos  # type: ignore[union-attr]
        end = parts[-1].end_pos  # type: ignore[union-attr]
        return self.source[start:end].strip()

    # --- names ----------------------------------------------------------------------------

    def c_var(self, node: Tree) -> Fn:
        name = self.name_of(node.children[0])

        def var(s: Scope) -> Any:
            value = s.lookup(name)
            if value is MISSING:
                s.warn("NO_VARIABLE_FOUND", f"No variable found with name '{name}'")
                return None
            return value

        return var

    def c_input_value(self, node: Tree) -> Fn:
        def input_value(s: Scope) -> Any:
            value = s.lookup("?")
            if value is MISSING:
                from processes.feel.errors import FeelEvaluationError

                raise FeelEvaluationError(
                    "failed to evaluate expression: '?' is only allowed in unary tests",
                    self.source,
                )
            return value

        return input_value

    # --- control flow ---------------------------------------------------------------------

    def c_if_expr(self, node: Tree) -> Fn:
        cond, then, other = (self.compile(c) for c in node.children)
        return lambda s: then(s) if cond(s) is True else other(s)

    def _iterations(self, nodes: list[Tree]) -> list[tuple[str, Fn]]:
        result = []
        for it in nodes:
            name = self.name_of(it.children[0])
            start = self.compile(it.children[1])
            if len(it.children) > 2 and it.children[2] is not None:
                end = self.compile(it.children[2])
                result.append((name, _range_source(start, end)))
            else:
                result.append((name, start))
        return result

    def c_for_expr(self, node: Tree) -> Fn:
        iterations = self._iterations(node.children[:-1])
        body = self.compile(node.children[-1])
        depth = len(iterations)

        def for_expr(s: Scope) -> Any:
            results: list[Any] = []
            frame: dict[str, Any] = {"partial": results}
            inner = s.child(frame)

            def loop(level: int) -> None:
                name, source = iterations[level]
                values = source(inner)
                if type(values) is not list:
                    raise _NotAList(values)
                last = level == depth - 1
                for v in values:
                    frame[name] = v
                    if last:
                        results.append(body(inner))
                    else:
                        loop(level + 1)

            try:
                loop(0)
            except _NotAList as error:
                s.warn("INVALID_TYPE", f"Expected list but found '{_describe(error.value)}'")
                return None
            return results

        return for_expr

    def c_quant_expr(self, node: Tree) -> Fn:
        is_some = str(node.children[0]) == "some"
        iterations = self._iterations(node.children[1:-1])
        cond = self.compile(node.children[-1])
        depth = len(iterations)

        def quantified(s: Scope) -> Any:
            frame: dict[str, Any] = {}
            inner = s.child(frame)
            outcomes: list[Any] = []

            def loop(level: int) -> bool:
                name, source = iterations[level]
                values = source(inner)
                if type(values) is not list:
                    raise _NotAList(values)
                for v in values:
                    frame[name] = v
                    if level == depth - 1:
                        r = cond(inner)
                        if r is is_some:
                            return True
                        outcomes.append(r)
                    elif loop(level + 1):
                        return True
                return False

            try:
                if loop(0):
                    return is_some
            except _NotAList as error:
                s.warn("INVALID_TYPE", f"Expected list but found '{_describe(error.value)}'")
                return None
            for r in outcomes:
                if type(r) is not bool:
                    return None
            return not is_some

        return quantified

    def c_function_def(self, node: Tree) -> Fn:
        params = tuple(self.name_of(p.children[0]) for p in node.children[:-1] if p is not None)
        body = self.compile(node.children[-1])

        def function_def(s: Scope) -> Any:
            def impl(*args: Any) -> Any:
                return body(s.child(dict(zip(params, args, strict=False))))

            return FeelFunction("anonymous", params, impl)

        return function_def

    # --- logic and comparison -------------------------------------------------------------

    def c_or_(self, node: Tree) -> Fn:
        left, right = (self.compile(c) for c in node.children)

        def or_(s: Scope) -> Any:
            a = left(s)
            if a is True:
                return True
            b = right(s)
            if b is True:
                return True
            if a is False and b is False:
                return False
            return None

        return or_

    def c_and_(self, node: Tree) -> Fn:
        left, right = (self.compile(c) for c in node.children)

        def and_(s: Scope) -> Any:
            a = left(s)
            if a is False:
                return False
            b = right(s)
            if b is False:
                return False
            if a is True and b is True:
                return True
            return None

        return and_

    def c_compare(self, node: Tree) -> Fn:
        left = self.compile(node.children[0])
        op = str(node.children[1])
        right = self.compile(node.children[2])
        return make_comparison(op, left, right)

    def c_between(self, node: Tree) -> Fn:
        value, low, high = (self.compile(c) for c in node.children)

        def between(s: Scope) -> Any:
            v, lo, hi = value(s), low(s), high(s)
            a = feel_compare(v, lo)
            b = feel_compare(v, hi)
            first = None if a is None else a >= 0
            second = None if b is None else b <= 0
            if first is False or second is False:
                return False
            if first is None or second is None:
                s.warn("NOT_COMPARABLE", f"Can't compare '{_describe(v)}' with the bounds")
                return None
            return True

        return between

    def c_instance_of(self, node: Tree) -> Fn:
        value = self.compile(node.children[0])
        type_text = re.sub(r"\s+", " ", str(node.children[2]))
        check = type_check(type_text)
        return lambda s: check(value(s))

    def c_in_(self, node: Tree) -> Fn:
        value = self.compile(node.children[0])
        test = self.compile_test(node.children[1])

        def in_(s: Scope) -> Any:
            return test(s, value(s))

        return in_

    # --- unary tests ----------------------------------------------------------------------

    def compile_test(self, node: Tree) -> Callable[[Scope, Any], Any]:
        """Compile a unary test: ``f(scope, input) -> bool | None``."""
        if node.data == "test_list":
            tests = [self.compile_test(c) for c in node.children]
            return _any_test(tests)
        if node.data == "cmp_test":
            op = str(node.children[0])
            operand = self.compile(node.children[1])
            compare = _COMPARATORS[op]

            def cmp_test(s: Scope, v: Any) -> Any:
                return compare(s, v, operand(s))

            return cmp_test
        expression = self.compile(node)
        if node.data in ("closed_interval", "open_interval"):

            def interval_test(s: Scope, v: Any) -> Any:
                r = expression(s)
                return None if r is None else range_contains(r, v)

            return interval_test
        uses_input = _uses_input(node)

        def expression_test(s: Scope, v: Any) -> Any:
            if uses_input:
                r = expression(s.child({"?": v}))
                return r if type(r) is bool else None
            return apply_test_value(s, v, expression(s))

        return expression_test

    def c_test_list(self, node: Tree) -> Fn:
        tests = [self.compile(c) for c in node.children]
        return lambda s: [f(s) for f in tests]

    def c_cmp_test(self, node: Tree) -> Fn:
        op = str(node.children[0])
        operand = self.compile(node.children[1])
        return lambda s: UnaryTest(op, operand(s))

    def c_closed_interval(self, node: Tree) -> Fn:
        return self._interval(node, True)

    def c_open_interval(self, node: Tree) -> Fn:
        return self._interval(node, False)

    def _interval(self, node: Tree, start_included: bool) -> Fn:
        low = self.compile(node.children[0])
        high = self.compile(node.children[1])
        end_included = node.children[2].data == "closed"

        def interval(s: Scope) -> Any:
            a, b = low(s), high(s)
            if a is None or b is None or kind(a) != kind(b):
                s.warn(
                    "INVALID_TYPE", f"Invalid range endpoints '{_describe(a)}'..'{_describe(b)}'"
                )
                return None
            return Range(a, b, start_included, end_included)

        return interval

    # --- arithmetic -----------------------------------------------------------------------

    def c_arith(self, node: Tree) -> Fn:
        left = self.compile(node.children[0])
        op = str(node.children[1])
        right = self.compile(node.children[2])
        if op == "+":
            add = ops.add

            def plus(s: Scope) -> Any:
                a = left(s)
                b = right(s)
                if type(a) is int and type(b) is int:
                    return a + b
                return add(s, a, b)

            return plus
        if op == "-":
            sub = ops.sub

            def minus(s: Scope) -> Any:
                a = left(s)
                b = right(s)
                if type(a) is int and type(b) is int:
                    return a - b
                return sub(s, a, b)

            return minus
        impl = {"*": ops.mul, "/": ops.div, "**": ops.power, "^": ops.power}[op]
        return lambda s: impl(s, left(s), right(s))

    def c_neg(self, node: Tree) -> Fn:
        operand = self.compile(node.children[0])
        neg = ops.neg
        return lambda s: neg(s, operand(s))

    # --- postfix --------------------------------------------------------------------------

    def c_path(self, node: Tree) -> Fn:
        base = self.compile(node.children[0])
        name = self.name_of(node.children[1])

        def path(s: Scope) -> Any:
            v = base(s)
            if type(v) is dict:
                r = v.get(name, MISSING)
                if r is MISSING:
                    s.warn(
                        "NO_CONTEXT_ENTRY_FOUND",
                        f"No context entry found with key '{name}'. Available keys: "
                        + ", ".join(f"'{k}'" for k in v),
                    )
                    return None
                return r
            if type(v) is list:
                return [_project(item, name) for item in v]
            if v is None:
                s.warn("NO_CONTEXT_ENTRY_FOUND", "The context is null")
                return None
            r = ops.property_of(v, name)
            if r is MISSING:
                s.warn("NO_PROPERTY_FOUND", f"No property found with name '{name}'")
                return None
            return r

        return path

    def c_filter(self, node: Tree) -> Fn:
        base = self.compile(node.children[0])
        cond_node = node.children[1]
        cond = self.compile(cond_node)
        mode = _filter_mode(cond_node)

        def run_filter(s: Scope, items: list[Any]) -> list[Any]:
            out = []
            for item in items:
                if cond(ItemScope(item, s)) is True:
                    out.append(item)
            return out

        def filter_(s: Scope) -> Any:
            v = base(s)
            if type(v) is not list:
                if v is None:
                    return None
                s.warn("INVALID_TYPE", f"Expected list but found '{_describe(v)}'")
                return None
            if mode == "filter":
                return run_filter(s, v)
            if mode == "index":
                return _index(v, cond(s))
            mark = len(s.warnings)
            probe = cond(s)
            del s.warnings[mark:]
            if type(probe) is int or type(probe) is Decimal:
                return _index(v, probe)
            return run_filter(s, v)

        return filter_

    def c_call(self, node: Tree) -> Fn:
        callee = node.children[0]
        args_node = node.children[1]
        positional: list[Fn] | None = []
        named: dict[str, Fn] | None = None
        if args_node is not None:
            if args_node.data == "positional_args":
                positional = [self.compile(c) for c in args_node.children]
            else:
                positional = None
                named = {
                    self.name_of(a.children[0]): self.compile(a.children[1])
                    for a in args_node.children
                }
        if callee.data == "var":
            name = self.name_of(callee.children[0])
            special = _SPECIAL_CALLS.get(name)
            if special is not None and positional is not None:
                result = special(self, positional)
                if result is not None:
                    return result
            overloads = BUILTINS.get(name)

            def call_named(s: Scope) -> Any:
                fn = s.lookup(name)
                if type(fn) is FeelFunction:
                    return _call_value(s, fn, positional, named)
                if overloads is None:
                    s.warn(
                        "NO_FUNCTION_FOUND",
                        f"No function found with name '{name}' and "
                        f"{len(positional or named or ())} parameters",
                    )
                    return None
                if positional is not None:
                    return invoke(s, name, overloads, [f(s) for f in positional], None)
                return invoke(s, name, overloads, None, {k: f(s) for k, f in (named or {}).items()})

            if overloads is not None and positional is not None:
                # Fast path: resolve the built-in overload once.
                arity = len(positional)
                chosen = [
                    fn
                    for fn in overloads
                    if len(fn.params) == arity or (fn.varargs and len(fn.params) <= arity + 1)
                ]

                def call_builtin(s: Scope) -> Any:
                    local = s.lookup(name) if type(s) is not _TOP else MISSING
                    if type(local) is FeelFunction:
                        return _call_value(s, local, positional, None)
                    return invoke(s, name, chosen or overloads, [f(s) for f in positional], None)

                return call_builtin
            return call_named
        target = self.compile(callee)

        def call_value(s: Scope) -> Any:
            fn = target(s)
            if type(fn) is not FeelFunction:
                s.warn("NO_FUNCTION_FOUND", f"Expected a function but found '{_describe(fn)}'")
                return None
            return _call_value(s, fn, positional, named)

        return call_value


# --- helpers used by compiled closures -------------------------------------------------------


class _NotAList(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


from processes.feel.runtime import TopScope as _TOP  # noqa: E402


def _call_value(
    s: Scope, fn: FeelFunction, positional: list[Fn] | None, named: dict[str, Fn] | None
) -> Any:
    if positional is not None:
        return invoke(s, fn.name, [fn], [f(s) for f in positional], None)
    assert named is not None
    return invoke(s, fn.name, [fn], None, {k: f(s) for k, f in named.items()})


def _project(item: Any, name: str) -> Any:
    if type(item) is dict:
        return item.get(name)
    if item is None:
        return None
    r = ops.property_of(item, name)
    return None if r is MISSING else r


def _index(items: list[Any], index: Any) -> Any:
    if type(index) is not int:
        if type(index) is Decimal and index == int(index):
            index = int(index)
        else:
            return None
    n = len(items)
    if 1 <= index <= n:
        return items[index - 1]
    if -n <= index <= -1:
        return items[index]
    return None


_FILTER_NODES = {
    "compare",
    "between",
    "in_",
    "instance_of",
    "and_",
    "or_",
    "call",
    "true",
    "false",
    "quant_expr",
}


def _filter_mode(node: Tree) -> str:
    if node.data == "number" or (node.data == "neg" and node.children[0].data == "number"):
        return "index"
    if node.data in _FILTER_NODES:
        return "filter"
    return "probe"


def _uses_input(node: Tree | Token | None) -> bool:
    if not isinstance(node, Tree):
        return False
    if node.data == "input_value":
        return True
    return any(_uses_input(c) for c in node.children)


def _range_source(start: Fn, end: Fn) -> Fn:
    def numbers(s: Scope) -> Any:
        a, b = start(s), end(s)
        if type(a) is Decimal and a == int(a):
            a = int(a)
        if type(b) is Decimal and b == int(b):
            b = int(b)
        if type(a) is int and type(b) is int:
            step = 1 if b >= a else -1
            return list(range(a, b + step, step))
        if type(a) is dt.date and type(b) is dt.date:
            step = 1 if b >= a else -1
            days = (b - a).days
            return [a + dt.timedelta(days=i * step) for i in range(abs(days) + 1)]
        return None

    return numbers


def _cmp(op: str) -> Callable[[Scope, Any, Any], Any]:
    if op == "=":

        def eq(s: Scope, a: Any, b: Any) -> Any:
            r = feel_equal(a, b)
            if r is None:
                s.warn("NOT_COMPARABLE", f"Can't compare '{_describe(a)}' with '{_describe(b)}'")
            return r

        return eq
    if op == "!=":

        def ne(s: Scope, a: Any, b: Any) -> Any:
            r = feel_equal(a, b)
            if r is None:
                s.warn("NOT_COMPARABLE", f"Can't compare '{_describe(a)}' with '{_describe(b)}'")
                return None
            return not r

        return ne
    check = {
        "<": lambda c: c < 0,
        "<=": lambda c: c <= 0,
        ">": lambda c: c > 0,
        ">=": lambda c: c >= 0,
    }[op]

    def ordering(s: Scope, a: Any, b: Any) -> Any:
        c = feel_compare(a, b)
        if c is None:
            s.warn("NOT_COMPARABLE", f"Can't compare '{_describe(a)}' with '{_describe(b)}'")
            return None
        return check(c)

    return ordering


_COMPARATORS = {op: _cmp(op) for op in ("=", "!=", "<", "<=", ">", ">=")}


def make_comparison(op: str, left: Fn, right: Fn) -> Fn:
    """A closure for ``left op right`` with fast paths for numbers and strings."""
    slow = _COMPARATORS[op]
    if op == "=":

        def eq(s: Scope) -> Any:
            a = left(s)
            b = right(s)
            ta = type(a)
            if ta is type(b) and (ta is int or ta is str or ta is bool):
                return a == b
            return slow(s, a, b)

        return eq
    if op == "!=":

        def ne(s: Scope) -> Any:
            a = left(s)
            b = right(s)
            ta = type(a)
            if ta is type(b) and (ta is int or ta is str or ta is bool):
                return a != b
            return slow(s, a, b)

        return ne
    import operator

    fast = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]

    def ordering(s: Scope) -> Any:
        a = left(s)
        b = right(s)
        ta, tb = type(a), type(b)
        if (ta is int or ta is Decimal) and (tb is int or tb is Decimal):
            return fast(a, b)
        return slow(s, a, b)

    return ordering


def _any_test(tests: list[Callable[[Scope, Any], Any]]) -> Callable[[Scope, Any], Any]:
    def any_test(s: Scope, v: Any) -> Any:
        unknown = False
        for t in tests:
            r = t(s, v)
            if r is True:
                return True
            if r is not False:
                unknown = True
        return None if unknown else False

    return any_test


def apply_test_value(s: Scope, v: Any, test: Any) -> Any:
    """Apply an evaluated expression test (value, list, range or comparison) to ``v``."""
    t = type(test)
    if t is Range:
        return range_contains(test, v)
    if t is UnaryTest:
        return _COMPARATORS[test.op](s, v, test.value)
    if t is FeelFunction:
        return None
    if test is True and type(v) is not bool:
        return True
    if t is list:
        for x in test:
            if type(x) in (Range, UnaryTest):
                if apply_test_value(s, v, x) is True:
                    return True
            elif feel_equal(v, x) is True:
                return True
        if type(v) is list:
            r = feel_equal(v, test)
            return r
        if v is None:
            return None
        return False
    if v is None and test is not None:
        return None
    r = feel_equal(v, test)
    return r


def range_contains(r: Range, v: Any) -> Any:
    """Membership of ``v`` in a range (None when not comparable)."""
    if v is None:
        return None
    if r.start is not None:
        c = feel_compare(v, r.start)
        if c is None:
            return None
        if c < 0 or (c == 0 and not r.start_included):
            return False
    if r.end is not None:
        c = feel_compare(v, r.end)
        if c is None:
            return None
        if c > 0 or (c == 0 and not r.end_included):
            return False
    return True


# --- special calls ---------------------------------------------------------------------------


def _is_defined(compiler: Compiler, args: list[Fn]) -> Fn | None:
    if len(args) != 1:
        return None
    arg = args[0]

    def is_defined(s: Scope) -> Any:
        mark = len(s.warnings)
        v = arg(s)
        del s.warnings[mark:]
        return v is not None

    return is_defined


_SPECIAL_CALLS: dict[str, Callable[[Compiler, list[Fn]], Fn | None]] = {
    "is defined": _is_defined,
}

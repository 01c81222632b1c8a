"""The FEEL grammar (Lark, LALR) and the shared parser instance.

Precedence follows feel-scala (loosest first): if/for/quantified/function definitions, ``or``,
``and``, comparisons (non-associative, incl. ``between``, ``in``, ``instance of``), ``+ -``,
``* /``, ``**`` (left associative), unary minus, postfix chains (path, filter, call), primaries.

Names are sequences of words (``Monthly Salary``); the compiler joins the words with one space.
A few built-in names that contain keywords (``date and time``, ``get or else``, ...) are lexed as
single tokens.
"""

from __future__ import annotations

from lark import Lark

# FEEL whitespace (DMN 1.5 rules 61-62).
_WS = (
    r"[\u0009-\u000D\u0020\u0085\u00A0\u1680\u180E\u2000-\u200B"
    r"\u2028\u2029\u202F\u205F\u3000\uFEFF]+"
)
# Built-in names and type names that contain keywords.
_SPECIAL = r"date\s+and\s+time|years\s+and\s+months\s+duration|days\s+and\s+time\s+duration"
# The type after ``instance of``: simple names, list<...>, context<...>, function<...> -> T.
_ANGLE = r"<(?:[^<>]|<(?:[^<>]|<[^<>]*>)*>)*>"
_TYPE = (
    r"(?:list|range|context|function)\s*"
    + _ANGLE
    + r"(?:\s*->\s*(?:[\w$]+(?:\s+and\s+[\w$]+)*(?:\s*<(?:[^<>]|<[^<>]*>)*>)?))?"
    + "|"
    + _SPECIAL
    + r"|[\w$]+"
)

GRAMMAR = (
    r"""
?start: expr

?expr: if_expr
     | for_expr
     | quant_expr
     | function_def
     | disj

if_expr: "if" expr "then" expr "else" expr
for_expr: "for" iteration ("," iteration)* "return" expr
iteration: name "in" sum (".." sum)?
quant_expr: QUANTIFIER iteration ("," iteration)* "satisfies" expr
function_def: "function" "(" [param ("," param)*] ")" expr
param: name (":" TYPE)?

?disj: disj "or" conj -> or_
     | conj
?conj: conj "and" comparison -> and_
     | comparison
?comparison: sum COMP_OP sum -> compare
     | sum "between" sum "and" sum -> between
     | sum INSTANCE_OF TYPE -> instance_of
     | sum "in" in_tests -> in_
     | sum

?in_tests: sum
        | "(" expr "," expr ("," expr)* ")" -> test_list

cmp_test: COMP_OP sum

?sum: sum ADD_OP product -> arith
    | product
?product: product MUL_OP power -> arith
    | power
?power: power POW_OP unary -> arith
    | unary
?unary: "-" unary -> neg
    | postfix

?postfix: postfix "." name -> path
    | postfix "[" expr "]" -> filter
    | postfix "(" [arguments] ")" -> call
    | primary

arguments: expr ("," expr)* -> positional_args
         | named_arg ("," named_arg)* -> named_args
named_arg: name ":" expr

?primary: NUMBER -> number
    | STRING -> string
    | "true" -> true
    | "false" -> false
    | "null" -> null
    | "?" -> input_value
    | "@" STRING -> at_literal
    | name -> var
    | EMPTY_LIST -> empty_list
    | "[" expr ("," expr)* "]" -> list
    | "{" [entry ("," entry)*] "}" -> context
    | "(" expr ")"
    | interval
    | cmp_test

interval: "[" sum ".." sum interval_end -> closed_interval
    | "(" sum ".." sum interval_end -> open_interval
    | "]" sum ".." sum interval_end -> open_interval
interval_end: "]" -> closed
    | ")" -> open
    | INTERVAL_OPEN_END -> open

entry: key ":" expr
key: STRING -> string_key
   | key_part+ -> text_key
?key_part: NAME | KEY_OTHER | BNAME | NUMBER | ADD_OP | MUL_OP | POW_OP | SPECIAL_NAME | QUANTIFIER
     | "?" | "in" | "and" | "or" | "if" | "for" | "then" | "else" | "return" | "between"
     | "satisfies" | "function" | "null" | "true" | "false" | "." | INSTANCE_OF

name: NAME+ -> words
    | BNAME -> bname
    | SPECIAL_NAME -> special_name


COMP_OP: "<=" | ">=" | "!=" | "=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
INTERVAL_OPEN_END.2: /\[(?=\s*($|[,)\]=!<>]|and\b|or\b|then\b|else\b|return\b|satisfies\b))/
KEY_OTHER: /[^\s"{}:,\[\]`()]+/
POW_OP: "**" | "^"
QUANTIFIER.2: /(some|every)(?![\w$])/
INSTANCE_OF.2: /instance\s+of(?![\w$])/
SPECIAL_NAME.2: /(__SPECIAL__|get\s+or\s+else)(?![\w$])/
EMPTY_LIST.3: /\[\s*\]/
TYPE.3: /__TYPE__/
NUMBER: /\d+(\.\d+)?|\.\d+/
STRING: /"(?:[^"\\]|\\.)*"/s
NAME: /(?!\d)[\w$\u00B7\u0300-\u036F\u203F-\u2040]+/
BNAME: /`[^`]*`/
COMMENT: /\/\/[^\n]*/ | /\/\*(.|\n)*?\*\//
WS: /__WS__/
%ignore WS
%ignore COMMENT
""".replace("__WS__", _WS)
    .replace("__SPECIAL__", _SPECIAL)
    .replace("__TYPE__", _TYPE)
)

_START = ["start", "unary_tests"]

UNARY_TESTS_GRAMMAR = r"""
unary_tests: expr ("," expr)*
"""

_parser: Lark | None = None


def get_parser() -> Lark:
    """The shared LALR parser (built once, on first use)."""
    global _parser
    if _parser is None:
        _parser = Lark(
            GRAMMAR + UNARY_TESTS_GRAMMAR,
            parser="lalr",
            start=_START,
            propagate_positions=True,
            maybe_placeholders=True,
            cache=False,
        )
    return _parser

"""String built-ins (positions and lengths count UTF-16 code units, as Camunda does)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from processes.feel.builtins import builtin, integer, lst, text
from processes.feel.errors import FeelEvaluationError, InvalidArguments


def _utf16(s: str) -> bool:
    """True when the string has characters outside the BMP (UTF-16 differs from code points)."""
    return not s.isascii() and any(ord(c) > 0xFFFF for c in s)


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units."""
    if not _utf16(s):
        return len(s)
    return len(s.encode("utf-16-le")) // 2


@builtin("substring", "string, start position", "string, start position, length")
def substring(string: Any, start: Any, length: Any = None) -> Any:
    s = text(string)
    pos = integer(start)
    wide = _utf16(s)
    units = s.encode("utf-16-le", "surrogatepass") if wide else None
    n = len(units) // 2 if units is not None else len(s)
    if length is not None:
        ln = integer(length)
        if ln < 0:
            raise InvalidArguments()
    else:
        ln = None
    if pos == 0:
        return ""
    begin = pos - 1 if pos > 0 else n + pos
    if begin > n:
        raise FeelEvaluationError(f"substring: start position {pos} is out of range")
    begin = max(begin, 0)
    end = n if ln is None else min(n, begin + ln)
    if units is None:
        return s[begin:end]
    return units[begin * 2 : end * 2].decode("utf-16-le", "surrogatepass")


@builtin("string length", "string")
def string_length(string: Any) -> Any:
    return utf16_len(text(string))


@builtin("upper case", "string")
def upper_case(string: Any) -> Any:
    return text(string).upper()


@builtin("lower case", "string")
def lower_case(string: Any) -> Any:
    return text(string).lower()


@builtin("substring before", "string, match")
def substring_before(string: Any, match: Any) -> Any:
    s, m = text(string), text(match)
    i = s.find(m)
    return "" if i < 0 else s[:i]


@builtin("substring after", "string, match")
def substring_after(string: Any, match: Any) -> Any:
    s, m = text(string), text(match)
    i = s.find(m)
    return "" if i < 0 else s[i + len(m) :]


@builtin("contains", "string, match")
def contains(string: Any, match: Any) -> Any:
    return text(match) in text(string)


@builtin("starts with", "string, match")
def starts_with(string: Any, match: Any) -> Any:
    return text(string).startswith(text(match))


@builtin("ends with", "string, match")
def ends_with(string: Any, match: Any) -> Any:
    return text(string).endswith(text(match))


_CLASS_MAP = {
    r"\p{L}": r"[^\W\d_]",
    r"\p{Lu}": r"[A-Z\u00C0-\u00DE]",
    r"\p{Ll}": r"[a-z\u00DF-\u00FF]",
    r"\p{N}": r"\d",
    r"\p{Nd}": r"\d",
    r"\p{IsLetter}": r"[^\W\d_]",
    r"\p{Alpha}": r"[A-Za-z]",
    r"\p{Digit}": r"[0-9]",
    r"\p{Punct}": r"[!-/:-@\[-`{-~]",
    r"\P{L}": r"[\W\d_]",
}


@lru_cache(maxsize=512)
def compile_pattern(pattern: str, flags: str = "") -> re.Pattern[str]:
    """Compile a Java/XPath-style regex with FEEL flags (``s m i x``)."""
    py_flags = 0
    for f in flags:
        if f == "i":
            py_flags |= re.IGNORECASE
        elif f == "s":
            py_flags |= re.DOTALL
        elif f == "m":
            py_flags |= re.MULTILINE
        elif f == "x":
            py_flags |= re.VERBOSE
        elif f == "q":
            pattern = re.escape(pattern)
    if re.search(r"\[[^\]]*\\[1-9]", pattern):
        raise InvalidArguments("invalid pattern: back reference in a character class")
    for java, py in _CLASS_MAP.items():
        pattern = pattern.replace(java, py)
    try:
        return re.compile(pattern, py_flags)
    except re.error as error:
        raise InvalidArguments(f"invalid pattern: {error}") from error


def _flags(flags: Any) -> str:
    if flags is None:
        return ""
    return text(flags)


@builtin("matches", "input, pattern", "input, pattern, flags")
def matches(input: Any, pattern: Any, flags: Any = None) -> Any:
    return compile_pattern(text(pattern), _flags(flags)).search(text(input)) is not None


_JAVA_REPL = re.compile(r"\\(.)|\$(\d+)|\$\{(\w+)\}")


def _java_replacement(repl: str) -> str:
    def convert(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            ch = m.group(1)
            return "\\\\" if ch == "\\" else ch
        if m.group(2) is not None:
            return f"\\g<{m.group(2)}>"
        return f"\\g<{m.group(3)}>"

    return _JAVA_REPL.sub(convert, repl)


@builtin("replace", "input, pattern, replacement", "input, pattern, replacement, flags")
def replace(input: Any, pattern: Any, replacement: Any, flags: Any = None) -> Any:
    compiled = compile_pattern(text(pattern), _flags(flags))
    try:
        return compiled.sub(_java_replacement(text(replacement)), text(input))
    except (re.error, IndexError) as error:
        raise InvalidArguments(str(error)) from error


@builtin("split", "string, delimiter")
def split(string: Any, delimiter: Any) -> Any:
    return compile_pattern(text(delimiter)).split(text(string))


@builtin("extract", "input, pattern")
def extract(input: Any, pattern: Any) -> Any:
    return [m.group(0) for m in compile_pattern(text(pattern)).finditer(text(input))]


@builtin("trim", "string")
def trim(string: Any) -> Any:
    s = text(string)
    start, end = 0, len(s)
    while start < end and s[start] <= " ":
        start += 1
    while end > start and s[end - 1] <= " ":
        end -= 1
    return s[start:end]


@builtin("is blank", "string")
def is_blank(string: Any) -> Any:
    return text(string).strip() == ""


@builtin(
    "string join",
    "list",
    "list, delimiter",
    "list, delimiter, prefix, suffix",
)
def string_join(items: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> Any:
    parts = []
    for item in lst(items):
        if item is None:
            continue
        if type(item) is not str:
            raise InvalidArguments()
        parts.append(item)
    sep = "" if delimiter is None else text(delimiter)
    pre = "" if prefix is None else text(prefix)
    post = "" if suffix is None else text(suffix)
    return pre + sep.join(parts) + post

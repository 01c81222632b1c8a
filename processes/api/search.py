"""Search requests: filters with the advanced operators, sort, offset and cursor pages.

The request and response shapes of https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/orchestration-cluster-api-rest-data-fetching
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from .base import parse_date, parse_key
from .errors import ValidationFailed

OPERATORS = ("$eq", "$neq", "$exists", "$in", "$notIn", "$like", "$gt", "$gte", "$lt", "$lte")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

# A custom filter answers the condition itself: (queryset, raw filter value, field name) -> Q.
CustomFilter = Callable[[QuerySet, Any, str], Q]


@dataclass(frozen=True)
class Field:
    """A filterable field: its ORM lookup path, value kind and optional enum values."""

    lookup: str = ""
    kind: str = "str"  # key | str | int | bool | date
    choices: tuple[str, ...] = ()
    custom: CustomFilter | None = None


@dataclass
class SearchSpec:
    filters: dict[str, Field]
    sorts: dict[str, str]
    tiebreak: str = "key"
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------- values
def convert(value: Any, fld: Field, name: str) -> Any:
    """One filter operand converted to the field's Python type (400 when it does not fit)."""
    if fld.kind == "key":
        return parse_key(value, name)
    if fld.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(f"The value for {name} is '{value}' but must be an integer")
        return value
    if fld.kind == "bool":
        if not isinstance(value, bool):
            raise ValidationFailed(f"The value for {name} is '{value}' but must be a boolean")
        return value
    if fld.kind == "date":
        return parse_date(value, name)
    if not isinstance(value, str):
        raise ValidationFailed(f"The value for {name} is '{value}' but must be a string")
    if fld.choices and value not in fld.choices:
        raise ValidationFailed(
            f"Unexpected value '{value}' for enum field '{name}'. Use any of the following "
            f"values: [{', '.join(fld.choices)}]"
        )
    return value


def like_regex(pattern: str) -> str:
    """Camunda's ``$like`` (``*`` any run, ``?`` one char, ``\\`` escapes) as an anchored regex."""
    out = ["^"]
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    out.append("$")
    return "".join(out)


def operators_of(raw: Any, name: str) -> dict[str, Any]:
    """A plain value as ``{"$eq": value}``; an operator object checked for unknown operators."""
    if isinstance(raw, dict):
        unknown = [op for op in raw if op not in OPERATORS]
        if unknown:
            raise ValidationFailed(
                f"Unsupported filter operator '{unknown[0]}' for {name}. Use any of the "
                f"following values: [{', '.join(OPERATORS)}]"
            )
        return raw
    return {"$eq": raw}


def field_q(raw: Any, fld: Field, name: str) -> Q:
    """The condition of one filter field on ``fld.lookup``."""
    lookup = fld.lookup
    q = Q()
    for op, operand in operators_of(raw, name).items():
        if op == "$exists":
            if not isinstance(operand, bool):
                raise ValidationFailed(f"The value for {name}.$exists must be a boolean")
            present = Q(**{f"{lookup}__isnull": False})
            if fld.kind == "str":
                present &= ~Q(**{lookup: ""})
            q &= present if operand else ~present
        elif op in ("$in", "$notIn"):
            if not isinstance(operand, list):
                raise ValidationFailed(f"The value for {name}.{op} must be an array")
            values = [convert(v, fld, name) for v in operand]
            cond = Q(**{f"{lookup}__in": values})
            q &= cond if op == "$in" else ~cond
        elif op == "$like":
            if not isinstance(operand, str):
                raise ValidationFailed(f"The value for {name}.$like must be a string")
            q &= Q(**{f"{lookup}__regex": like_regex(operand)})
        else:
            value = convert(operand, fld, name)
            if op == "$eq":
                q &= Q(**{lookup: value})
            elif op == "$neq":
                q &= ~Q(**{lookup: value})
            else:
                if fld.kind not in ("int", "date", "key"):
                    raise ValidationFailed(f"The operator {op} is not supported for {name}")
                q &= Q(**{f"{lookup}__{op[1:]}": value})
    return q


def matches(actual: Any, raw: Any, name: str) -> bool:
    """The same operators evaluated in Python on a string (JSON texts, list members)."""
    for op, operand in operators_of(raw, name).items():
        if op == "$eq":
            ok = actual == operand
        elif op == "$neq":
            ok = actual != operand
        elif op == "$exists":
            ok = (actual not in (None, "")) == bool(operand)
        elif op == "$in":
            ok = isinstance(operand, list) and actual in operand
        elif op == "$notIn":
            ok = isinstance(operand, list) and actual not in operand
        elif op == "$like":
            if not isinstance(operand, str):
                raise ValidationFailed(f"The value for {name}.$like must be a string")
            ok = actual is not None and re.match(like_regex(operand), actual, re.S) is not None
        else:
            try:
                ok = {
                    "$gt": actual > operand,
                    "$gte": actual >= operand,
                    "$lt": actual < operand,
                    "$lte": actual <= operand,
                }[op]
            except TypeError:
                ok = False
        if not ok:
            return False
    return True


def filter_q(queryset: QuerySet, filters: Any, spec: SearchSpec, *, allow_or: bool = False) -> Q:
    """The condition of a filter object (custom filters look at ``queryset`` themselves)."""
    if filters is None:
        return Q()
    if not isinstance(filters, dict):
        raise ValidationFailed("The value for filter must be a JSON object")
    q = Q()
    for name, raw in filters.items():
        if raw is None:
            continue
        if name == "$or" and allow_or:
            if not isinstance(raw, list):
                raise ValidationFailed("The value for filter.$or must be an array")
            any_q = Q()
            for branch in raw:
                any_q |= filter_q(queryset, branch, spec)
            q &= any_q
            continue
        fld = spec.filters.get(name)
        if fld is None:
            raise ValidationFailed(
                f"Unexpected filter field '{name}'. Use any of the following values: "
                f"[{', '.join(spec.filters)}]"
            )
        q &= fld.custom(queryset, raw, name) if fld.custom else field_q(raw, fld, name)
    return q


def sort_order(raw: Any, spec: SearchSpec) -> list[str]:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ValidationFailed("The value for sort must be an array")
    order: list[str] = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("field"):
            raise ValidationFailed("Sort field must not be null")
        name = item["field"]
        if name not in spec.sorts:
            raise ValidationFailed(
                f"Unexpected value '{name}' for enum field 'field'. Use any of the following "
                f"values: [{', '.join(spec.sorts)}]"
            )
        direction = str(item.get("order") or "ASC").upper()
        if direction not in ("ASC", "DESC"):
            raise ValidationFailed(
                f"Unexpected value '{item.get('order')}' for enum field 'order'. Use any of the "
                "following values: [ASC, DESC]"
            )
        order.append(("-" if direction == "DESC" else "") + spec.sorts[name])
    order.append(spec.tiebreak)
    return order


# Offsets beyond this are refused (with a limit added they must stay a 64-bit integer).
MAX_OFFSET = 2**31 - 1


def encode_cursor(offset: int) -> str:
    return base64.b64encode(json.dumps([offset]).encode()).decode()


def decode_cursor(cursor: Any, name: str) -> int:
    try:
        value = json.loads(base64.b64decode(str(cursor), validate=True))
        offset = value[0]
        if isinstance(offset, int) and not isinstance(offset, bool) and 0 <= offset <= MAX_OFFSET:
            return offset
    except (ValueError, TypeError, IndexError, KeyError, binascii.Error):
        pass
    raise ValidationFailed(f"The value for page.{name} is '{cursor}' but must be a valid cursor")


def page_window(raw: Any) -> tuple[int, int]:
    """(offset, limit) of the requested page; offset and cursor pages must not be mixed."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed("The value for page must be a JSON object")
    given = [name for name in ("from", "after", "before") if raw.get(name) is not None]
    if len(given) > 1:
        raise ValidationFailed("Only one of [from, after, before] is allowed")
    limit = raw.get("limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationFailed(f"The value for page.limit is '{limit}' but must be greater than 0")
    limit = min(limit, MAX_LIMIT)
    if raw.get("after") is not None:
        return decode_cursor(raw["after"], "after") + 1, limit
    if raw.get("before") is not None:
        end = decode_cursor(raw["before"], "before")
        start = max(0, end - limit)
        return start, end - start
    offset = raw.get("from")
    if offset is None:
        offset = 0
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationFailed(f"The value for page.from is '{offset}' but must be not negative")
    if offset > MAX_OFFSET:
        raise ValidationFailed(
            f"The value for page.from is '{offset}' but must be at most {MAX_OFFSET}"
        )
    return offset, limit


def search(
    queryset: QuerySet,
    body: dict[str, Any],
    spec: SearchSpec,
    render: Callable[[Iterable[Any]], list[dict[str, Any]]],
    *,
    allow_or: bool = False,
) -> dict[str, Any]:
    """Run a search request and answer ``{"items": [...], "page": {...}}``."""
    q = filter_q(queryset, body.get("filter"), spec, allow_or=allow_or)
    queryset = queryset.filter(q).order_by(*sort_order(body.get("sort"), spec))
    offset, limit = page_window(body.get("page"))
    total = queryset.count()
    rows = list(queryset[offset : offset + limit]) if limit else []
    page: dict[str, Any] = {"totalItems": total, "hasMoreTotalItems": False}
    page["startCursor"] = encode_cursor(offset) if rows else None
    page["endCursor"] = encode_cursor(offset + len(rows) - 1) if rows else None
    return {"items": render(rows), "page": page}


def json_text(value: Any) -> str:
    """A variable value as Camunda's search results show it: compact JSON text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def variable_filter_items(raw: Any, name: str) -> list[tuple[str, Any]]:
    """``[{name, value}]`` items of a variable-value filter."""
    if not isinstance(raw, list):
        raise ValidationFailed(f"The value for {name} must be an array")
    items = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValidationFailed(f"No {name}.name provided")
        if item.get("value") is None:
            raise ValidationFailed(f"No {name}.value provided")
        items.append((item["name"], item["value"]))
    return items

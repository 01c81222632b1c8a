"""Strict JSON for every API: what a database column or the engine can hold, or a 400.

``strict_loads`` is the one reader of request bodies. It refuses, naming where in the body:

- text that is not UTF-8 or not JSON;
- ``NaN``, ``Infinity`` and numbers too large for a double (which Python would read as ``inf``);
- integers outside 64 bits (no column or engine key holds more);
- the NUL character in any string or object key (PostgreSQL's ``text`` and ``jsonb`` cannot
  store it);
- nesting deeper than ``MAX_DEPTH`` (Python's parser would overflow its stack);
- bodies larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413, as JSON rather than Django's page).

Bounds of single fields (money, durations) stay with the fields: serializers' ``max_value``
and the engine API's ``get_int(maximum=...)``.

``StrictJSONParser`` is the DRF parser (``DEFAULT_PARSER_CLASSES``): its refusals are DRF
validation errors ``{"<path>": ["<message>"]}``; the signed webhooks call ``strict_loads`` on the
raw body they verified, and the engine API (``processes.api.base``) on its own.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import JSONParser

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DEPTH = 32
# Largest amount in minor units an API accepts (10^13: a hundred billion in two-decimal units);
# sums of a few of them stay far inside a 64-bit column.
MAX_AMOUNT_MINOR = 10**13
DEFAULT_MAX_BODY = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE default


class InvalidJson(ValueError):
    """A body ``strict_loads`` refuses; ``path`` names where (``"body"`` for the whole)."""

    def __init__(self, message: str, path: str = "body") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def max_body_bytes() -> int:
    limit = getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", DEFAULT_MAX_BODY)
    return DEFAULT_MAX_BODY if limit is None else int(limit)


def _reject_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a number JSON allows.")


def _bounded_int(text: str) -> int:
    # A 64-bit integer has at most 19 digits and a sign: refuse longer ones before converting.
    if len(text.lstrip("-")) > 19 or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
        raise InvalidJson(f"The integer {text[:30]} is outside the 64-bit range.")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"The number {text[:30]} is too large.")
    return value


def _check(data: Any) -> None:
    """Refuse NUL characters and deep nesting, walking without recursion."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise InvalidJson("NUL characters are not allowed.", path or "body")
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise InvalidJson(f"Nesting deeper than {MAX_DEPTH} levels is not allowed.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise InvalidJson("NUL characters are not allowed in keys.", path or "body")
                name = str(key) if isinstance(key, str) else f"{path}[{key}]"
                child = f"{path}.{name}" if path and isinstance(key, str) else name
                stack.append((item, child or "body", depth + 1))


def strict_loads(raw: bytes | str) -> Any:
    """The JSON value of ``raw``, or ``InvalidJson`` (see the module docstring)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJson("The body is not UTF-8 text.") from None
    try:
        data = json.loads(
            raw,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson(f"Nesting deeper than {MAX_DEPTH} levels is not allowed.") from None
    except ValueError as error:  # JSONDecodeError, or int()'s digit limit
        raise InvalidJson(f"The body is not valid JSON: {str(error)[:200]}") from None
    _check(data)
    return data


class StrictJSONParser(JSONParser):
    """DRF's JSON parser through ``strict_loads``; refusals name the field (400) or are 413."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise BodyTooLarge()
        try:
            return strict_loads(raw)
        except InvalidJson as error:
            raise ValidationError({error.path: [error.message]}) from None

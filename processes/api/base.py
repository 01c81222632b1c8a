"""The base view of the engine API: authentication, permission, body parsing, error mapping.

The one reader of request bodies is ``EngineApiView.json_body`` (``core.parsers.strict_loads``:
NUL characters, NaN, integers beyond 64 bits, deep nesting and oversized bodies are a 400 or
413 problem); field bounds are ``get_int``'s ``maximum``. ``handle_exception`` is the last
resort: anything unexpected is logged and answered with a generic problem, never with the text
of a database error.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.parsers import INT64_MAX, InvalidJson, max_body_bytes, strict_loads
from processes.engine.runtime import Rejection

from .errors import ApiError, ValidationFailed, problem, rejection_problem

logger = logging.getLogger(__name__)

DEFAULT_TENANT = "<default>"
INT32_MAX = 2**31 - 1
# Durations (job timeouts, message TTLs, back-offs, request timeouts) up to 100 years, and the
# pinned clock up to the year 3000: deadlines computed from them stay representable.
MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000
MAX_TIMESTAMP_MS = 32_503_680_000_000


class CanUseEngineApi(BasePermission):
    """Signed-in users holding ``processes.use_engine_api`` (superusers have every permission)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("processes.use_engine_api"))


class EngineApiView(APIView):
    """Basic or token authentication; every failure becomes an RFC 7807 problem."""

    authentication_classes = [BasicAuthentication, TokenAuthentication]
    permission_classes = [CanUseEngineApi]
    renderer_classes = [JSONRenderer]

    # DRF accepts any HttpResponse here (finalize_response checks HttpResponseBase); its stubs
    # declare a Response.
    def handle_exception(self, exc: Exception) -> HttpResponse:  # type: ignore[override]
        request: HttpRequest = self.request
        if isinstance(exc, Rejection):
            return rejection_problem(request, exc)
        if isinstance(exc, ApiError):
            return problem(request, exc.status, exc.title, exc.detail)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            header = self.get_authenticate_header(self.request)
            return problem(
                request,
                401,
                "Unauthorized",
                str(exc.detail),
                {"WWW-Authenticate": header} if header else None,
            )
        if isinstance(exc, exceptions.PermissionDenied):
            return problem(request, 403, "Forbidden", str(exc.detail))
        if isinstance(exc, exceptions.ParseError):
            return problem(request, 400, "Bad Request", str(exc.detail))
        if isinstance(exc, exceptions.UnsupportedMediaType):
            return problem(request, 415, "Unsupported Media Type", str(exc.detail))
        if isinstance(exc, exceptions.APIException):
            return problem(request, exc.status_code, exc.__class__.__name__, str(exc.detail))
        if isinstance(exc, RequestDataTooBig):
            return problem(request, 413, "Payload Too Large", "The request body is too large.")
        logger.error("Unexpected error in %s %s", request.method, request.path, exc_info=exc)
        if isinstance(exc, DataError):
            return problem(
                request, 400, "INVALID_ARGUMENT", "A value in the request cannot be stored."
            )
        if isinstance(exc, DatabaseError):
            return problem(
                request, 503, "UNAVAILABLE", "The engine is temporarily unavailable; try again."
            )
        return problem(request, 500, "INTERNAL_ERROR", "An unexpected error occurred.")

    # ------------------------------------------------------------------ request helpers
    def json_body(self, *, required: bool = False) -> dict[str, Any]:
        """The JSON object in the body; ``{}`` for an absent/null optional body."""
        length = self.request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > max_body_bytes():
            raise ApiError(413, "Payload Too Large", "The request body is too large.")
        raw = self.request.body
        if not raw.strip():
            data: Any = None
        else:
            try:
                data = strict_loads(raw)
            except InvalidJson as error:
                where = "" if error.path == "body" else f" (at {error.path})"
                raise ApiError(
                    400, "Bad Request", f"Failed to read request{where}: {error.message}"
                ) from None
        if data is None:
            if required:
                raise ApiError(400, "Bad Request", "Required request body is missing")
            return {}
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request", "Expected the request body to be a JSON object")
        return data


# ---------------------------------------------------------------------- value helpers
def parse_key(value: Any, name: str) -> int:
    """A key given as a decimal string or an integer; anything else is a 400."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        key = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        key = int(value.strip())
    else:
        raise ValidationFailed(f"The provided {name} '{value}' is not a valid key")
    if not 0 < key <= INT64_MAX:
        raise ValidationFailed(f"The provided {name} '{value}' is not a valid key")
    return key


def key_text(key: int | None) -> str | None:
    return None if key is None else str(key)


def format_date(value: dt.datetime | None) -> str | None:
    """RFC 3339, UTC, milliseconds: ``2025-06-07T13:14:15.123Z``."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_date(value: Any, name: str) -> dt.datetime:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise ValidationFailed(
        f"The provided {name} '{value}' cannot be parsed as a date according to RFC 3339, "
        "section 5.6"
    )


def epoch_ms(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def get_int(
    body: dict[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    positive: bool = False,
    required: bool = False,
) -> int | None:
    """An integer field with Camunda's wording for missing/out-of-range values."""
    value = body.get(name)
    if value is None:
        if required:
            raise ValidationFailed(f"No {name} provided")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValidationFailed(f"The value for {name} is '{value}' but must be an integer")
    if positive and value <= 0:
        raise ValidationFailed(f"The value for {name} is '{value}' but must be greater than 0")
    if minimum is not None and value < minimum:
        raise ValidationFailed(f"The value for {name} is '{value}' but must be not negative")
    if not -INT64_MAX <= value <= INT64_MAX:
        raise ValidationFailed(f"The value for {name} is '{value}' but must be a 64-bit integer")
    if maximum is not None and value > maximum:
        raise ValidationFailed(f"The value for {name} is '{value}' but must be at most {maximum}")
    return value


def get_str(body: dict[str, Any], name: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(name)
    if value is None or (required and isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationFailed(f"No {name} provided")
        return default
    if not isinstance(value, str):
        raise ValidationFailed(f"The value for {name} is '{value}' but must be a string")
    return value


def get_variables(body: dict[str, Any], name: str = "variables") -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed(f"The value for {name} must be a JSON object")
    return value


def get_operation_reference(body: dict[str, Any]) -> None:
    """Validate the optional ``operationReference`` (int64 >= 1); the engine does not use it."""
    value = body.get("operationReference")
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationFailed(f"The value for operationReference is '{value}' but must be > 0")


def get_tenant(body: dict[str, Any]) -> str:
    return get_str(body, "tenantId") or DEFAULT_TENANT

"""The one mapping of ``ApplicationError`` to HTTP for every DRF API (``EXCEPTION_HANDLER``).

The error's ``code`` picks the status; the body names the field at fault, as DRF's own
validation errors do: ``{"<field>": ["<message>"]}`` (``non_field_errors`` without a field).
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError

STATUS_BY_CODE = {
    "invalid": status.HTTP_400_BAD_REQUEST,
    "out_of_stock": status.HTTP_400_BAD_REQUEST,
    "not_eligible": status.HTTP_400_BAD_REQUEST,
    "conflict": status.HTTP_409_CONFLICT,
    "not_yet": status.HTTP_409_CONFLICT,
    "not_found": status.HTTP_404_NOT_FOUND,
    "permission": status.HTTP_403_FORBIDDEN,
    "four_eyes": status.HTTP_403_FORBIDDEN,
}


def application_error_response(error: ApplicationError) -> Response:
    return Response(
        {error.field or "non_field_errors": [error.message]},
        status=STATUS_BY_CODE.get(error.code, status.HTTP_400_BAD_REQUEST),
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    return drf_exception_handler(exc, context)

"""The one mapping of ``ApplicationError`` to HTTP for every DRF API (``EXCEPTION_HANDLER``).

The error's ``code`` picks the status; the body names the field at fault, as DRF's own
validation errors do: ``{"<field>": ["<message>"]}`` (``non_field_errors`` without a field).

It is also the last resort of every DRF view: a body over Django's upload limit is a JSON 413,
and any other exception is logged and answered with a generic body (a database's error text
names tables and values, and never reaches a client): a ``DataError`` (a value the database
cannot hold) is a 400, a lost or refused database connection a 503, anything else a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError

logger = logging.getLogger(__name__)

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
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    request = context.get("request")
    where = f"{request.method} {request.path}" if request is not None else "a DRF view"
    logger.error("Unhandled error in %s", where, exc_info=exc)
    if isinstance(exc, DataError):
        return Response(
            {"non_field_errors": ["A value in the request cannot be stored."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DatabaseError):
        return Response(
            {"detail": "The service is temporarily unavailable; try again."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response(
        {"detail": "An unexpected error occurred."},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )

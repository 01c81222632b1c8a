"""RFC 7807 problem details, as Camunda's gateway writes them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import serializers

from processes.engine.runtime import Rejection

PROBLEM_CONTENT_TYPE = "application/problem+json"

REJECTION_STATUS = {
    "NOT_FOUND": 404,
    "INVALID_STATE": 409,
    "ALREADY_EXISTS": 409,
    "INVALID_ARGUMENT": 400,
}


class ProblemSerializer(serializers.Serializer):
    """The body of every error answer (documentation only: ``problem`` writes it)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()


class ApiError(Exception):
    """A request the API refuses before (or instead of) asking the engine."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


class ValidationFailed(ApiError):
    """Gateway validation: 400 ``INVALID_ARGUMENT`` with Camunda's wording."""

    def __init__(self, *violations: str) -> None:
        text = ". ".join(v.rstrip(".") for v in violations) + "."
        super().__init__(400, "INVALID_ARGUMENT", text)


def not_found(detail: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", detail)


def problem(
    request: HttpRequest,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """A problem-detail response for ``request``."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    response = JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def rejection_problem(request: HttpRequest, rejection: Rejection) -> JsonResponse:
    status = REJECTION_STATUS.get(rejection.rejection_type, 500)
    return problem(request, status, rejection.rejection_type, rejection.detail)

"""OpenAPI metadata of the Camunda REST v2 operations: body, success answer and problems."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from .errors import PROBLEM_CONTENT_TYPE, ProblemSerializer

NO_CONTENT = 204

TAG = ["Camunda REST v2"]


class DeploymentForm(serializers.Serializer):
    resources = serializers.ListField(child=serializers.FileField())
    tenantId = serializers.CharField(required=False)


PROBLEM_TITLES = {
    400: "Invalid request (INVALID_ARGUMENT, or a body that is not strict JSON).",
    401: "Not authenticated.",
    403: "Not allowed to use the engine API (or the clock is not controlled).",
    404: "No such resource.",
    409: "The resource is not in a state that allows this (INVALID_STATE, ALREADY_EXISTS).",
    413: "The request body is too large.",
    415: "The request body is not of a supported media type.",
    503: "The engine's database is unavailable; try again.",
    504: "The process instance did not complete within the request timeout.",
}


def _schema(
    operation_id: str,
    *,
    body: str | None = "json",
    ok: int = 200,
    errors: tuple[int, ...] = (),
) -> Any:
    """The operation's OpenAPI metadata: its body, its success answer and its problems.

    ``body`` is ``"json"`` (an object, read by ``EngineApiView.json_body``), ``"multipart"`` or
    None; ``ok`` is 200 (a JSON object) or 204 (no body). Every operation may answer 400, 401,
    403 and 503 problems; operations with a body also 413 and 415.
    """
    statuses = {400, 401, 403, 503, *errors}
    if body is not None:
        statuses |= {413, 415}
    responses: dict[Any, Any] = {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, PROBLEM_TITLES[status])
        for status in sorted(statuses)
    }
    if ok == NO_CONTENT:
        responses[NO_CONTENT] = OpenApiResponse(description="Done; no body.")
    else:
        responses[ok] = OpenApiResponse(OpenApiTypes.OBJECT, "The result, as Camunda writes it.")
    if body == "json":
        request: Any = {"application/json": OpenApiTypes.OBJECT}
    elif body == "multipart":
        request = {"multipart/form-data": DeploymentForm}
    else:
        request = None
    return extend_schema(tags=TAG, operation_id=operation_id, request=request, responses=responses)

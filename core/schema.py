"""OpenAPI post-processing: document the answers the API layer gives for every operation.

Views document their own outcomes; the shared layer adds, where a view has not: 401 and 403
for operations that need authentication, 404 for operations whose path names a resource, 400,
413 and 415 for operations with a body (the strict JSON parser, ``core.parsers``), and 503 (the
last-resort handler of ``core.api`` when the database is unavailable). The ``/v2`` operations
document theirs as problem+json already.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "description": "``detail``, or the fields at fault each with a list of messages.",
    "additionalProperties": True,
}
DESCRIPTIONS = {
    "400": "Invalid input; the response names the field.",
    "401": "Not authenticated.",
    "403": "Not allowed.",
    "404": "Nothing matches the path.",
    "413": "The request body is too large.",
    "415": "The request body is not JSON.",
    "503": "The service is temporarily unavailable; try again.",
}


def add_shared_responses(result: dict[str, Any], generator: Any, request: Any, public: bool):
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry (see the module docstring)."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = {"503"}
            security = operation.get("security", result.get("security", []))
            if security and {} not in security:
                codes |= {"401", "403"}
            parameters = operation.get("parameters", []) + item.get("parameters", [])
            if any(parameter.get("in") == "path" for parameter in parameters):
                codes.add("404")
            if "requestBody" in operation:
                codes |= {"400", "413", "415"}
            responses = operation.setdefault("responses", {})
            for code in sorted(codes - set(responses)):
                responses[code] = {
                    "description": DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                }
    return result

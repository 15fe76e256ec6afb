"""The error answers every operation can give, added to the published document.

Some answers come from layers in front of every route, not from the route: the
edge's 408 (headers or body too slow), the body limit's 413, the outage guard's
503. A route cannot list them itself, so ``complete`` adds them to each
operation, with the headers those answers really carry.
"""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_TEXT = {"schema": {"type": "string"}}

_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", **_TEXT},
}
_CONNECTION_CLOSE = {
    "Connection": {"description": "`close`: the connection is not reused", **_TEXT},
}
_ANSWERS: dict[str, dict[str, Any]] = {
    "400": {"description": "Malformed JSON", "content": _PROBLEM},
    "408": {
        "description": "The request's headers or body did not arrive in time",
        "content": _PROBLEM,
        "headers": _CONNECTION_CLOSE,
    },
    "413": {"description": "Request body too large", "content": _PROBLEM},
    "422": {
        "description": "Validation failed (each bad field named in `errors`)",
        "content": _PROBLEM,
    },
    "503": {
        "description": "Not ready, or the database is unavailable; retry later",
        "content": _PROBLEM,
        "headers": _RETRY_AFTER,
    },
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _statuses(operation: dict[str, Any]) -> list[str]:
    """What this operation can answer besides its own declared answers."""
    statuses = ["408", "503"]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append("422")
    if "requestBody" in operation:
        statuses += ["400", "413"]
    return statuses


def complete(document: dict[str, Any]) -> None:
    """Add the answers of the layers in front of the routes; give every 503 Retry-After."""
    for path in document.get("paths", {}).values():
        for method in _METHODS:
            operation = path.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in _statuses(operation):
                responses.setdefault(status, _ANSWERS[status])
            _as_problems(responses)
    document.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
    document.get("components", {}).get("schemas", {}).pop("ValidationError", None)


def _as_problems(responses: dict[str, Any]) -> None:
    """Every error answer is a problem document (FastAPI's default 422 is not)."""
    for status, answer in list(responses.items()):
        if not status.startswith(("4", "5")):
            continue
        fixed = {**answer, "content": _PROBLEM}
        if status == "503":
            fixed["headers"] = {**answer.get("headers", {}), **_RETRY_AFTER}
        responses[status] = fixed

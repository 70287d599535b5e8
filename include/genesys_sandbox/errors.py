"""Error bodies in the shape the Genesys Cloud API returns (`ErrorBody`), and the exception routes raise.

`{"message", "code", "status", "messageParams", "contextId", "details": [{"errorCode","fieldName"}],
"errors": []}`; contextId equals the response's ININ-Correlation-Id header.
"""

from __future__ import annotations

from typing import Any

CORRELATION_HEADER = "ININ-Correlation-Id"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


def error_body(
    status: int, code: str, message: str, context_id: str, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "messageParams": {},
        "contextId": context_id,
        "details": details or [],
        "errors": [],
    }


def detail(field_name: str, error_code: str = "invalid.value") -> dict[str, str]:
    return {"errorCode": error_code, "fieldName": field_name}


def bad_request(message: str, field_name: str | None = None, error_code: str = "invalid.value") -> ApiError:
    details = [detail(field_name, error_code)] if field_name else []
    return ApiError(400, "bad.request", message, details=details)


def not_found(what: str = "The requested resource") -> ApiError:
    return ApiError(404, "not.found", f"{what} could not be found.")


def unauthorized(
    message: str = "No authentication bearer token specified in authorization header.",
) -> ApiError:
    return ApiError(401, "authentication.required", message)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "too.many.requests.retry.after",
        f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds",
        headers={"Retry-After": str(retry_after)},
    )


SERVER_ERRORS = {
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    503: (
        "service.unavailable",
        "Service Unavailable - The server is currently unavailable (because it is "
        "overloaded or down for maintenance).",
    ),
    504: ("request.timeout", "The request timed out."),
}


def server_error(status: int) -> ApiError:
    code, message = SERVER_ERRORS.get(status, SERVER_ERRORS[500])
    return ApiError(status, code, message)

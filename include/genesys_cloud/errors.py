"""Typed errors of the Genesys Cloud API, built from the status, the error body and the correlation id.

Callers branch on the class and on `status` / `code`, never on the text. The text is the `message` of
the Genesys error body, with anything that looks like an e-mail address or a phone number masked: most
Genesys messages do not echo request values, but some validation messages do, and these errors end up
in task logs. Request parameters, bodies and query strings are never put into an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

CORRELATION_HEADER = "ININ-Correlation-Id"

_EMAIL = re.compile(r"[^\s@\"'<>()\[\],;:]+@[^\s@\"'<>()\[\],;:]+")
# Seven or more digits, optionally with a leading + and separators: phone numbers, not "[42] seconds".
_PHONE = re.compile(r"\+?\d[\d ().-]{5,}\d")
_MAX_MESSAGE_CHARS = 300


def redact_message(text: str) -> str:
    """Mask e-mail- and phone-like substrings and bound the length of a server message."""
    masked = _PHONE.sub("<redacted>", _EMAIL.sub("<redacted>", text))
    if len(masked) > _MAX_MESSAGE_CHARS:
        masked = masked[:_MAX_MESSAGE_CHARS] + "…"
    return masked


class GenesysCloudError(Exception):
    """An error answered by (or on the way to) the Genesys Cloud API.

    :param status: HTTP status, or None when no response arrived.
    :param code: Genesys error code (`bad.request`, `not.found`, …) or an OAuth `error`.
    :param message: Safe message text (see the module docstring).
    :param correlation_id: The `ININ-Correlation-Id` of the response, to quote to Genesys support.
    :param details: Names of the offending fields (`details[].fieldName`) for validation errors.
    """

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        correlation_id: str | None = None,
        details: tuple[str, ...] = (),
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.correlation_id = correlation_id
        self.details = tuple(details)
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"HTTP {self.status}" if self.status is not None else "no response"]
        if self.code:
            parts.append(self.code)
        text = f"Genesys Cloud: {' '.join(parts)}: {self.message}"
        if self.details:
            text += f" (fields: {', '.join(self.details)})"
        if self.correlation_id:
            text += f" [correlation id {self.correlation_id}]"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the typed fields across pickling (Airflow moves exceptions between processes).
        return (type(self), (self.status, self.code, self.message, self.correlation_id, self.details))


class GenesysBadRequestError(GenesysCloudError):
    """400: the request was invalid; `details` names the fields when Genesys says which."""


class GenesysAuthError(GenesysCloudError):
    """401/403, or a refused token request: wrong credentials, revoked token or missing permission."""


class GenesysNotFoundError(GenesysCloudError):
    """404: the entity does not exist (or is not visible to this client)."""


class GenesysRateLimitError(GenesysCloudError):
    """429 that was still answered after the retries (or asked for a wait longer than allowed).
    `retry_after`: the seconds Genesys asked to wait (None when it did not say), so a caller can decide
    to wait, or to leave the work for later (a quota with a long `Retry-After`)."""

    def __init__(self, *args: Any, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(*args)

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.status, self.code, self.message, self.correlation_id, self.details)
        return (_rebuild_rate_limit_error, (type(self), fields, self.retry_after))


def _rebuild_rate_limit_error(
    cls: type[GenesysRateLimitError], fields: tuple[Any, ...], retry_after: float | None
) -> GenesysRateLimitError:
    return cls(*fields, retry_after=retry_after)


class GenesysServerError(GenesysCloudError):
    """5xx that persisted through the retries."""


class GenesysTransportError(GenesysCloudError):
    """No HTTP answer: connection refused/reset, timeout, TLS failure, unreadable body."""


class GenesysJobError(GenesysCloudError):
    """An asynchronous Genesys job (analytics details job) failed, was cancelled, expired or timed out;
    `code` says which (`job.failed`, `job.cancelled`, `job.expired`, `job.timeout`)."""


class GenesysJobFailedError(GenesysJobError):
    """An analytics details job ended FAILED on every submission allowed (the first and its resubmissions)."""


def error_class_for_status(status: int) -> type[GenesysCloudError]:
    if status == 400:
        return GenesysBadRequestError
    if status in (401, 403):
        return GenesysAuthError
    if status == 404:
        return GenesysNotFoundError
    if status == 429:
        return GenesysRateLimitError
    if status >= 500:
        return GenesysServerError
    return GenesysCloudError


def correlation_id_from(headers: Mapping[str, str]) -> str | None:
    """The correlation id of a response; `headers` must be case-insensitive (requests/aiohttp are)."""
    return headers.get(CORRELATION_HEADER) or None


def error_from_response(
    status: int, body: Any, headers: Mapping[str, str], *, method: str, path: str
) -> GenesysCloudError:
    """Build the typed error for a non-2xx answer.

    `body` is the decoded JSON (or None). Both Genesys error bodies (`message`, `code`, `details`) and
    OAuth error bodies (`error`, `error_description`/`description`) are understood.
    """
    correlation_id = correlation_id_from(headers)
    code: str | None = None
    text: str | None = None
    fields: list[str] = []
    if isinstance(body, Mapping):
        code = _as_text(body.get("code")) or _as_text(body.get("error"))
        text = (
            _as_text(body.get("message"))
            or _as_text(body.get("error_description"))
            or _as_text(body.get("description"))
        )
        correlation_id = correlation_id or _as_text(body.get("contextId"))
        for detail in body.get("details") or ():
            if isinstance(detail, Mapping) and _as_text(detail.get("fieldName")):
                fields.append(str(detail["fieldName"]))
    message = redact_message(text) if text else f"{method} {path} failed"
    cls = error_class_for_status(status)
    if issubclass(cls, GenesysRateLimitError):
        from genesys_cloud.retry_policy import parse_retry_after

        retry_after = parse_retry_after(headers.get("Retry-After"))
        return cls(status, code, message, correlation_id, tuple(fields), retry_after=retry_after)
    return cls(status, code, message, correlation_id, tuple(fields))


def _as_text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None

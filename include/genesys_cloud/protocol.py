"""Reading Genesys Cloud answers (bodies, OAuth token answers) and writing ids into paths: shared by the
sync and the async hook."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from genesys_cloud.errors import GenesysTransportError, correlation_id_from
from genesys_cloud.retry_policy import strip_query

TOKEN_PATH = "/oauth/token"
TOKEN_FORM = {"grant_type": "client_credentials"}
DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": "genesys-gdpr-erasure (airflow)"}
# With no usable `expires_in`, assume the documented minimum token lifetime rather than caching forever.
FALLBACK_TOKEN_SECONDS = 300.0


def segment(value: str) -> str:
    """An id as one URL path segment (no `/`, `?` or `..` can change the path)."""
    if not isinstance(value, str) or not value:
        raise ValueError("an id in a Genesys Cloud path must be a non-empty string")
    return quote(value, safe="")


def json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def decode_json_body(
    status: int, content: bytes, headers: Mapping[str, str], *, method: str, path: str
) -> Any:
    """The decoded JSON of a successful answer; None when it has no body."""
    if status == 204 or not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        raise GenesysTransportError(
            status,
            "invalid.json",
            f"{method} {strip_query(path)} answered a body that is not JSON",
            correlation_id_from(headers),
        ) from None


def token_from_answer(status: int, content: bytes, headers: Mapping[str, str]) -> tuple[str, float]:
    """(access_token, expires_in seconds) from a successful POST /oauth/token."""
    body = json_or_none(content)
    token = body.get("access_token") if isinstance(body, dict) else None
    if not token:
        message = "the OAuth token answer has no access_token"
        raise GenesysTransportError(status, "invalid.token.response", message, correlation_id_from(headers))
    try:
        expires_in = float(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        expires_in = 0.0
    return str(token), (expires_in if expires_in > 0 else FALLBACK_TOKEN_SECONDS)

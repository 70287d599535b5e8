"""POST /oauth/token: the client-credentials grant (Basic auth, form body grant_type=client_credentials).

The SDK derives the login host by replacing `//api.` with `//login.`; the sandbox's base URL has no `api.`
label, so the SDK posts to the same host, which is why this route sits next to /api/v2.
"""

from __future__ import annotations

import base64
import binascii
import math
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from genesys_sandbox.errors import error_body, too_many_requests
from genesys_sandbox.routes_common import sandbox

router = APIRouter()


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "description": description, "error_description": description}, status_code=status
    )


@router.post("/oauth/token")
async def post_token(request: Request) -> JSONResponse:
    state = sandbox(request)
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(raw).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id, client_secret = _basic_credentials(request.headers.get("authorization", ""))
    if client_id is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
    settings = state.settings
    known = settings.client_credentials()
    if client_id is None or known.get(client_id) != client_secret:
        return _oauth_error(401, "invalid_client", "client not found or bad client secret")
    if state.token_requests is not None:
        # Token creation is limited per client (value UNCONFIRMED): the normalized 429 with Retry-After.
        rate = state.token_requests.hit(client_id)
        if rate.exceeded:
            error = too_many_requests(rate.reset_seconds)
            return JSONResponse(
                error_body(429, error.code, error.message, request.state.correlation_id),
                status_code=429,
                headers=error.headers,
            )
    token = state.tokens.issue(client_id, settings.token_ttl_seconds)
    # the TTL is sandbox time; the caller counts expires_in on its own clock (rounded down: never later)
    expires_in = max(1, math.floor(state.clock.caller_seconds(settings.token_ttl_seconds)))
    return JSONResponse({"access_token": token.value, "token_type": "bearer", "expires_in": expires_in})


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)

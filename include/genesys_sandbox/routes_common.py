"""Small helpers shared by the route modules."""

from __future__ import annotations

import uuid

from fastapi import Request

from genesys_sandbox.errors import bad_request
from genesys_sandbox.state import SandboxState


def sandbox(request: Request) -> SandboxState:
    return request.app.state.sandbox


def caller_id(request: Request) -> str:
    """A stable id for the OAuth client that made the request (GDPRRequest.createdBy)."""
    token = getattr(request.state, "token", None)
    client = token.client_id if token is not None else "anonymous"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-oauth-client:{client}"))


def check_page(page_size: int, page_number: int, *, max_size: int) -> None:
    if not 1 <= page_size <= max_size:
        raise bad_request(f"pageSize must be between 1 and {max_size}.", "pageSize")
    if page_number < 1:
        raise bad_request("pageNumber must be at least 1.", "pageNumber")

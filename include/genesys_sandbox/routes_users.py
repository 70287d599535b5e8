"""GET /api/v2/users: the org's users (agents), paged, as identity resolution lists them once per run to
find staff links locally instead of asking `GET /api/v2/gdpr/subjects` per identifier."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from genesys_sandbox.errors import bad_request
from genesys_sandbox.model import Agent
from genesys_sandbox.paging import entity_listing
from genesys_sandbox.routes_common import check_page, sandbox

router = APIRouter()
USERS_PATH = "/api/v2/users"
MAX_PAGE_SIZE = 500
STATES = ("active", "inactive", "deleted", "any")


@router.get(USERS_PATH)
def list_users(
    request: Request,
    page_size: int = Query(25, alias="pageSize"),
    page_number: int = Query(1, alias="pageNumber"),
    state: str = Query("active"),
) -> JSONResponse:
    check_page(page_size, page_number, max_size=MAX_PAGE_SIZE)
    if state not in STATES:
        raise bad_request(f"state must be one of {', '.join(STATES)}.", "state")
    org = sandbox(request).org
    with org.lock:
        agents = sorted(org.agents.values(), key=lambda a: a.id)
        division = org.division_id
    if state != "any":
        # a former agent (a GDPR subject by userId) is an inactive user; none is deleted in the sandbox
        agents = [a for a in agents if _state(a) == state]
    chunk = agents[(page_number - 1) * page_size : page_number * page_size]
    listing = entity_listing(
        [_user(a, division) for a in chunk],
        page_size=page_size,
        page_number=page_number,
        total=len(agents),
        path=USERS_PATH,
        extra={"state": state},
    )
    return JSONResponse(listing)


def _state(agent: Agent) -> str:
    return "active" if agent.active else "inactive"


def _user(agent: Agent, division_id: str) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": agent.id,
        "name": agent.name,
        "division": {"id": division_id, "selfUri": f"/api/v2/authorization/divisions/{division_id}"},
        "state": _state(agent),
        "version": 1,
        "selfUri": f"{USERS_PATH}/{agent.id}",
    }
    if agent.email:
        user["email"] = agent.email
        user["username"] = agent.email
        user["primaryContactInfo"] = [{"address": agent.email, "mediaType": "EMAIL", "type": "PRIMARY"}]
    return user

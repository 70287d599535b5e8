"""Org facts the preflight reads (org limits, analytics data retention, divisions, the divisions the
client's role covers) and the denied-permission knob: routes listed in `denied_paths` answer 403
`missing.permissions`, as for a client whose role lacks the permission. `install(app)` adds both to the
application. The division helpers here also say which division a seeded object is in and whether the
client's role covers it (`role_divisions`, `division_denial`)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Match

from genesys_sandbox.divisions import covered_division_ids, division_id, names
from genesys_sandbox.errors import bad_request, error_body, not_found
from genesys_sandbox.paging import entity_listing
from genesys_sandbox.routes_common import check_page, sandbox
from genesys_sandbox.settings import SandboxSettings

router = APIRouter()
MAX_DIVISION_PAGE_SIZE = 100
# The namespace whose limits the pipeline depends on: the per-token request budget.
API_NAMESPACE = "platform.api"
TOKEN_RATE_KEY = "client.credentials.token.rate.per.minute"

# The permission a client lacks when Genesys refuses a route (named in the 403 message, as Genesys does).
PERMISSIONS = {
    "GET /api/v2/gdpr/requests": "gdpr:request:view",
    "POST /api/v2/gdpr/requests": "gdpr:request:add",
    "GET /api/v2/gdpr/requests/{requestId}": "gdpr:request:view",
    "GET /api/v2/gdpr/subjects": "gdpr:subject:view",
    "POST /api/v2/analytics/conversations/details/query": "analytics:conversationDetail:view",
    "POST /api/v2/analytics/conversations/details/jobs": "analytics:conversationDetail:view",
    "GET /api/v2/analytics/conversations/details": "analytics:conversationDetail:view",
    "GET /api/v2/analytics/conversations/{conversationId}/details": "analytics:conversationDetail:view",
    "GET /api/v2/analytics/dataretention/settings": "analytics:dataRetention:view",
    "GET /api/v2/conversations/{conversationId}": "conversation:communication:view",
    "GET /api/v2/conversations/{conversationId}/recordingmetadata": "recording:recording:view",
    "POST /api/v2/recordings/deletionprotection": "recording:deletionProtection:view",
    "GET /api/v2/externalcontacts/contacts": "externalContacts:contact:view",
    "GET /api/v2/externalcontacts/contacts/{contactId}": "externalContacts:contact:view",
    "DELETE /api/v2/externalcontacts/contacts/{contactId}": "externalContacts:contact:delete",
    "GET /api/v2/authorization/divisions": "authorization:division:view",
    "GET /api/v2/authorization/divisionspermitted/paged/me": "authorization:division:view",
    "GET /api/v2/organizations/limits/namespaces/{namespaceName}": "limits:organization:view",
}


def install(app: FastAPI) -> None:
    """Serve the org routes and deny the configured routes (inside the auth and rate-limit middleware, so
    a missing or expired token is still a 401 and a denied call still counts against the budget)."""
    app.include_router(router)
    app.middleware("http")(_deny_middleware)


def denied_route(settings: SandboxSettings, method: str, template: str) -> bool:
    denied = set(names(settings.denied_paths))
    return f"{method} {template}" in denied or template in denied


def analytics_retention_days(settings: SandboxSettings) -> int:
    """The configured retention, or (0) one long enough for every seeded year (today's behaviour: the
    analytics routes serve every seeded conversation)."""
    if settings.analytics_retention_days > 0:
        return settings.analytics_retention_days
    return math.ceil(settings.years * 366) + 1


def _route_template(request: Request) -> str | None:
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return getattr(route, "path", None)
    return None


async def _deny_middleware(request: Request, call_next: Any) -> Response:
    settings = sandbox(request).settings
    template = _route_template(request) if settings.denied_paths else None
    if template is None or not denied_route(settings, request.method, template):
        return await call_next(request)
    permission = PERMISSIONS.get(f"{request.method} {template}", "unknown:permission:view")
    message = (
        f"Unable to perform the requested action. You are missing the following permission(s): [{permission}]"
    )
    context_id = getattr(request.state, "correlation_id", "") or str(uuid.uuid4())
    body = error_body(403, "missing.permissions", message, context_id)
    body["messageParams"] = {"permissions": permission}
    return JSONResponse(body, status_code=403)


@router.get("/api/v2/organizations/limits/namespaces/{namespaceName}")
def get_limits_namespace(request: Request, namespaceName: str) -> JSONResponse:
    settings = sandbox(request).settings
    if namespaceName != API_NAMESPACE:
        raise not_found(f"The limits namespace {namespaceName!r}")
    per_minute = math.floor(settings.rate_limit_per_window * 60 / settings.rate_limit_window_seconds)
    entity = {"key": TOKEN_RATE_KEY, "namespace": API_NAMESPACE, "value": per_minute}
    return JSONResponse({"entities": [entity]})


@router.get("/api/v2/analytics/dataretention/settings")
def get_analytics_data_retention(request: Request) -> JSONResponse:
    state = sandbox(request)
    created = (state.clock.now() - timedelta(days=365)).isoformat().replace("+00:00", "Z")
    return JSONResponse(
        {
            "retentionDays": analytics_retention_days(state.settings),
            "dateCreated": created,
            "dateModified": created,
        }
    )


@router.get("/api/v2/authorization/divisions")
def get_divisions(
    request: Request,
    page_size: int = Query(25, alias="pageSize"),
    page_number: int = Query(1, alias="pageNumber"),
) -> JSONResponse:
    check_page(page_size, page_number, max_size=MAX_DIVISION_PAGE_SIZE)
    divisions = list(_divisions(names(sandbox(request).settings.divisions), str(request.base_url)))
    chunk = divisions[(page_number - 1) * page_size : page_number * page_size]
    return JSONResponse(
        entity_listing(
            chunk,
            page_size=page_size,
            page_number=page_number,
            total=len(divisions),
            path="/api/v2/authorization/divisions",
        )
    )


@router.get("/api/v2/authorization/divisionspermitted/paged/me")
def get_divisions_permitted(
    request: Request,
    permission: str | None = None,
    page_size: int = Query(25, alias="pageSize"),
    page_number: int = Query(1, alias="pageNumber"),
) -> JSONResponse:
    """The divisions the client's role holds `permission` in (`DivsPermittedEntityListing`); every knob-less
    sandbox role holds every permission, so only `role_divisions` narrows the answer."""
    if not permission:
        raise bad_request("permission is required.", "permission")
    check_page(page_size, page_number, max_size=MAX_DIVISION_PAGE_SIZE)
    settings = sandbox(request).settings
    covered = covered_division_ids(settings)
    divisions = [
        d
        for d in _divisions(names(settings.divisions), str(request.base_url))
        if covered is None or d["id"] in covered
    ]
    chunk = divisions[(page_number - 1) * page_size : page_number * page_size]
    listing = entity_listing(
        chunk,
        page_size=page_size,
        page_number=page_number,
        total=len(divisions),
        path="/api/v2/authorization/divisionspermitted/paged/me",
        extra={"permission": permission},
    )
    listing["allDivsPermitted"] = covered is None
    return JSONResponse(listing)


def _divisions(names: Iterable[str], base_url: str) -> Iterable[dict[str, Any]]:
    for index, name in enumerate(names):
        the_id = division_id(name)
        yield {
            "id": the_id,
            "name": name,
            "description": "",
            "homeDivision": index == 0,
            "selfUri": f"/api/v2/authorization/divisions/{the_id}",
        }

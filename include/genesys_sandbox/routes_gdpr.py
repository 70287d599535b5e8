"""The four GDPR operations: POST/GET requests, GET requests/{id}, GET subjects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from genesys_sandbox.errors import bad_request, too_many_requests
from genesys_sandbox.gdpr import SEARCH_TYPES, render_request, validate_request_body
from genesys_sandbox.paging import entity_listing
from genesys_sandbox.routes_common import caller_id, check_page, sandbox
from genesys_sandbox.subjects import search_subjects

router = APIRouter()
MAX_PAGE_SIZE = 100


@router.post("/api/v2/gdpr/requests")
def post_gdpr_request(
    request: Request,
    body: Annotated[Any, Body()] = None,
    delete_confirmed: bool = Query(False, alias="deleteConfirmed"),
) -> JSONResponse:
    state = sandbox(request)
    request_type, subject, terms, name = validate_request_body(body, delete_confirmed)
    if state.faults.take_gdpr_rejection():
        raise bad_request("The subject of the request is invalid.", "subject", "gdpr.subject.invalid")
    if state.gdpr_quota is not None:
        # One quota for the whole org, whichever OAuth client posts (ASSUMPTIONS.md, "GDPR at volume").
        quota = state.gdpr_quota.hit("org")
        if quota.exceeded:
            raise too_many_requests(quota.reset_seconds)
    created = state.gdpr.create(request_type, subject, terms, name, caller_id(request))
    hold = state.faults.take_gdpr_hold()
    if hold is not None:  # the request exists at "Genesys"; its caller hears of it only once released
        hold.hold(created.id)
    return JSONResponse(render_request(created, str(request.base_url)), status_code=202)


@router.get("/api/v2/gdpr/requests")
def get_gdpr_requests(
    request: Request,
    page_size: int = Query(25, alias="pageSize"),
    page_number: int = Query(1, alias="pageNumber"),
) -> JSONResponse:
    check_page(page_size, page_number, max_size=MAX_PAGE_SIZE)
    state = sandbox(request)
    # A larger pageSize is silently cut to the org's cap; the listing reports the size it used.
    page_size = min(page_size, state.settings.gdpr_list_page_size_cap)
    chunk, total = state.gdpr.poll_page(page_size, page_number)
    base = str(request.base_url)
    return JSONResponse(
        entity_listing(
            [render_request(r, base) for r in chunk],
            page_size=page_size,
            page_number=page_number,
            total=total,
            path="/api/v2/gdpr/requests",
        )
    )


@router.get("/api/v2/gdpr/requests/{requestId}")
def get_gdpr_request(request: Request, requestId: str) -> JSONResponse:
    found = sandbox(request).gdpr.poll(requestId)
    return JSONResponse(render_request(found, str(request.base_url)))


@router.get("/api/v2/gdpr/subjects")
def get_gdpr_subjects(
    request: Request,
    search_type: str | None = Query(None, alias="searchType"),
    search_value: str | None = Query(None, alias="searchValue"),
) -> JSONResponse:
    if not search_type:
        raise bad_request("searchType is required.", "searchType")
    if search_type not in SEARCH_TYPES:
        raise bad_request(f"searchType must be one of {', '.join(SEARCH_TYPES)}.", "searchType")
    if not search_value or not search_value.strip():
        raise bad_request("searchValue is required.", "searchValue")
    entities = search_subjects(sandbox(request).org, search_type, search_value)
    listing = entity_listing(
        entities,
        page_size=max(25, len(entities)),
        page_number=1,
        total=len(entities),
        path="/api/v2/gdpr/subjects",
        extra={"searchType": search_type},
    )
    # the listing's URIs must not echo the searched value (it is personal data)
    return JSONResponse(listing)

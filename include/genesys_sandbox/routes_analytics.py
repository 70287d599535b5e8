"""Analytics conversation details: the query, the async jobs trio, availability, and look-ups by id.

Route order matters: the fixed paths (`/details/query`, `/details/jobs...`) are declared before the
parametrised `/{conversationId}/details`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from genesys_sandbox.candidates import candidate_conversations
from genesys_sandbox.clock import format_instant
from genesys_sandbox.divisions import only_visible
from genesys_sandbox.errors import ApiError, bad_request, detail, not_found
from genesys_sandbox.filters import (
    conversation_matches,
    parse_query,
    sort_key,
    started_on_touched_day,
)
from genesys_sandbox.jobs import JOB_FAILED_MESSAGE
from genesys_sandbox.model import Conversation
from genesys_sandbox.routes_common import sandbox
from genesys_sandbox.views import analytics_conversation

router = APIRouter()
PREFIX = "/api/v2/analytics/conversations"
MAX_IDS = 100


@router.post(f"{PREFIX}/details/query")
def post_details_query(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    state = sandbox(request)
    settings = state.settings
    query = parse_query(body, job=False, count_touched_days=settings.details_query_counts_touched_days)
    window = settings.details_query_max_results
    if window and query.page_number * query.page_size > window:
        raise bad_request(
            f"paging.pageNumber * paging.pageSize must be <= {window}; narrow the query instead.",
            "paging.pageNumber",
        )
    org = state.org
    with org.lock:
        # widen to whole UTC days: the query matches conversations started on a day the interval touches
        day_start = query.start.replace(hour=0, minute=0, second=0, microsecond=0)
        candidates = candidate_conversations(org, query, job=False)
        if candidates is None:
            candidates = org.conversations_started_between(day_start, query.end + timedelta(days=1))
        selected = [
            c
            for c in candidates
            if started_on_touched_day(c, query.start, query.end) and conversation_matches(c, query, job=False)
        ]
        selected = only_visible(state.settings, selected, _division)
        selected.sort(key=sort_key(query.order_by), reverse=query.order == "desc")
        first = (query.page_number - 1) * query.page_size
        page = [analytics_conversation(c) for c in selected[first : first + query.page_size]]
    result: dict[str, Any] = {"totalHits": len(selected)}
    if page:
        result["conversations"] = page  # absent when empty, as the real API does
    return JSONResponse(result)


@router.post(f"{PREFIX}/details/jobs")
def post_details_job(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    query = parse_query(body, job=True)
    job = sandbox(request).jobs.submit(query)
    return JSONResponse({"jobId": job.id}, status_code=202)


@router.get(f"{PREFIX}/details/jobs/availability")
def get_jobs_availability(request: Request) -> JSONResponse:
    return JSONResponse(
        {"dataAvailabilityDate": format_instant(sandbox(request).jobs.data_availability_date())}
    )


@router.get(f"{PREFIX}/details/jobs/{{jobId}}")
def get_job_status(request: Request, jobId: str) -> JSONResponse:
    jobs = sandbox(request).jobs
    job, state = jobs.poll(jobId)
    status: dict[str, Any] = {"state": state, "submissionDate": format_instant(job.submitted)}
    if state == "FAILED":
        status["errorMessage"] = JOB_FAILED_MESSAGE
    else:
        status["expirationDate"] = format_instant(jobs.expiration(job))
    if state in ("FULFILLED", "EXPIRED", "FAILED"):
        status["completionDate"] = format_instant(job.completed)
    return JSONResponse(status)


@router.delete(f"{PREFIX}/details/jobs/{{jobId}}")
def delete_job(request: Request, jobId: str) -> Response:
    sandbox(request).jobs.cancel(jobId)
    return Response(status_code=204)


@router.get(f"{PREFIX}/details/jobs/{{jobId}}/results")
def get_job_results(
    request: Request,
    jobId: str,
    cursor: str | None = None,
    page_size: int | None = Query(None, alias="pageSize"),
) -> JSONResponse:
    state = sandbox(request)
    job, ids, next_cursor = state.jobs.results(jobId, cursor, page_size)
    lake = state.jobs.lake
    with state.org.lock:
        found = [state.org.conversations[i] for i in ids if i in state.org.conversations]
        conversations = [
            analytics_conversation(lake.as_of(c, job.lake_watermark), with_attributes=True)
            for c in only_visible(state.settings, found, _division)
        ]
    result: dict[str, Any] = {"dataAvailabilityDate": format_instant(job.data_availability)}
    if conversations:
        result["conversations"] = conversations
    if next_cursor:
        result["cursor"] = next_cursor
    budget = state.settings.job_results_max_page_bytes
    if budget and len(json.dumps(result, separators=(",", ":"))) > budget:
        raise ApiError(
            400,
            "response.entity.too.large",
            f"The response would exceed {budget} bytes. Reduce pageSize.",
            details=[detail("pageSize", "response.entity.too.large")],
        )
    return JSONResponse(result)


@router.get(f"{PREFIX}/details")
def get_details_by_ids(request: Request, id: str | None = None) -> JSONResponse:
    ids = [part.strip() for part in (id or "").split(",") if part.strip()]
    if not ids:
        raise bad_request("id is required: a comma-separated list of conversation ids.", "id")
    if len(ids) > MAX_IDS:
        raise bad_request(f"At most {MAX_IDS} conversation ids per request.", "id")
    state = sandbox(request)
    org, lake = state.org, state.jobs.lake
    watermark = lake.watermark()
    with org.lock:
        known = [org.conversations[i] for i in ids if i in org.conversations]
        found = [
            analytics_conversation(lake.as_of(c, watermark))
            for c in only_visible(state.settings, known, _division)
        ]
    return JSONResponse({"conversations": found} if found else {})


@router.get(f"{PREFIX}/{{conversationId}}/details")
def get_conversation_details(request: Request, conversationId: str) -> JSONResponse:
    state = sandbox(request)
    org = state.org
    with org.lock:
        conversation = org.conversations.get(conversationId)
        if conversation is None or not only_visible(state.settings, [conversation], _division):
            raise not_found(f"Conversation {conversationId}")
        return JSONResponse(analytics_conversation(conversation))


def _division(conversation: Conversation) -> str:
    return conversation.division_id

"""The sandbox's own admin surface under /sandbox/ (NOT part of the Genesys API; no auth, not counted,
not rate limited), so a sandbox in another process (docker-compose, `airflow standalone`) can be
inspected, seeded with test subjects and given faults."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from genesys_sandbox.clock import format_instant, parse_instant
from genesys_sandbox.control import SandboxControl
from genesys_sandbox.errors import bad_request, not_found
from genesys_sandbox.routes_common import sandbox

router = APIRouter(prefix="/sandbox")


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/org/summary")
def org_summary(request: Request) -> dict[str, Any]:
    state = sandbox(request)
    summary = state.org.summary()
    summary["counts"]["gdprRequests"] = state.gdpr.count()
    summary["dataAvailabilityDate"] = format_instant(state.jobs.data_availability_date())
    summary["credentials"] = {"clientId": state.settings.client_id}
    summary["faults"] = state.faults.snapshot()
    summary["limits"] = {
        "ratePerWindow": state.settings.rate_limit_per_window,
        "windowSeconds": state.settings.rate_limit_window_seconds,
        "tokenTtlSeconds": state.settings.token_ttl_seconds,
        "gdprStepSeconds": state.settings.gdpr_step_seconds,
        "analyticsLagHours": state.settings.analytics_lag_hours,
    }
    return summary


@router.get("/org/customers")
def list_customers(
    request: Request,
    activity: str | None = None,
    fragmented: bool | None = None,
    placeholder: bool | None = None,
    external_contact: bool | None = Query(None, alias="externalContact"),
    has_active_conversation: bool | None = Query(None, alias="hasActiveConversation"),
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    org = sandbox(request).org
    customers = org.customers_where(
        activity=activity,
        fragmented=fragmented,
        placeholder=placeholder,
        external_contact=external_contact,
        has_active_conversation=has_active_conversation,
    )
    return {
        "total": len(customers),
        "customers": [org.describe_customer(c) for c in customers[offset : offset + limit]],
    }


@router.get("/org/customers/{customer_id}")
def get_customer(request: Request, customer_id: str) -> dict[str, Any]:
    org = sandbox(request).org
    customer = org.customers.get(customer_id)
    if customer is None:
        raise not_found(f"Customer {customer_id}")
    return org.describe_customer(customer)


@router.post("/org/customers", status_code=201)
def plant_customer(request: Request, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("body must be {emails, phones, name, externalContact}", "body")
    org = sandbox(request).org
    try:
        customer = org.add_customer(
            emails=list(body.get("emails") or []),
            phones=list(body.get("phones") or []),
            name=str(body.get("name") or "Planted Customer"),
            external_contact=bool(body.get("externalContact", True)),
            fragmented=bool(body.get("fragmented", False)),
        )
    except ValueError as error:
        raise bad_request(str(error), "body") from None
    return org.describe_customer(customer)


@router.post("/org/conversations", status_code=201)
def plant_conversation(request: Request, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Body: {customerId, media, direction, start, end (omit = ended after 7 min, null = active),
    recording, protected, contactValue}."""
    if not isinstance(body, dict) or "customerId" not in body:
        raise bad_request("body must hold customerId", "customerId")
    org = sandbox(request).org
    customer = org.customers.get(body["customerId"])
    if customer is None:
        raise not_found(f"Customer {body['customerId']}")
    kwargs: dict[str, Any] = {
        "media": body.get("media", "voice"),
        "direction": body.get("direction", "inbound"),
        "recording": bool(body.get("recording", True)),
        "protected": bool(body.get("protected", False)),
        "contact_value": body.get("contactValue"),
    }
    try:
        if body.get("start"):
            kwargs["start"] = parse_instant(body["start"])
        if "end" in body:
            kwargs["end"] = parse_instant(body["end"]) if body["end"] else None
        conversation_id = org.add_conversation(customer, **kwargs)
    except ValueError as error:
        raise bad_request(str(error), "body") from None
    return {"id": conversation_id}


@router.post("/faults")
def set_faults(request: Request, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """Body keys: error_rate_5xx, latency_ms, burst_429 ({count, retry_after} or a count),
    fail_next_requests ({count, status}), revoke_tokens, fail_next_gdpr_requests, reject_next_gdpr_requests,
    fail_next_analytics_jobs,
    advance_clock_seconds, reset_request_counts."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object of fault settings", "body")
    try:
        return SandboxControl(sandbox(request)).apply(body)
    except (TypeError, ValueError) as error:
        raise bad_request(str(error), "body") from None


@router.get("/requests/counts")
def request_counts(request: Request) -> dict[str, Any]:
    return SandboxControl(sandbox(request)).request_counts()


@router.post("/requests/counts/reset")
def reset_request_counts(request: Request) -> dict[str, Any]:
    control = SandboxControl(sandbox(request))
    control.reset_request_counts()
    return control.request_counts()


@router.get("/gdpr/exports/{request_id}")
def gdpr_export(request: Request, request_id: str) -> dict[str, Any]:
    found = sandbox(request).gdpr.get(request_id)
    if found.export is None:
        raise not_found(f"Export of GDPR request {request_id}")
    return found.export

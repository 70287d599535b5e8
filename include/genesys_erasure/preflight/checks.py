"""The read-only checks of the preflight and its signed report.

Each endpoint the pipeline uses is called once (with made-up search values and ids where one is needed,
so a 404 proves the permission without touching anyone's data); the org's facts are read from the
token, the rate-limit headers, the org limits, the GDPR request listing, the analytics data retention and
the divisions, with those the client's role covers for each permission the purge reads by (a division it
does not cover hides customers from the purge: see `preflight.divisions`). The report holds route
templates, status codes, error codes, permission names, numbers and division names: no request or
response values.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from genesys_erasure.evidence import sign_document, write_document
from genesys_erasure.preflight.divisions import PERMISSIONS as DIVISION_PERMISSIONS
from genesys_erasure.preflight.divisions import PERMITTED as DIVISIONS_PERMITTED
from genesys_erasure.preflight.probe import HttpProbe, Observation

REPORT_KIND = "genesys_preflight_report"
REPORT_VERSION = 1
# Largest first: the first size the GDPR request listing accepts is the largest it accepts (of these).
GDPR_PAGE_SIZES = (500, 250, 100, 50, 25)
# Values no person has: a search for them shows the permission and the answer's shape, nothing more.
PROBE_EMAIL = "preflight-probe@invalid.example"
PROBE_QUERY = "preflight-probe-no-such-contact"
PROBE_ID = str(uuid.UUID(int=0))
LIMIT_NAMESPACES = ("platform.api",)
# Genesys request budgets are per minute; the sandbox's window is set to match.
RATE_WINDOW_SECONDS = 60

GDPR_REQUESTS = "/api/v2/gdpr/requests"
GDPR_SUBJECTS = "/api/v2/gdpr/subjects"
DETAILS_QUERY = "/api/v2/analytics/conversations/details/query"
DETAILS = "/api/v2/analytics/conversations/details"
JOBS = "/api/v2/analytics/conversations/details/jobs"
JOB = "/api/v2/analytics/conversations/details/jobs/{jobId}"
AVAILABILITY = "/api/v2/analytics/conversations/details/jobs/availability"
CONVERSATION = "/api/v2/conversations/{conversationId}"
RECORDING_METADATA = "/api/v2/conversations/{conversationId}/recordingmetadata"
DISCONNECT = "/api/v2/conversations/{conversationId}/disconnect"
DELETION_PROTECTION = "/api/v2/recordings/deletionprotection"
CONTACTS = "/api/v2/externalcontacts/contacts"
CONTACT = "/api/v2/externalcontacts/contacts/{contactId}"
LIMITS = "/api/v2/organizations/limits/namespaces/{namespaceName}"
DATA_RETENTION = "/api/v2/analytics/dataretention/settings"
DIVISIONS = "/api/v2/authorization/divisions"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_checks(
    probe: HttpProbe, now: datetime | None = None, *, probe_writes: bool = False
) -> dict[str, Any]:
    """Call every endpoint the pipeline reads once and return the org's facts (see the module docstring);
    with `probe_writes`, also the write endpoints, in calls that cannot change anything (see
    `write_permissions`)."""
    now = now or datetime.now(UTC)
    probe.login()
    facts: dict[str, Any] = {"token_lifetime_seconds": probe.token_lifetime_seconds}
    facts["gdpr_requests"] = _gdpr_listing(probe)
    probe.call(
        "gdpr_subjects_search",
        "GET",
        GDPR_SUBJECTS,
        params={"searchType": "EMAIL", "searchValue": PROBE_EMAIL},
    )
    conversation_id = _analytics(probe, now)
    probe.call("conversation_get", "GET", CONVERSATION, path_values={"conversationId": conversation_id})
    probe.call(
        "recording_metadata", "GET", RECORDING_METADATA, path_values={"conversationId": conversation_id}
    )
    probe.call(
        "deletion_protection", "POST", DELETION_PROTECTION, json={"conversationIds": [conversation_id]}
    )
    probe.call("external_contacts_search", "GET", CONTACTS, params={"q": PROBE_QUERY, "pageSize": 1})
    probe.call("external_contact_get", "GET", CONTACT, path_values={"contactId": PROBE_ID})
    facts["org_limits"] = _org_limits(probe)
    retention = probe.call("analytics_data_retention", "GET", DATA_RETENTION).body
    days = retention.get("retentionDays") if isinstance(retention, Mapping) else None
    facts["analytics_data_retention_days"] = days if isinstance(days, int) else None
    facts["divisions"] = _divisions(probe)
    facts["write_permissions"] = write_permissions(probe) if probe_writes else None
    return {**facts, **observed(probe)}


def observed(probe: HttpProbe) -> dict[str, Any]:
    """What every call so far showed: rate limits per endpoint, missing permissions, the call list."""
    return {
        "rate_limits": rate_limits(probe.observations),
        "missing_permissions": missing_permissions(probe.observations),
        "calls": [o.as_dict() for o in probe.observations],
    }


def write_permissions(probe: HttpProbe) -> dict[str, str]:
    """Whether the client may submit GDPR requests, delete external contacts and disconnect
    conversations, asked in calls that cannot succeed: a GDPR request without a body (400, reported as
    `not_refused`, nothing is created) and a delete and a disconnect of a made-up id (404 when allowed)."""
    calls = (
        ("gdpr_submit", "POST", GDPR_REQUESTS, {}, {}),
        ("external_contact_delete", "DELETE", CONTACT, {"contactId": PROBE_ID}, None),
        ("conversation_disconnect", "POST", DISCONNECT, {"conversationId": PROBE_ID}, None),
    )
    verdicts: dict[str, str] = {}
    for name, method, template, path_values, body in calls:
        status = probe.call(f"{name}_permission", method, template, path_values=path_values, json=body)
        code = status.observation.status
        if code == 404:
            verdicts[name] = "permitted"
        elif code == 400:
            # Only as good as the assumption that Genesys checks permissions before the body.
            verdicts[name] = "not_refused"
        elif code == 403:
            verdicts[name] = "missing"
        else:
            verdicts[name] = f"unknown (HTTP {code})"
    return verdicts


def _gdpr_listing(probe: HttpProbe) -> dict[str, Any]:
    for size in GDPR_PAGE_SIZES:
        answer = probe.call(
            f"gdpr_requests_page_size_{size}", "GET", GDPR_REQUESTS, params={"pageSize": size}
        )
        if answer.observation.status == 400:
            continue  # too large a page: try the next size
        if not answer.observation.permitted or not isinstance(answer.body, Mapping):
            return {"largest_page_size": None, "order": "unknown", "requests_seen": 0}
        entities = [e for e in answer.body.get("entities") or [] if isinstance(e, Mapping)]
        served = answer.body.get("pageSize")
        return {
            # an API that clamps a large pageSize instead of refusing it says so in the listing's pageSize
            "largest_page_size": min(size, served) if isinstance(served, int) and served > 0 else size,
            "order": listing_order([str(e.get("createdDate") or "") for e in entities]),
            "requests_seen": len(entities),
        }
    return {"largest_page_size": None, "order": "unknown", "requests_seen": 0}


def listing_order(created: list[str]) -> str:
    """`newest_first`, `oldest_first` or `unknown` (fewer than two distinct dates, or mixed)."""
    dates = [d for d in created if d]
    if len(set(dates)) < 2:
        return "unknown"
    pairs = list(itertools.pairwise(dates))
    if all(a >= b for a, b in pairs):
        return "newest_first"
    if all(a <= b for a, b in pairs):
        return "oldest_first"
    return "unknown"


def _analytics(probe: HttpProbe, now: datetime) -> str:
    """Probe the details query, details by id and the jobs; the id of a recent conversation (or a
    made-up one) for the conversation probes."""
    interval = f"{_iso(now - timedelta(days=1))}/{_iso(now)}"
    query = probe.call(
        "analytics_details_query",
        "POST",
        DETAILS_QUERY,
        json={"interval": interval, "order": "desc", "paging": {"pageSize": 1, "pageNumber": 1}},
    ).body
    found = (query or {}).get("conversations") if isinstance(query, Mapping) else None
    conversation_id = PROBE_ID
    if found and isinstance(found[0], Mapping) and found[0].get("conversationId"):
        conversation_id = str(found[0]["conversationId"])
    probe.call("analytics_details_by_id", "GET", DETAILS, params={"id": conversation_id})
    probe.call("analytics_jobs_availability", "GET", AVAILABILITY)
    job = probe.call("analytics_job_submit", "POST", JOBS, json={"interval": interval}).body
    job_id = str(job.get("jobId")) if isinstance(job, Mapping) and job.get("jobId") else PROBE_ID
    probe.call("analytics_job_status", "GET", JOB, path_values={"jobId": job_id})
    return conversation_id


def _org_limits(probe: HttpProbe) -> dict[str, dict[str, int]]:
    limits: dict[str, dict[str, int]] = {}
    for namespace in LIMIT_NAMESPACES:
        body = probe.call("org_limits", "GET", LIMITS, path_values={"namespaceName": namespace}).body
        entries = body.get("entities") if isinstance(body, Mapping) else None
        limits[namespace] = {
            str(e["key"]): e["value"]
            for e in entries or []
            if isinstance(e, Mapping) and e.get("key") and isinstance(e.get("value"), int)
        }
    return limits


def _divisions(probe: HttpProbe) -> dict[str, Any]:
    body = probe.call("divisions", "GET", DIVISIONS, params={"pageSize": 100}).body
    entities = [e for e in (body or {}).get("entities") or [] if isinstance(e, Mapping)] if body else []
    total = body.get("total") if isinstance(body, Mapping) else None
    existing = {str(e.get("id")): str(e.get("name")) for e in entities}
    covered: dict[str, dict[str, Any]] = {}
    uncovered: set[str] = set()
    for permission in DIVISION_PERMISSIONS:
        answer = probe.call(
            f"divisions_permitted_{permission.split(':')[0]}",
            "GET",
            DIVISIONS_PERMITTED,
            params={"permission": permission, "pageSize": 100},
        ).body
        if not isinstance(answer, Mapping):
            covered[permission] = {"count": None, "all_divisions": None}
            uncovered |= existing.keys()  # unreadable: nothing is known to be covered
            continue
        permitted = {str(e.get("id")) for e in answer.get("entities") or [] if isinstance(e, Mapping)}
        covered[permission] = {
            "count": len(existing.keys() & permitted),
            "all_divisions": answer.get("allDivsPermitted") is True,
        }
        uncovered |= existing.keys() - permitted
    return {
        "count": total if isinstance(total, int) else len(entities),
        "names": [str(e.get("name")) for e in entities],
        "home": next((str(e.get("name")) for e in entities if e.get("homeDivision")), None),
        # per permission: how many of the listed divisions the role covers, and whether it holds "all"
        "covered": covered,
        "uncovered_names": [name for division_id, name in existing.items() if division_id in uncovered],
    }


def rate_limits(observations: list[Observation]) -> dict[str, dict[str, int]]:
    """The last rate-limit headers seen per endpoint (Genesys budgets some resources separately)."""
    seen: dict[str, dict[str, int]] = {}
    for observation in observations:
        if observation.rate_limit:
            seen[observation.endpoint] = dict(observation.rate_limit)
    return seen


def missing_permissions(observations: list[Observation]) -> list[dict[str, Any]]:
    """Each endpoint that answered 403, with the permission(s) Genesys named."""
    named: dict[str, list[str]] = {}
    for observation in observations:
        if observation.status == 403:
            permissions = named.setdefault(observation.endpoint, [])
            permissions.extend(p for p in observation.missing_permissions if p not in permissions)
    return [{"endpoint": endpoint, "permissions": names} for endpoint, names in named.items()]


def matching_sandbox_settings(facts: Mapping[str, Any], canary: Mapping[str, Any] | None) -> dict[str, Any]:
    """The `SandboxSettings` values the org appears to match (for `SandboxSettings.from_dict`)."""
    settings: dict[str, Any] = {}
    if facts.get("token_lifetime_seconds"):
        settings["token_ttl_seconds"] = facts["token_lifetime_seconds"]
    allowed = [v["allowed"] for v in (facts.get("rate_limits") or {}).values() if "allowed" in v]
    if allowed:
        settings["rate_limit_per_window"] = min(allowed)
        settings["rate_limit_window_seconds"] = RATE_WINDOW_SECONDS
    if facts.get("analytics_data_retention_days") is not None:
        settings["analytics_retention_days"] = facts["analytics_data_retention_days"]
    names = (facts.get("divisions") or {}).get("names")
    if names:
        settings["divisions"] = ",".join(names)
        uncovered = (facts.get("divisions") or {}).get("uncovered_names") or []
        covered = [n for n in names if n not in uncovered]
        # an empty role_divisions means every division, so a role covering none has no matching value
        if uncovered and covered:
            settings["role_divisions"] = ",".join(covered)
    # comma-separated, as the sandbox takes them (its CLI passes plain strings)
    settings["denied_paths"] = ",".join(entry["endpoint"] for entry in facts.get("missing_permissions") or [])
    if canary and canary.get("gdpr_step_milliseconds") is not None:
        # at least a millisecond: sandbox requests move with time only (a step of 0 never ends)
        settings["gdpr_step_seconds"] = max(0.001, round(canary["gdpr_step_milliseconds"] / 1000, 3))
    return settings


def build_report(
    facts: Mapping[str, Any],
    key: bytes,
    *,
    api_url: str,
    canary: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The signed preflight report (HMAC-SHA256 like the run reports; verify with
    `genesys_erasure.evidence.verify_report`)."""
    document = {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "generated_at": _iso(generated_at or datetime.now(UTC)),
        "api_url": api_url,
        "mode": "canary" if canary is not None else "read_only",
        "facts": dict(facts),
        "canary": dict(canary) if canary is not None else None,
        "matching_sandbox_settings": matching_sandbox_settings(facts, canary),
    }
    return sign_document(document, key)


def write_report(report: Mapping[str, Any], out_dir: str | Path) -> Path:
    stamp = str(report["generated_at"]).replace(":", "").replace("-", "").replace(".", "")
    return write_document(report, Path(out_dir) / f"preflight-report-{stamp}.json", html=False)


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """A readable summary for the task log or the terminal (the report's facts, no values)."""
    facts = report["facts"]
    gdpr = facts.get("gdpr_requests") or {}
    divisions = facts.get("divisions") or {}
    lines = [
        f"Genesys preflight ({report['mode']}) against {report['api_url']}",
        f"  token lifetime: {facts.get('token_lifetime_seconds')} s",
        f"  analytics data retention: {facts.get('analytics_data_retention_days')} days",
        f"  GDPR request listing: {gdpr.get('order')}, largest pageSize {gdpr.get('largest_page_size')}",
        f"  divisions visible: {divisions.get('count')} (home: {divisions.get('home')})",
        *(
            f"  divisions covered for {permission}: {seen.get('count')} of {divisions.get('count')}"
            for permission, seen in (divisions.get("covered") or {}).items()
        ),
        f"  org limits: {facts.get('org_limits')}",
    ]
    by_allowed: dict[Any, list[str]] = {}
    for endpoint, headers in sorted((facts.get("rate_limits") or {}).items()):
        by_allowed.setdefault(headers.get("allowed"), []).append(endpoint)
    for allowed, endpoints in by_allowed.items():
        lines.append(f"  rate limit: {allowed} requests per window on {len(endpoints)} endpoint(s)")
    writes = facts.get("write_permissions")
    lines.append(f"  write permissions: {writes if writes is not None else 'not probed'}")
    missing = facts.get("missing_permissions") or []
    lines.append(f"  missing permissions: {len(missing)}")
    for entry in missing:
        lines.append(f"    {entry['endpoint']}: {', '.join(entry['permissions']) or 'not named'}")
    canary = report.get("canary")
    if canary:
        lines.append(
            f"  canary: GDPR_DELETE {canary.get('final_status')} after {canary.get('milliseconds')} ms; "
            f"contact after: {canary.get('contact_after')}"
        )
    lines.append(f"  matching sandbox settings: {report.get('matching_sandbox_settings')}")
    return lines

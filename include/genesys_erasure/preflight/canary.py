"""The canary erasure: one GDPR_DELETE of a test external contact the engineer names, observed closely.

Off unless asked for. It reads the contact, its recent conversations' analytics details and their
recording metadata, submits ONE GDPR_DELETE for `{externalContactId}` (never retried: a second request
would be a second erasure), polls the request until it ends, reads everything again and reports the
STRUCTURE before and after (key paths with JSON types, and counts; never a value), how long the request
took, and the status path it went through. A contact that does not exist is not erased: the canary stops.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from genesys_erasure.preflight.checks import (
    CONTACT,
    DETAILS,
    DETAILS_QUERY,
    GDPR_REQUESTS,
    RECORDING_METADATA,
    _iso,
)
from genesys_erasure.preflight.probe import HttpProbe
from genesys_erasure.verification import MAP_FIELDS

GDPR_REQUEST = "/api/v2/gdpr/requests/{requestId}"
FINAL_STATUSES = frozenset({"COMPLETED", "ERROR", "FAILED"})
# The details query allows at most 31 days when it filters, possibly counted as the UTC days it touches.
LOOKBACK_DAYS = 31


@dataclass(frozen=True)
class CanaryOptions:
    contact_id: str
    timeout_seconds: float = 900.0
    poll_seconds: float = 2.0
    max_conversations: int = 5


def structure(value: Any) -> Any:
    """The shape of a JSON value: dicts keep their keys, lists the merged shape of their items, scalars
    become their JSON type name. Maps that flows fill (`attributes`, `customFields`, ...) keep no keys: a
    flow may name a key after the caller, so only the shape of their values is reported, under `*`."""
    if isinstance(value, Mapping):
        return {
            str(k): _map_shape(v) if k in MAP_FIELDS and isinstance(v, Mapping) else structure(v)
            for k, v in sorted(value.items())
        }
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = _merge(merged, structure(item))
        return [merged] if merged is not None else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


def _map_shape(value: Mapping[str, Any]) -> dict[str, Any]:
    merged: Any = None
    for item in value.values():
        merged = _merge(merged, structure(item))
    return {"*": merged} if merged is not None else {}


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in sorted(set(a) | set(b))}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0] if a else None, b[0] if b else None)] if (a or b) else []
    return a if a == b else f"{a}|{b}" if isinstance(a, str) and isinstance(b, str) else a


def key_paths(shape: Any, prefix: str = "") -> set[str]:
    """`participants[].sessions[].ani:string`-style paths of a `structure()` (none for an absent value:
    a deleted contact has no paths, not a `None` one)."""
    if shape is None:
        return set()
    if isinstance(shape, dict):
        paths: set[str] = set()
        for key, inner in shape.items():
            paths |= key_paths(inner, f"{prefix}.{key}" if prefix else key)
        return paths or {f"{prefix}:object"}
    if isinstance(shape, list):
        return key_paths(shape[0], f"{prefix}[]") if shape else {f"{prefix}:empty-list"}
    return {f"{prefix}:{shape}"}


def _difference(before: Any, after: Any) -> dict[str, list[str]]:
    old, new = key_paths(before), key_paths(after)
    return {"removed": sorted(old - new), "added": sorted(new - old)}


def _snapshot(
    probe: HttpProbe, contact_id: str, conversation_ids: Iterable[str], phase: str
) -> dict[str, Any]:
    contact = probe.call(f"canary_contact_{phase}", "GET", CONTACT, path_values={"contactId": contact_id})
    ids = list(conversation_ids)
    details: list[Any] = []
    recordings: list[Any] = []
    if ids:
        answer = probe.call(f"canary_details_{phase}", "GET", DETAILS, params={"id": ",".join(ids)}).body
        details = list((answer or {}).get("conversations") or []) if isinstance(answer, Mapping) else []
        for conversation_id in ids:
            metadata = probe.call(
                f"canary_recordings_{phase}",
                "GET",
                RECORDING_METADATA,
                path_values={"conversationId": conversation_id},
            ).body
            recordings.extend(metadata if isinstance(metadata, list) else [])
    return {
        "contact_status": contact.observation.status,
        "contact": structure(contact.body) if contact.body is not None else None,
        "conversations": len(details),
        "details": structure(details),
        "recordings": len(recordings),
        "recording_metadata": structure(recordings),
    }


def _conversations_of(probe: HttpProbe, options: CanaryOptions, now: datetime) -> list[str]:
    body = {
        # from a UTC midnight, so the interval touches LOOKBACK_DAYS UTC days, not one more
        "interval": f"{_iso(_midnight(now) - timedelta(days=LOOKBACK_DAYS - 1))}/{_iso(now)}",
        "order": "desc",
        "segmentFilters": [
            {
                "type": "and",
                "predicates": [{"dimension": "externalContactId", "value": options.contact_id}],
            }
        ],
        "paging": {"pageSize": options.max_conversations, "pageNumber": 1},
    }
    answer = probe.call("canary_find_conversations", "POST", DETAILS_QUERY, json=body).body
    found = (answer or {}).get("conversations") if isinstance(answer, Mapping) else None
    return [
        str(c["conversationId"]) for c in found or [] if isinstance(c, Mapping) and c.get("conversationId")
    ]


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def run_canary(probe: HttpProbe, options: CanaryOptions, now: datetime | None = None) -> dict[str, Any]:
    """Erase the test contact once and report what changed (see the module docstring)."""
    now = now or datetime.now(UTC)
    conversation_ids = _conversations_of(probe, options, now)
    before = _snapshot(probe, options.contact_id, conversation_ids, "before")
    result: dict[str, Any] = {"conversations_found": len(conversation_ids), "before": before}
    if before["contact_status"] != 200:
        result["skipped"] = f"the test contact could not be read (HTTP {before['contact_status']})"
        return result
    started = time.monotonic()
    submitted = probe.call(
        "canary_gdpr_delete",
        "POST",
        GDPR_REQUESTS,
        params={"deleteConfirmed": "true"},
        json={"requestType": "GDPR_DELETE", "subject": {"externalContactId": options.contact_id}},
    )
    request_id = submitted.body.get("id") if isinstance(submitted.body, Mapping) else None
    if not request_id:
        result["skipped"] = f"the GDPR_DELETE was not accepted (HTTP {submitted.observation.status})"
        return result
    statuses = [str(submitted.body.get("status"))]
    while statuses[-1] not in FINAL_STATUSES and time.monotonic() - started < options.timeout_seconds:
        time.sleep(options.poll_seconds)
        polled = probe.call(
            "canary_gdpr_status", "GET", GDPR_REQUEST, path_values={"requestId": str(request_id)}
        ).body
        status = str(polled.get("status")) if isinstance(polled, Mapping) else "unreadable"
        if status != statuses[-1]:
            statuses.append(status)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    after = _snapshot(probe, options.contact_id, conversation_ids, "after")
    steps = max(1, len(statuses) - 1)
    result.update(
        {
            "final_status": statuses[-1],
            "status_path": statuses,
            "milliseconds": elapsed_ms,
            # Upper bound per step: polling only sees a step once it happened.
            "gdpr_step_milliseconds": round(elapsed_ms / steps) if statuses[-1] == "COMPLETED" else None,
            "after": after,
            "contact_after": _contact_after(before, after),
            "details_change": _difference(before["details"], after["details"]),
            "recording_metadata_change": _difference(
                before["recording_metadata"], after["recording_metadata"]
            ),
            "contact_change": _difference(before["contact"], after["contact"]),
        }
    )
    return result


def _contact_after(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    if after["contact_status"] == 404:
        return "deleted"
    if after["contact_status"] != 200:
        return f"unreadable (HTTP {after['contact_status']})"
    return "unchanged structure" if before["contact"] == after["contact"] else "fields removed or changed"

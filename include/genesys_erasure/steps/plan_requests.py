"""How a plan request is built: from the nightly scan's expired customers, or from the identifiers a
data-subject request names. Both end in `plan.plan_erasure`; the summaries they return are what the
tasks put in XCom and what the approver sees (counts and keyed-hash prefixes only)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from genesys_erasure.dsr import DsrRequest
from genesys_erasure.guards import check_purge_fraction
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectSource, SubjectState
from genesys_erasure.ledger.reads import ERASED_STATES
from genesys_erasure.steps import scan
from genesys_erasure.steps.last_contacts import RecentContacts
from genesys_erasure.steps.plan import PlanRequest, Seed, plan_erasure, request_satisfied_by
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.subject_conversations import FoundConversations, find_conversations

log = logging.getLogger(__name__)

# The run-workspace key under which the ad-hoc DAG hands the analyst's identifiers (sealed) to planning.
SUBJECTS_HANDOFF = "dsr_subjects"


def _seeds(entries: list[dict[str, Any]], stalled: bool) -> list[Seed]:
    return [
        Seed(
            Identifier(IdentifierKind(entry["kind"]), entry["value"]),
            conversation_ids=tuple(entry["conversation_ids"]),
            conversation_count=entry["conversation_count"],
            stalled=stalled,
            raw_forms=tuple(entry.get("raw_forms") or ()),
            last_contact=scan.parse_instant(entry["last_contact"]) if entry.get("last_contact") else None,
            # absent from a hand-off written before it: unknown, so verification reads every live view
            attribute_conversation_ids=(
                tuple(entry["attribute_conversation_ids"]) if "attribute_conversation_ids" in entry else None
            ),
        )
        for entry in entries
    ]


def plan_retention_purge(
    runtime: ErasureRuntime, run_id: str, now: datetime, *, scan_counts: dict[str, Any]
) -> dict[str, Any]:
    """Plan the customers the scan found expired (and those whose last conversation is still active),
    once the purge fraction allows it."""
    found = scan.load_scan(runtime, run_id)
    request = PlanRequest(
        seeds=_seeds(found["expired"], stalled=False) + _seeds(found["stalled"], stalled=True),
        source=SubjectSource.RETENTION,
        # who had contact since the cutoff: asked of the last-contact index, never listed in the workspace
        recent=RecentContacts(runtime.last_contacts, runtime.hasher, scan.parse_instant(found["cutoff"])),
        carry_over=True,
        # the incremental scan would never find a failed subject again: the nightly run retries it
        retry_failed=True,
        extra={"scan": {k: v for k, v in scan_counts.items() if k != "unreadable_values"}},
    )
    check_purge_fraction(
        len(found["expired"]), max(found["customers_seen"], 1), runtime.config.max_purge_fraction
    )
    return plan_erasure(runtime, run_id, request, now)


def _erased_earlier(
    runtime: ErasureRuntime, identifiers, request_type: str, last_start: Mapping[Identifier, datetime]
) -> dict[Identifier, dict[str, Any]]:
    """Identifiers a request that fulfils this one already carried in an earlier run: verified, or still
    on its way (in flight, or erasure pending at Genesys: a later run verifies it). Not submitted again.
    Compared per identifier hash: the nightly purge's subject holds more identifiers than an analyst gives,
    and once a lagging contact delete lands, resolution no longer reaches the rest of that subject. A
    pseudonymisation (GDPR_UPDATE) does not fulfil a delete: that person is planned. Nor does an erasure
    the person came back after: a conversation started after Genesys completed it is new data."""
    earlier: dict[Identifier, dict[str, Any]] = {}
    ledger = runtime.ledger
    for identifier in identifiers:
        rows = ledger.lookup_identifier_hash(runtime.hasher.hash_identifier(identifier))
        came_back = last_start.get(identifier)
        carried = [
            r
            for r in rows
            if r.state in ERASED_STATES
            and request_satisfied_by(r.request_type, request_type)
            and not (came_back and r.completed_at and came_back > r.completed_at)
        ]
        if carried:
            row = max(carried, key=lambda r: (r.state is SubjectState.VERIFIED, r.final_at or r.updated_at))
            earlier[identifier] = {"subject_hash": row.subject_hash, "run_id": row.run_id}
    return earlier


def approval_text(summary: dict[str, Any]) -> str:
    """The plan as the approver sees it: counts and keyed-hash prefixes only."""
    subjects = [h[:16] + "…" for batch in summary["batches"] for h in batch]
    lines = [
        f"**Ticket {summary['ticket']}** (received {summary['received_on']}, due {summary['due_date']}), "
        f"mode **{summary['mode']}** ({summary['request_type']}).",
        f"- Identifiers given: {summary['input']['identifiers']} "
        f"({', '.join(f'{k}: {v}' for k, v in summary['input']['identifiers_by_type'].items() if v)}); "
        f"duplicates merged: {summary['input']['duplicates_merged']}; "
        f"invalid rows skipped: {summary['input']['invalid_rows_skipped']}",
        f"- Already erased by an earlier run (not submitted again): {summary['erased_earlier']}",
        f"- Subjects to erase: {summary['to_submit']} (identifiers after identity resolution: "
        f"{summary['resolved_identifiers_by_type']})",
        f"- Conversations affected: {summary['conversations_affected']} "
        f"(still active, deferred: {summary['active_conversations']}; under legal hold, recordings kept: "
        f"{summary['protected_conversations']})",
        f"- Quarantined (implausibly shared identifiers, not erased): {summary['quarantined']}",
        f"- Held, linked to staff the request does not name by user id (not erased): {summary['held_staff']}",
        "- Subjects (keyed hashes): "
        + (", ".join(subjects[:50]) or "none")
        + (f" and {len(subjects) - 50} more" if len(subjects) > 50 else ""),
    ]
    return "\n".join(lines)


def plan_for_ticket(
    runtime: ErasureRuntime, run_id: str, now: datetime, *, request: DsrRequest, validated: dict[str, Any]
) -> dict[str, Any]:
    """Plan the erasure of the identifiers the analyst named (from the run workspace), except those an
    earlier run already erased; the summary carries what the approver sees."""
    handoff = runtime.workspace().get(run_id, SUBJECTS_HANDOFF)
    identifiers = [Identifier(IdentifierKind(kind), value) for kind, value in handoff]
    # every named identifier's conversations: one erased earlier may have come back since
    found = find_conversations(runtime.client, identifiers, now) if identifiers else FoundConversations(())
    earlier = _erased_earlier(runtime, identifiers, request.request_type, found.last_start)
    fresh = [i for i in identifiers if i not in earlier]
    conversations = {i: found[i] for i in fresh}
    all_ids = sorted({c for ids in conversations.values() for c in ids})
    protected = runtime.client.get_protected_conversation_ids(all_ids) if all_ids else set()
    seeds = [
        Seed(
            identifier,
            conversation_ids=tuple(conversations.get(identifier, {})),
            conversation_count=len(conversations.get(identifier, {})),
            stalled=any(conversations.get(identifier, {}).values()),
            last_contact=found.last_start.get(identifier),
        )
        for identifier in fresh
    ]
    summary = plan_erasure(
        runtime,
        run_id,
        PlanRequest(
            seeds=seeds,
            source=SubjectSource.DSR,
            request_type=request.request_type,
            replacement=request.replacement_text,
            ticket=request.ticket,
            received_on=request.received_on,
            due_date=request.due_date,
            # former staff the analyst names by user id are erased; other staff-linked subjects stay held
            hold_staff=False,
            extra={
                "ticket": request.ticket,
                "received_on": request.received_on.isoformat(),
                "due_date": request.due_date.isoformat(),
                "mode": request.mode.value,
                "request_type": request.request_type,
                "input": {k: v for k, v in validated.items() if k != "input_identifier_hashes"},
                "erased_earlier": len(earlier),
                "conversations_affected": len(all_ids),
                "active_conversations": sum(a for ids in conversations.values() for a in ids.values()),
                "protected_conversations": len(protected),
            },
        ),
        now,
    )
    ledger = runtime.ledger
    rows = [ledger.get(h) for batch in summary["batches"] for h in batch]
    resolved = Counter(h.kind.value for row in rows if row for h in row.identifier_hashes)
    summary["resolved_identifiers_by_type"] = dict(sorted(resolved.items()))
    # Every real ad-hoc erasure waits for a human; a dry run or an empty plan has nothing to approve.
    summary["needs_approval"] = not runtime.config.dry_run and bool(summary["batches"])
    summary["approval_text"] = approval_text(summary)
    log.info("Plan for approval:\n%s", summary["approval_text"])
    return summary

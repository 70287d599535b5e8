"""Step 8: verify every completed subject independently of Genesys' own COMPLETED.

Re-fetch the subject's known conversations (batched `details?id=`), their recording metadata and
deletion protection, search external contacts by every identifier and fetch each contact that could be
the subject's (404 = deleted); `verify_subject` decides. A contact search that answers incompletely
(`partialResults`, or more matches than the API pages through) cannot show that no contact holds the
value any more: the subject stays `erasure_pending` (reason `external_contact_search_incomplete`, the
item named by the identifier's keyed hash), never verified on a partial answer. Subjects left
`erasure_pending` by an earlier run are taken into this run and checked again: pending until
`verification_pending_days` after COMPLETED, then failed. A failure after `max_erasure_attempts` POSTs
is `needs_review`, never planned again. Only conversation ids, field names, keyed hashes and counts
leave this module.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

from genesys_cloud.errors import GenesysNotFoundError
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import LedgerRow, SubjectState
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.verification import PendingFinding, VerificationResult, verify_subject

log = logging.getLogger(__name__)

SEARCHABLE = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
PSEUDONYMISATION = "GDPR_UPDATE"
TO_VERIFY = (SubjectState.COMPLETED, SubjectState.ERASURE_PENDING)
PENDING_DEADLINE_PASSED = "erasure_pending_deadline_passed"
# a pending code beside verification.py's: the search could not list every contact holding the value
CONTACT_SEARCH_INCOMPLETE = "external_contact_search_incomplete"


def _recordings(client: GenesysClient, conversation_id: str) -> list[dict[str, Any]]:
    """A conversation Genesys no longer knows (404) has no recordings left to check."""
    try:
        return client.get_recording_metadata(conversation_id)
    except GenesysNotFoundError:
        return []


def _contact_is_gone(client: GenesysClient, contact_id: str) -> bool:
    """GET /api/v2/externalcontacts/contacts/{id}: None (404) means deleted."""
    return client.get_external_contact(contact_id) is None


def _search_contacts(
    client: GenesysClient, identifiers: set[Identifier]
) -> tuple[list[dict[str, Any]], list[Identifier]]:
    """The contacts a search by each searchable identifier returns, and the identifiers whose search was
    incomplete (what it did return is still checked)."""
    contacts: list[dict[str, Any]] = []
    incomplete: list[Identifier] = []
    for identifier in sorted(identifiers):
        if identifier.kind not in SEARCHABLE:
            continue
        search = client.search_external_contacts_checked(identifier.value)
        contacts.extend(search.contacts)
        if not search.complete:
            incomplete.append(identifier)
    return contacts, incomplete


def verify_completed(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    client = runtime.client
    counts = {
        "verified": 0,
        "failed": 0,
        "deferred": 0,
        "erasure_pending": 0,
        "needs_review": 0,
        "legal_hold_exemptions": 0,
    }
    ledger = runtime.ledger
    # a dry run changes no subject, so it leaves the re-check to the next real run
    rechecked = () if runtime.config.dry_run else ledger.adopt_pending(run_id, now=now)
    if rechecked:
        log.info("Re-checking %d subject(s) left erasure_pending by earlier runs", len(rechecked))
    rows = [r for r in ledger.rows_for_run(run_id) if r.state in TO_VERIFY]
    all_ids = sorted({cid for row in rows for cid in row.conversation_ids})
    conversations = {c["conversationId"]: c for c in client.get_conversations_details(all_ids)}
    protected = client.get_protected_conversation_ids(all_ids) if all_ids else set()
    for number, row in enumerate(rows, start=1):
        result = _verify_row(runtime, row, conversations, protected, now)
        counts["legal_hold_exemptions"] += len(result.exemptions)
        counts[_record(runtime, row, result, now).value] += 1
        if number % 25 == 0 or number == len(rows):
            log.info("Verified %d / %d subjects", number, len(rows))
    log.info("Verification: %s", counts)
    return counts


def _pending_deadline(runtime: ErasureRuntime, row: LedgerRow, now: datetime) -> datetime:
    completed = row.completed_at or now
    return completed + timedelta(days=runtime.config.verification_pending_days)


def _verify_row(
    runtime: ErasureRuntime, row: LedgerRow, conversations: dict, protected: set[str], now: datetime
) -> VerificationResult:
    client = runtime.client
    identifiers = runtime.sealer.unseal(runtime.ledger.sealed_identifiers(row.subject_hash))
    if row.request_type == PSEUDONYMISATION:
        # An update (pseudonymisation) replaces e-mails and phones only: recordings and entity ids
        # stay (the ad-hoc certificate discloses it), so only the replaced values are checked.
        identifiers = {i for i in identifiers if i.kind in SEARCHABLE}
    recordings = [
        rec
        for cid in row.conversation_ids
        if row.request_type != PSEUDONYMISATION
        for rec in _recordings(client, cid)
    ]
    contacts, incomplete = _search_contacts(client, identifiers)
    candidates = {i.value for i in identifiers if i.kind is IdentifierKind.EXTERNAL_CONTACT}
    candidates |= {c["id"] for c in contacts if isinstance(c.get("id"), str)}
    missing = {cid for cid in sorted(candidates) if _contact_is_gone(client, cid)}
    result = verify_subject(
        identifiers,
        analytics_conversations=[conversations[c] for c in row.conversation_ids if c in conversations],
        recordings=recordings,
        protected_conversation_ids=protected,
        external_contacts=contacts,
        missing_contact_ids=missing,
        delete_by=_pending_deadline(runtime, row, now),
    )
    if not incomplete:
        return result
    # Not seeing the value in part of the matches proves nothing about the rest: not verified yet. The
    # item is the identifier's keyed hash, so the ledger and the report name it without its value.
    hash_identifier = runtime.hasher.hash_identifier
    unsearched = tuple(
        PendingFinding("external_contact_search", hash_identifier(i), CONTACT_SEARCH_INCOMPLETE)
        for i in incomplete
    )
    pending = sorted((*result.pending, *unsearched), key=lambda p: (p.kind, p.item_id))
    return dataclasses.replace(result, pending=tuple(pending))


def _record(
    runtime: ErasureRuntime, row: LedgerRow, result: VerificationResult, now: datetime
) -> SubjectState:
    """Write the outcome; returns the state the subject is in now."""
    ledger = runtime.ledger
    bound = runtime.config.max_erasure_attempts
    status = result.status
    if status == "erasure_pending" and now > _pending_deadline(runtime, row, now):
        saved = ledger.mark_failed(
            row.subject_hash,
            PENDING_DEADLINE_PASSED,
            verification=result,
            review_after_attempts=bound,
            now=now,
        )
    elif status == "failed":
        saved = ledger.mark_failed(
            row.subject_hash, "verification_failed", verification=result, review_after_attempts=bound, now=now
        )
    elif status == "deferred":
        saved = ledger.mark_deferred(
            row.subject_hash, "active_conversation_not_erased", verification=result, now=now
        )
    elif status == "erasure_pending":
        reasons = sorted({p.reason for p in result.pending})
        saved = ledger.mark_erasure_pending(row.subject_hash, result, ",".join(reasons), now=now)
    else:
        exemptions = [e.to_dict() for e in result.exemptions]
        saved = ledger.mark_verified(row.subject_hash, result, exemptions, now=now)
    return saved.state

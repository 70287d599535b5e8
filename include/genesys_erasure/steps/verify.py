"""Step 8: verify every completed subject independently of Genesys' own COMPLETED.

Re-fetch the subject's known conversations (batched `details?id=`), their recording metadata and
deletion protection, and search external contacts by every identifier; `verify_subject` decides. Only
conversation ids, field names and counts leave this module.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from genesys_cloud.errors import GenesysNotFoundError
from genesys_erasure.identifiers import IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.verification import verify_subject

log = logging.getLogger(__name__)

SEARCHABLE = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
PSEUDONYMISATION = "GDPR_UPDATE"


def _recordings(client: GenesysClient, conversation_id: str) -> list[dict[str, Any]]:
    """A conversation Genesys no longer knows (404) has no recordings left to check."""
    try:
        return client.get_recording_metadata(conversation_id)
    except GenesysNotFoundError:
        return []


def verify_completed(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    client = runtime.client
    counts = {"verified": 0, "failed": 0, "deferred": 0, "legal_hold_exemptions": 0}
    ledger = runtime.ledger
    rows = [r for r in ledger.rows_for_run(run_id) if r.state is SubjectState.COMPLETED]
    all_ids = sorted({cid for row in rows for cid in row.conversation_ids})
    conversations = {c["conversationId"]: c for c in client.get_conversations_details(all_ids)}
    protected = client.get_protected_conversation_ids(all_ids) if all_ids else set()
    for number, row in enumerate(rows, start=1):
        identifiers = runtime.sealer.unseal(ledger.sealed_identifiers(row.subject_hash))
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
        contacts = [
            contact
            for identifier in identifiers
            if identifier.kind in SEARCHABLE
            for contact in client.search_external_contacts(identifier.value)
        ]
        result = verify_subject(
            identifiers,
            analytics_conversations=[conversations[c] for c in row.conversation_ids if c in conversations],
            recordings=recordings,
            protected_conversation_ids=protected,
            external_contacts=contacts,
        )
        counts["legal_hold_exemptions"] += len(result.exemptions)
        if not result.ok:
            ledger.mark_failed(row.subject_hash, "verification_failed", verification=result, now=now)
            counts["failed"] += 1
        elif result.deferred_conversation_ids:
            ledger.mark_deferred(
                row.subject_hash, "active_conversation_not_erased", verification=result, now=now
            )
            counts["deferred"] += 1
        else:
            exemptions = [e.to_dict() for e in result.exemptions]
            ledger.mark_verified(row.subject_hash, result, exemptions, now=now)
            counts["verified"] += 1
        if number % 25 == 0 or number == len(rows):
            log.info("Verified %d / %d subjects", number, len(rows))
    log.info("Verification: %s", counts)
    return counts

"""Part of planning, after the submission set is final: which stored e-mail headers that list somebody
else's address too each subject's GDPR delete may name.

A header such as `"Berg, Anna" <anna@…>, bob@…` is one stored value for two people. When resolution
keeps Anna and Bob apart and both are erased in this run's submission (planned now: none held for recent
contact, quarantined, deferred, excluded, already erased or left to another run), everyone in the header
is being erased anyway, so each of their requests names it: whichever Genesys finishes first removes it,
and each subject's verification can expect it gone without depending on the other's request. A header
with any address outside the submission (a retained customer, a stranger, an unreadable address) is never
named; verification reports it as left for somebody else (shared_headers.py).

The decision is sealed into each subject's token (`shared` in the payload), so submission, crash
reconciliation and verification all read the same answer, and it is taken afresh whenever the subject
is planned again (a carried subject's partner may be in a different run by then).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from genesys_cloud.vocabulary import GdprRequestType
from genesys_erasure.hashing import HashedMembership
from genesys_erasure.identifiers import IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.ledger.records import (
    seal_subject,
    unseal_attribute_conversations,
    unseal_raw_forms,
    unseal_replacement,
    unseal_shared_named,
)
from genesys_erasure.shared_headers import may_be_named, names_somebody_else, own_addresses
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)


def decide_shared_headers(
    runtime: ErasureRuntime, run_id: str, subject_hashes: Iterable[str]
) -> dict[str, int]:
    """Seal into each planned delete of `subject_hashes` (this run's submission) the shared headers it
    may name. Returns counts only, per subject request: shared headers named, and those left for others."""
    ledger, sealer = runtime.ledger, runtime.sealer
    wanted = set(subject_hashes)
    rows = [
        row
        for row in ledger.rows_for_run(run_id)
        if row.subject_hash in wanted
        and row.state is SubjectState.PLANNED
        and row.request_type == GdprRequestType.GDPR_DELETE
    ]
    # A pseudonymisation keeps the values it cannot replace: its subjects erase nobody's header.
    erased_with = HashedMembership({h for row in rows for h in row.identifier_set}, runtime.hasher)
    named = withheld = 0
    for row in rows:
        token = ledger.sealed_identifiers(row.subject_hash)
        if not token:
            continue
        identifiers = sealer.unseal(token)
        forms = unseal_raw_forms(sealer, token)
        own = own_addresses(identifiers)
        shared = {
            form
            for identifier, values in forms.items()
            if identifier.kind is IdentifierKind.EMAIL
            for form in values
            if names_somebody_else(form, own)
        }
        allowed = {form for form in shared if may_be_named(form, own, erased_with)}
        named += len(allowed)
        withheld += len(shared - allowed)
        if allowed != unseal_shared_named(sealer, token):
            resealed = seal_subject(  # the same token, with only the shared headers changed
                sealer,
                identifiers,
                forms,
                allowed,
                replacement=unseal_replacement(sealer, token),
                attribute_conversation_ids=unseal_attribute_conversations(sealer, token),
            )
            ledger.reseal(row.subject_hash, resealed, owner=run_id)
    if named or withheld:
        log.info(
            "Shared e-mail headers: %d named (every address in them erased by this run), %d left in place "
            "(they also list somebody this run does not erase)",
            named,
            withheld,
        )
    return {"shared_headers_named": named, "shared_headers_withheld": withheld}

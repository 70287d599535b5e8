"""Exactly once across crashes: a subject left in `submitting` (the intent was written, the POST may or
may not have reached Genesys) is matched against the requests Genesys already has, never posted again
blindly."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from genesys_cloud.vocabulary import GdprRequestType
from genesys_erasure.ledger import KnownRequest, Ledger, LedgerRow, SubjectState
from genesys_erasure.ledger.records import unseal_raw_forms, unseal_shared_named
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.scan import parse_instant
from genesys_erasure.steps.subjects_api import gdpr_subject_body, subject_hashes

log = logging.getLogger(__name__)


def known_requests(
    runtime: ErasureRuntime, since: datetime, sent_sets: Mapping[frozenset[str], frozenset[str]]
) -> Iterator[KnownRequest]:
    """Genesys' GDPR requests created since `since`, each with the keyed hashes of its subject's
    identifiers. Only the pages back to `since` are read (from the list's newest end, whatever its order),
    not the whole request history. A request whose subject is exactly what we sent for a stuck subject is
    given that subject's full identifier set (the body holds one external contact id and one user id, the
    ledger all of them)."""
    for entity in runtime.client.iter_gdpr_requests(since=since):
        created = entity.get("createdDate")
        created_at = parse_instant(created) if created else None
        if created_at is not None and created_at < since:
            continue
        hashes = subject_hashes(entity.get("subject") or {}, runtime.hasher)
        yield KnownRequest(entity["id"], sent_sets.get(hashes, hashes), created_at=created_at)


def sent_body(runtime: ErasureRuntime, token: str, request_type: str) -> dict[str, Any]:
    """The subject body submit POSTs for a sealed token and request type: a delete names every sealed raw
    form (a header listing somebody else's address only if the plan sealed it as shared and named), an
    update only the identifiers (its replacement terms carry the values). Reconciliation must hash exactly
    this body; a form that does not read back as its own identifier changes the hash set."""
    sealer = runtime.sealer
    identifiers = sealer.unseal(token)
    if request_type == GdprRequestType.GDPR_UPDATE:
        return gdpr_subject_body(identifiers)
    return gdpr_subject_body(identifiers, unseal_raw_forms(sealer, token), unseal_shared_named(sealer, token))


def sent_identifier_sets(
    runtime: ErasureRuntime, ledger: Ledger, rows: Iterable[LedgerRow]
) -> dict[frozenset[str], frozenset[str]]:
    """For each stuck subject: the keyed hashes of the body we POSTed -> its full identifier set."""
    sets: dict[frozenset[str], frozenset[str]] = {}
    for row in rows:
        token = ledger.sealed_identifiers(row.subject_hash)
        if token:
            body = sent_body(runtime, token, row.request_type)
            sets[subject_hashes(body, runtime.hasher)] = frozenset(row.identifier_set)
    return sets


def reconcile_stuck_submissions(
    runtime: ErasureRuntime,
    ledger: Ledger,
    *,
    stale_after: timedelta | None = None,
    only: Collection[str] | None = None,
) -> None:
    stuck = [
        row
        for row in ledger.rows_in_states([SubjectState.SUBMITTING])
        if only is None or row.subject_hash in only
    ]
    if not stuck:
        return
    oldest = min(row.submitting_at or row.updated_at for row in stuck)
    sent_sets = sent_identifier_sets(runtime, ledger, stuck)
    requests = list(known_requests(runtime, oldest - timedelta(days=1), sent_sets))
    kwargs = {"stale_after": stale_after} if stale_after is not None else {}
    outcome = ledger.reconcile_unknown_submissions(requests, only=only, **kwargs)
    log.info(
        "Reconciled %d interrupted submissions: %d found at Genesys (not posted again), %d released for "
        "submission, %d still too recent to judge",
        len(stuck),
        len(outcome.recorded),
        len(outcome.released),
        len(outcome.left_pending),
    )

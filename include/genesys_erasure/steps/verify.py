"""Step 8: verify every completed subject independently of Genesys' own COMPLETED.

Re-fetch the subject's known conversations (batched `details?id=`), their recording metadata (only where
those details do not show an unrecorded voice conversation: `_may_have_recordings`) and deletion
protection, search external contacts by every identifier and fetch each contact that could be
the subject's (404 = deleted); `verify_subject` decides. A contact search that answers incompletely
(`partialResults`, or more matches than the API pages through) cannot show that no contact holds the
value any more: the subject stays `erasure_pending` (reason `external_contact_search_incomplete`, the
item named by the identifier's keyed hash), never verified on a partial answer. Subjects left
`erasure_pending` by an earlier run are taken into this run and checked again: pending until
`verification_pending_days` after COMPLETED, then failed. From `contact_scan_from_lookups` searchable
identifiers on, the run reads every external contact once with the cursor scan instead of searching per
identifier, and matches locally (`ContactSnapshot.holding`: the same check the search hits get); a
contact the scan does not list is gone as a 404 would say, and one it lists is still read by id, because
the scan's index may lag a delete like the search's does. Another DAG's run may take the same subject
over while this one checks it: every outcome is written only while this run still owns the subject, and
a result for a subject another run took is dropped (counted `taken_by_another_run`), never an error.

The details multi-get reads the analytics lake, which may show a GDPR change only a day or more after
COMPLETED. A conversation it still shows with an identifier is read again through the detail query, which
shows changes at once: if that copy holds no identifier the subject is `erasure_pending`
(`analytics_lake_lag`), never failed and so never submitted again; a value the detail query still shows is
a failure. A conversation the detail query does not return is lake lag only while the jobs'
`dataAvailabilityDate` is before the erasure completed. A failure after `max_erasure_attempts` POSTs
is `needs_review`, never planned again. So is a subject whose address is left only in an e-mail header
that also lists somebody its run did not erase, which its request deliberately did not name (reason
`shared_with_person_not_erased`): not failed, since posting again would change nothing and must not.

Participant attributes (flow data such as a typed e-mail or callback number) are in neither analytics
read: only the live view (`GET /api/v2/conversations/{id}`) carries them for a conversation by id, one call
per conversation. The nightly scan's jobs do carry them, so planning seals with the subject which of its
conversations showed any participant attributes (or came from a read without them); the others cannot
hold a value there after the delete and are not read (`absent_when_planned` in the evidence). Where that
is not known (an ad-hoc subject: its detail queries show no attributes; a subject planned before it was
recorded) every known conversation is read. They are read only once every other check of the subject
has passed, so a subject pays that cost once, on the run that would verify it, not on every re-check
while it is pending or failing (cost: one GET per such conversation, once;
`verify_participant_attributes: false` skips it).
Until then, and for conversations that answer 404 or while the client lacks the permission (the first
403 stops the reads for the run), the evidence counts the conversations whose attributes were NOT
verified, per reason. A value left only in attributes goes to `needs_review` (reason
`participant_attributes_retained`) at once: whether a GDPR delete reaches attributes is UNCONFIRMED, and
re-posting the same subject cannot reach what the completed delete left, so re-submitting it would only
spend the attempts; a person must clear the participant data in Genesys.

Only conversation ids, field names, keyed hashes and counts leave this module.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from genesys_cloud.errors import GenesysAuthError, GenesysNotFoundError
from genesys_erasure.contact_snapshot import ContactSnapshot
from genesys_erasure.identifier_matching import IdentifierMatcher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import LedgerRow, SubjectState
from genesys_erasure.ledger.records import unseal_attribute_conversations, unseal_shared_named
from genesys_erasure.ledger.store import NotOwned
from genesys_erasure.shared_headers import SHARED_WITH_PERSON_NOT_ERASED, left_for_others, own_addresses
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.directory import scan_contacts
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.scan import interval, parse_instant
from genesys_erasure.verification import (
    ATTRIBUTES_CHECK_DISABLED,
    ATTRIBUTES_CONVERSATION_NOT_FOUND,
    ATTRIBUTES_OTHER_CHECKS_NOT_PASSED,
    ATTRIBUTES_PERMISSION_DENIED,
    PendingFinding,
    VerificationResult,
    conversations_holding,
    verify_subject,
    walk_strings,
)

log = logging.getLogger(__name__)

SEARCHABLE = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
PSEUDONYMISATION = "GDPR_UPDATE"
TO_VERIFY = (SubjectState.COMPLETED, SubjectState.ERASURE_PENDING)
SHARED_RESIDUE = "shared_residue"  # VerificationResult.status
PENDING_DEADLINE_PASSED = "erasure_pending_deadline_passed"
ATTRIBUTES_RETAINED = "participant_attributes_retained"

# The subject's address is left only inside e-mail headers that also list somebody this run does not erase
# (a retained customer, a stranger), which its request therefore did not name. `needs_review`, not
# `failed`: a failed subject is planned and posted again, which would leave the header again (naming it
# would erase that other person's address), night after night; `erasure_pending` would claim the delete
# is still on its way, which it is not. Only a person can weigh one person's erasure against the other's
# data (redact the header by hand, or record why it stays), and `needs_review` is the state that waits
# for a person: final, listed in every report and by the daily deadline check, never submitted again
# (planning holds back every identifier of a subject awaiting review). Reason: SHARED_WITH_PERSON_NOT_ERASED.
# a pending code beside verification.py's: the search could not list every contact holding the value
CONTACT_SEARCH_INCOMPLETE = "external_contact_search_incomplete"
# a detail query with a filter may span 31 days; the predicate cap per filter is UNCONFIRMED, so stay low
QUERY_DAYS = 31
IDS_PER_QUERY = 25


def _recordings(client: GenesysClient, conversation_id: str) -> list[dict[str, Any]]:
    """A conversation Genesys no longer knows (404) has no recordings left to check."""
    try:
        return client.get_recording_metadata(conversation_id)
    except GenesysNotFoundError:
        return []


def _may_have_recordings(lake_copy: Mapping[str, Any] | None) -> bool:
    """Whether a conversation's recording metadata must be read. Only a lake copy that shows nothing but
    voice sessions, none with `recording: true`, and no participant with `screenRecording: true`, proves
    there is none: the session flag means "an audio recording was started" (SDK), so it says nothing
    about e-mail, chat or message transcripts, and a conversation the multi-get did not return is unknown."""
    if lake_copy is None:
        return True
    sessions = 0
    for participant in lake_copy.get("participants") or ():
        if participant.get("screenRecording"):
            return True
        for session in participant.get("sessions") or ():
            sessions += 1
            if session.get("mediaType") != "voice" or session.get("recording"):
                return True
    return sessions == 0


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


class _LiveViews:
    """Reads live conversation views for their participant attributes, for one run. A 403 means the client
    lacks the permission for every conversation, so the first one stops the reads for the rest of the run."""

    def __init__(self, client: GenesysClient, enabled: bool) -> None:
        self.client = client
        self.enabled = enabled
        self.denied = False
        self.read_count = 0

    def read(self, conversation_ids: Iterable[str]) -> tuple[list[dict[str, Any]], Counter[str]]:
        """The views that could be read, and how many could not, per reason."""
        views: list[dict[str, Any]] = []
        gaps: Counter[str] = Counter()
        for conversation_id in conversation_ids:
            if not self.enabled:
                gaps[ATTRIBUTES_CHECK_DISABLED] += 1
                continue
            if self.denied:
                gaps[ATTRIBUTES_PERMISSION_DENIED] += 1
                continue
            try:
                views.append(self.client.get_conversation(conversation_id))
                self.read_count += 1
            except GenesysNotFoundError:
                gaps[ATTRIBUTES_CONVERSATION_NOT_FOUND] += 1
            except GenesysAuthError as error:
                if error.status != 403:
                    raise
                log.warning("Participant attributes not readable (403 %s): not verified this run", error.code)
                self.denied = True
                gaps[ATTRIBUTES_PERMISSION_DENIED] += 1
        return views, gaps


def verify_completed(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    client = runtime.client
    counts = {
        "verified": 0,
        "failed": 0,
        "deferred": 0,
        "erasure_pending": 0,
        "needs_review": 0,
        "legal_hold_exemptions": 0,
        "taken_by_another_run": 0,
        # of needs_review: left only in headers shared with a person not erased
        SHARED_WITH_PERSON_NOT_ERASED: 0,
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
    lake_watermark = cache(lambda: _data_availability(client))
    live_views = _LiveViews(client, runtime.config.verify_participant_attributes)
    searches = sum(1 for row in rows for h in row.identifier_hashes if h.kind in SEARCHABLE)
    snapshot, _ = scan_contacts(client, searches, runtime.config.contact_scan_from_lookups)
    unverified_attributes: Counter[str] = Counter()
    for number, row in enumerate(rows, start=1):
        result = _verify_row(
            runtime, row, conversations, protected, now, lake_watermark, live_views, snapshot
        )
        unverified_attributes.update(dict(result.attributes_not_verified))
        try:
            state = _record(runtime, run_id, row, result, now)
        except NotOwned:
            # the other run checks it again and writes its own result: this one is not ours to write
            counts["taken_by_another_run"] += 1
        else:
            counts["legal_hold_exemptions"] += len(result.exemptions)
            counts[state.value] += 1
            if state is SubjectState.NEEDS_REVIEW and result.status == SHARED_RESIDUE:
                counts[SHARED_WITH_PERSON_NOT_ERASED] += 1
        if number % 25 == 0 or number == len(rows):
            log.info("Verified %d / %d subjects", number, len(rows))
    log.info(
        "Participant attributes: %d conversation view(s) read; not verified, per reason: %s",
        live_views.read_count,
        dict(unverified_attributes) or "none",
    )
    return counts


def _pending_deadline(runtime: ErasureRuntime, row: LedgerRow, now: datetime) -> datetime:
    completed = row.completed_at or now
    return completed + timedelta(days=runtime.config.verification_pending_days)


def _data_availability(client: GenesysClient) -> datetime | None:
    """The jobs' `dataAvailabilityDate`: the lake holds no data newer than this; None if unreadable."""
    value = client.get_data_availability().get("dataAvailabilityDate")
    try:
        return parse_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _current_copies(client: GenesysClient, lake: list[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """The detail query's copies of `lake` conversations (it shows a GDPR change at once): one query per
    ≤ 25 conversations that started within 31 days of each other, filtered by conversation id. A lake copy
    without a readable `conversationStart` cannot be placed in an interval and gets no current copy."""
    dated: list[tuple[datetime, str]] = []
    for conversation in lake:
        try:
            dated.append((parse_instant(conversation["conversationStart"]), conversation["conversationId"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    dated.sort()
    while dated:
        first = _day(dated[0][0])
        group = [c for c in dated if _day(c[0]) + timedelta(days=1) - first <= timedelta(days=QUERY_DAYS)]
        group = group[:IDS_PER_QUERY]
        dated = dated[len(group) :]
        wanted = {cid for _, cid in group}
        predicates = [
            {"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": cid}
            for cid in sorted(wanted)
        ]
        body = {
            # whole UTC days, so a query matching by start day or by start instant returns the same
            "interval": interval(first, _day(group[-1][0]) + timedelta(days=1)),
            "order": "asc",
            "conversationFilters": [{"type": "or", "predicates": predicates}],
        }
        yield from (c for c in client.iter_conversation_details(body) if c.get("conversationId") in wanted)


def _verify_row(
    runtime: ErasureRuntime,
    row: LedgerRow,
    conversations: dict,
    protected: set[str],
    now: datetime,
    lake_watermark: Callable[[], datetime | None],
    live_views: _LiveViews,
    snapshot: ContactSnapshot | None = None,
) -> VerificationResult:
    client = runtime.client
    token = runtime.ledger.sealed_identifiers(row.subject_hash)
    identifiers = runtime.sealer.unseal(token)
    # the headers listing somebody else too that its request named (the rest it left for them)
    shared = left_for_others(own_addresses(identifiers), unseal_shared_named(runtime.sealer, token))
    attributed = unseal_attribute_conversations(runtime.sealer, token)
    if row.request_type == PSEUDONYMISATION:
        # An update (pseudonymisation) replaces e-mails and phones only: recordings and entity ids
        # stay (the ad-hoc certificate discloses it), so only the replaced values are checked.
        identifiers = {i for i in identifiers if i.kind in SEARCHABLE}
    # a voice conversation the analytics details show unrecorded has no recording to verify: not read
    recordings = [
        rec
        for cid in row.conversation_ids
        if row.request_type != PSEUDONYMISATION and _may_have_recordings(conversations.get(cid))
        for rec in _recordings(client, cid)
    ]
    if snapshot is not None:
        contacts, incomplete = list(snapshot.holding(identifiers)), []
    else:
        contacts, incomplete = _search_contacts(client, identifiers)
        # A free-text search also returns strangers (same domain, same first name): only contacts holding
        # one of the subject's values say anything about this erasure, and only those are looked up by id.
        matcher = IdentifierMatcher(identifiers)
        contacts = [c for c in contacts if any(matcher.matches(v) for _, v in walk_strings(c, "contact"))]
    candidates = {i.value for i in identifiers if i.kind is IdentifierKind.EXTERNAL_CONTACT}
    candidates |= {c["id"] for c in contacts if isinstance(c.get("id"), str)}
    # a contact a whole scan does not list is gone (as its 404 would say); one it lists may be index lag
    missing = {
        cid
        for cid in sorted(candidates)
        if (snapshot is not None and snapshot.get(cid) is None) or _contact_is_gone(client, cid)
    }
    lake = [conversations[c] for c in row.conversation_ids if c in conversations]
    # Only what the lake still shows with an identifier is read again: a clean lake copy needs no second
    # opinion, and a value in it is confirmed or explained by a source that shows changes at once.
    residue = set(conversations_holding(identifiers, lake))
    current = list(_current_copies(client, [c for c in lake if c["conversationId"] in residue]))
    predates = False
    if residue - {c["conversationId"] for c in current}:
        watermark = lake_watermark()
        predates = watermark is not None and row.completed_at is not None and watermark < row.completed_at
    evidence: dict[str, Any] = {
        "analytics_conversations": current,
        "lake_conversations": lake,
        "lake_predates_erasure": predates,
        "recordings": recordings,
        "protected_conversation_ids": protected,
        "external_contacts": contacts,
        "missing_contact_ids": missing,
        "delete_by": _pending_deadline(runtime, row, now),
        "left_for_others": shared,
    }
    result = verify_subject(identifiers, **evidence)
    if not incomplete:
        return _with_attributes(identifiers, row, evidence, result, live_views, attributed)
    # Not seeing the value in part of the matches proves nothing about the rest: not verified yet. The
    # item is the identifier's keyed hash, so the ledger and the report name it without its value.
    hash_identifier = runtime.hasher.hash_identifier
    unsearched = tuple(
        PendingFinding("external_contact_search", hash_identifier(i), CONTACT_SEARCH_INCOMPLETE)
        for i in incomplete
    )
    pending = sorted((*result.pending, *unsearched), key=lambda p: (p.kind, p.item_id))
    return _with_attributes(
        identifiers,
        row,
        evidence,
        dataclasses.replace(result, pending=tuple(pending)),
        live_views,
        attributed,
    )


def _with_attributes(
    identifiers: set[Identifier],
    row: LedgerRow,
    evidence: Mapping[str, Any],
    result: VerificationResult,
    live_views: _LiveViews,
    attributed: frozenset[str] | None = None,
) -> VerificationResult:
    """`result` with the subject's participant attributes checked (live views of its conversations), or
    with the conversations whose attributes were not read counted. Read only when everything else passed:
    a pending or failed subject is checked again later anyway, so it pays the calls once. Only the
    conversations the scan saw with attributes (or could not tell: `attributed` None) are read."""
    known = list(dict.fromkeys(row.conversation_ids))
    conversation_ids = known if attributed is None else [c for c in known if c in attributed]
    result = dataclasses.replace(result, attributes_absent_when_planned=len(known) - len(conversation_ids))
    if not conversation_ids:
        return result
    if result.status != "verified":
        gaps = ((ATTRIBUTES_OTHER_CHECKS_NOT_PASSED, len(conversation_ids)),)
        return dataclasses.replace(result, attributes_not_verified=gaps)
    views, gaps = live_views.read(conversation_ids)
    checked = verify_subject(identifiers, **evidence, live_conversations=views) if views else result
    return dataclasses.replace(
        checked, attributes_checked=len(views), attributes_not_verified=tuple(sorted(gaps.items()))
    )


def _record(
    runtime: ErasureRuntime, run_id: str, row: LedgerRow, result: VerificationResult, now: datetime
) -> SubjectState:
    """Write the outcome while `run_id` still owns the subject (else `NotOwned`, nothing written);
    returns the state the subject is in now."""
    ledger = runtime.ledger
    bound = runtime.config.max_erasure_attempts
    status = result.status
    if status == "erasure_pending" and now > _pending_deadline(runtime, row, now):
        saved = ledger.mark_failed(
            row.subject_hash,
            PENDING_DEADLINE_PASSED,
            verification=result,
            review_after_attempts=bound,
            owner=run_id,
            now=now,
        )
    elif status == "failed" and result.only_attributes_left:
        # Straight to review: the completed delete did not reach the attributes and the same request
        # again would not either (module docstring); the subject is neither verified nor re-submitted.
        saved = ledger.mark_failed(
            row.subject_hash,
            ATTRIBUTES_RETAINED,
            verification=result,
            review_after_attempts=1,
            owner=run_id,
            now=now,
        )
    elif status == "failed":
        saved = ledger.mark_failed(
            row.subject_hash,
            "verification_failed",
            verification=result,
            review_after_attempts=bound,
            owner=run_id,
            now=now,
        )
    elif status == "deferred":
        saved = ledger.mark_deferred(
            row.subject_hash, "active_conversation_not_erased", verification=result, owner=run_id, now=now
        )
    elif status == "erasure_pending":
        reasons = sorted({p.reason for p in result.pending})
        saved = ledger.mark_erasure_pending(
            row.subject_hash, result, ",".join(reasons), owner=run_id, now=now
        )
    elif status == SHARED_RESIDUE:
        saved = ledger.mark_needs_review(
            row.subject_hash, result, SHARED_WITH_PERSON_NOT_ERASED, owner=run_id, now=now
        )
    else:
        exemptions = [e.to_dict() for e in result.exemptions]
        saved = ledger.mark_verified(row.subject_hash, result, exemptions, owner=run_id, now=now)
    return saved.state

"""Independent verification after Genesys reports a GDPR_DELETE request COMPLETED.

COMPLETED is Genesys' word; the evidence needs ours. Given the subject's (normalised) identifiers and what
the glue layer re-fetched, each subject is *verified*, *failed* (an identifier's value is still readable
where it was), *erasure pending* (nothing readable, but a delete Genesys runs on its own schedule has not
shown yet) or *deferred* (an active conversation). What a real org's delete leaves is mostly undocumented
(see the sandbox's ASSUMPTIONS.md), so only what is certain is a failure:

* conversations whose analytics details (`participants[].sessions[].ani`, `addressFrom`, `remote`,
  `callbackNumbers`, `participantName`, attributes, …) or live view still hold any identifier in any
  field. Every string in the JSON is checked, not just a list of known PII fields, because identifiers
  also end up in fields nobody listed (`cc[]`, participant attributes, wrap-up notes);
* recordings whose metadata `fileState` is not DELETED and that carry no `deleteDate`: non-compliance,
  unless the conversation is under deletion protection, which makes it a legal-hold exemption
  (Art. 17(3)(e)). Protection exempts the recording only: identifiers left in the conversation's other
  fields are still findings, because whether the GDPR API honours protection is UNCONFIRMED and the safe
  reading is "report it". A recording with a `deleteDate` (passed or not) is scheduled for deletion:
  pending, not failed;
* external contacts still holding an identifier (or whose id is one of the subject's) are pending: the
  contact is deleted asynchronously, and a contact that answers 404 but is still returned by the search is
  the search index lagging. Contacts returned by a fuzzy search that hold none of the identifiers are
  search noise, not findings;
* a participant's `externalContactId` naming the subject's contact is a reference, not a value: erased if
  the contact answers 404 (`missing_contact_ids`), pending while the contact still exists;
* active conversations (no `conversationEnd` in analytics, or `endTime` null in the live view): deferred,
  not failures; the subject is verified again in a later run;
* participant attributes (flow data: a typed e-mail or callback number), which only the live view carries
  for a conversation read by id: a value left there is a failure like any other. What a GDPR delete does
  to attributes is UNCONFIRMED and a re-submission cannot be expected to do better than the first delete,
  so `only_attributes_left` lets the caller send such a subject to review instead of re-submitting it.
  Conversations whose attributes were not read are counted per reason (`attributes_not_verified`), so the
  evidence never implies they were checked;
* conversations read from the analytics lake (the details multi-get, jobs), which may show a GDPR change
  only once its snapshot has passed the erasure: an identifier seen there is lake lag (pending, never
  failed) when a source that shows changes at once (the detail query, the live view) holds the same
  conversation without it, or when no such copy was read and the lake's data-availability watermark is
  still before the erasure. A value the current copy still holds is a failure (found by that copy); lake
  residue with no current copy and a lake past the erasure is a failure too;
* an e-mail header that lists the subject's address and somebody else's, which the subject's request did
  not name because that person is not erased with it (`left_for_others`, see shared_headers.py): left on
  purpose, so not a failed delete, but not an erasure either. Such a subject is `shared_residue` (once
  nothing else is failed, active or pending) and a person decides; the findings say where, never what.
  A recording of a conversation that holds the subject *only* in such values is left with them
  (`shared_recording_findings`), not failed: a delete that matches whole stored values (UNCONFIRMED; the
  sandbox's pessimistic reading) never finds a conversation by a value its request did not name, so its
  recordings keep their retention (often ARCHIVED, with no deleteDate or one years away), and posting
  the same request again would leave them again. Where the subject's own values were in the conversation
  too, the delete did reach it, and a recording without a deleteDate is a failure as before.

Findings carry conversation/recording/contact ids and field NAMES (schema paths such as
`analytics.participants[].sessions[].ani`), never values. Map-valued fields (`attributes`) are reported as
`attributes.*`, because their keys are set by flows and could themselves be anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from genesys_erasure.identifier_matching import IdentifierMatcher
from genesys_erasure.identifiers import Identifier, IdentifierKind

DELETED = "DELETED"
LEGAL_HOLD = "legal_hold"
# why a check is pending rather than failed (codes, for the ledger and the report)
RECORDING_DELETE_SCHEDULED = "recording_delete_scheduled"
CONTACT_NOT_YET_DELETED = "external_contact_not_yet_deleted"
CONTACT_SEARCH_LAG = "external_contact_search_lag"
ANALYTICS_LAKE_LAG = "analytics_lake_lag"
# why a conversation's participant attributes were not read (counted per subject, for the evidence)
ATTRIBUTES_CHECK_DISABLED = "check_disabled"
ATTRIBUTES_PERMISSION_DENIED = "permission_denied"
ATTRIBUTES_CONVERSATION_NOT_FOUND = "conversation_not_found"
ATTRIBUTES_OTHER_CHECKS_NOT_PASSED = "other_checks_not_passed"
_ATTRIBUTE_PATH = ".attributes.*"
_CONTACT_REFERENCE = "externalContactId"
MAP_FIELDS = frozenset({"attributes", "customFields", "conversationAttributes"})


@dataclass(frozen=True)
class ConversationFinding:
    conversation_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RecordingFinding:
    conversation_id: str
    recording_id: str
    file_state: str


@dataclass(frozen=True)
class ExternalContactFinding:
    contact_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class PendingFinding:
    """A delete Genesys has accepted but not finished: `kind` is recording/external_contact/conversation,
    `item_id` its id, `reason` one of the pending codes above."""

    kind: str
    item_id: str
    reason: str


@dataclass(frozen=True)
class Exemption:
    conversation_id: str
    recording_id: str
    reason: str = LEGAL_HOLD

    def to_dict(self) -> dict[str, str]:
        return {
            "conversation_id": self.conversation_id,
            "recording_id": self.recording_id,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    conversation_findings: tuple[ConversationFinding, ...] = ()
    # fields still holding the subject's address inside a value shared with a person not erased with it
    shared_findings: tuple[ConversationFinding, ...] = ()
    recording_findings: tuple[RecordingFinding, ...] = ()
    # recordings not deleted of conversations holding the subject only in such shared values
    shared_recording_findings: tuple[RecordingFinding, ...] = ()
    external_contact_findings: tuple[ExternalContactFinding, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    deferred_conversation_ids: tuple[str, ...] = ()
    pending: tuple[PendingFinding, ...] = ()
    conversations_checked: int = 0
    recordings_checked: int = 0
    external_contacts_checked: int = 0
    # conversations whose participant attributes were read (live view), and those not read, per reason
    attributes_checked: int = 0
    attributes_not_verified: tuple[tuple[str, int], ...] = ()
    # conversations not read because the scan saw no participant attributes in them before the erasure
    # (a delete adds none): covered, without a call
    attributes_absent_when_planned: int = 0

    @property
    def only_attributes_left(self) -> bool:
        """Failed, and every value left is in participant attributes (nothing else is readable)."""
        return (
            not self.ok
            and not self.recording_findings
            and bool(self.conversation_findings)
            and all(_ATTRIBUTE_PATH in path for f in self.conversation_findings for path in f.fields)
        )

    @property
    def status(self) -> str:
        """`failed` if anything readable is left, else `deferred` if a conversation is active, else
        `erasure_pending` if a delete has not shown yet, else `shared_residue` if the subject's address
        is left only in values shared with a person not erased with it, else `verified`."""
        if not self.ok:
            return "failed"
        if self.deferred_conversation_ids:
            return "deferred"
        if self.pending:
            return "erasure_pending"
        return "shared_residue" if self.shared_findings or self.shared_recording_findings else "verified"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "conversation_findings": [
                {"conversation_id": f.conversation_id, "fields": list(f.fields)}
                for f in self.conversation_findings
            ],
            "shared_findings": [
                {"conversation_id": f.conversation_id, "fields": list(f.fields)} for f in self.shared_findings
            ],
            "recording_findings": [_recording_dict(f) for f in self.recording_findings],
            "shared_recording_findings": [_recording_dict(f) for f in self.shared_recording_findings],
            "external_contact_findings": [
                {"contact_id": f.contact_id, "fields": list(f.fields)} for f in self.external_contact_findings
            ],
            "exemptions": [e.to_dict() for e in self.exemptions],
            "deferred_conversation_ids": list(self.deferred_conversation_ids),
            "pending": [{"kind": p.kind, "item_id": p.item_id, "reason": p.reason} for p in self.pending],
            "conversations_checked": self.conversations_checked,
            "recordings_checked": self.recordings_checked,
            "external_contacts_checked": self.external_contacts_checked,
            "participant_attributes": {
                "conversations_checked": self.attributes_checked,
                "not_verified": dict(self.attributes_not_verified),
                "absent_when_planned": self.attributes_absent_when_planned,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationResult:
        attributes = data.get("participant_attributes") or {}  # absent in results written before it
        return cls(
            ok=bool(data["ok"]),
            conversation_findings=tuple(
                ConversationFinding(f["conversation_id"], tuple(f["fields"]))
                for f in data["conversation_findings"]
            ),
            shared_findings=tuple(
                ConversationFinding(f["conversation_id"], tuple(f["fields"]))
                for f in data.get("shared_findings", ())
            ),
            recording_findings=tuple(_recording_finding(f) for f in data["recording_findings"]),
            shared_recording_findings=tuple(
                _recording_finding(f) for f in data.get("shared_recording_findings", ())
            ),
            external_contact_findings=tuple(
                ExternalContactFinding(f["contact_id"], tuple(f["fields"]))
                for f in data["external_contact_findings"]
            ),
            exemptions=tuple(Exemption(**e) for e in data["exemptions"]),
            deferred_conversation_ids=tuple(data["deferred_conversation_ids"]),
            pending=tuple(
                PendingFinding(p["kind"], p["item_id"], p["reason"]) for p in data.get("pending", ())
            ),
            conversations_checked=int(data.get("conversations_checked", 0)),
            recordings_checked=int(data.get("recordings_checked", 0)),
            external_contacts_checked=int(data.get("external_contacts_checked", 0)),
            attributes_checked=int(attributes.get("conversations_checked", 0)),
            attributes_absent_when_planned=int(attributes.get("absent_when_planned", 0)),
            attributes_not_verified=tuple(
                sorted((str(k), int(v)) for k, v in (attributes.get("not_verified") or {}).items())
            ),
        )


def verify_subject(
    identifiers: Iterable[Identifier],
    *,
    analytics_conversations: Iterable[Mapping[str, Any]] = (),
    live_conversations: Iterable[Mapping[str, Any]] = (),
    recordings: Iterable[Mapping[str, Any]] = (),
    protected_conversation_ids: Iterable[str] = (),
    external_contacts: Iterable[Mapping[str, Any]] = (),
    missing_contact_ids: Iterable[str] = (),
    delete_by: datetime | None = None,
    lake_conversations: Iterable[Mapping[str, Any]] = (),
    lake_predates_erasure: bool = False,
    left_for_others: Callable[[object], bool] | None = None,
) -> VerificationResult:
    """Verify one subject. Inputs are Genesys JSON as fetched: analytics conversations
    (`AnalyticsConversation`) from a source that shows changes at once (the detail query), live
    conversations (`Conversation`), `RecordingMetadata` items (each with its `conversationId`), the
    conversation ids under deletion protection, `ExternalContact`s found by searching for the subject's
    identifiers, and the contact ids that answered 404 when fetched.
    `delete_by`: a recording's `deleteDate` counts as "scheduled" only up to this instant (the pending
    deadline), so a retention date years away is a failure now, not a pending item; None = any date.
    `lake_conversations`: analytics conversations read from the lake (details multi-get), which may not
    show the erasure yet; `lake_predates_erasure`: the lake's data-availability watermark is still before
    the erasure completed, so a lake copy with no current copy beside it may be older than the erasure.
    `left_for_others`: True for a value the subject's request left on purpose because it also names
    somebody not erased with the subject (shared_headers.left_for_others); None = no such value."""
    identifiers = list(identifiers)
    matcher = IdentifierMatcher(identifiers)
    contact_ids = {i.value.casefold() for i in identifiers if i.kind == IdentifierKind.EXTERNAL_CONTACT}
    missing = {c.casefold() for c in missing_contact_ids}
    fields_by_conversation: dict[str, set[str]] = defaultdict(set)
    shared_by_conversation: dict[str, set[str]] = defaultdict(set)
    active: set[str] = set()
    checked: set[str] = set()
    pending: set[PendingFinding] = set()

    def scan(conversation: Mapping[str, Any], source: str) -> tuple[set[str], set[str], set[PendingFinding]]:
        """The schema paths holding an identifier, those holding it only in values left for others, and
        the pending contact deletes it names."""
        paths, references, shared = _identifier_paths(
            conversation, source, matcher, contact_ids, left_for_others
        )
        # an id naming the contact, not a value of the person: it points at nothing once the contact is
        # gone, and at data still to be deleted while it exists
        pending_contacts = {
            PendingFinding("external_contact", ref, CONTACT_NOT_YET_DELETED)
            for ref in references
            if ref.casefold() not in missing
        }
        return paths, shared, pending_contacts

    for source, id_field, items in (
        ("analytics", "conversationId", analytics_conversations),
        ("live", "id", live_conversations),
    ):
        for index, conversation in enumerate(items):
            conversation_id = _require_id(conversation, id_field, f"{source}_conversations[{index}]")
            checked.add(conversation_id)
            end_field = "conversationEnd" if source == "analytics" else "endTime"
            if not conversation.get(end_field):
                active.add(conversation_id)
            paths, shared, references = scan(conversation, source)
            fields_by_conversation[conversation_id] |= paths
            shared_by_conversation[conversation_id] |= shared
            pending |= references

    current = set(checked)
    for index, conversation in enumerate(lake_conversations):
        conversation_id = _require_id(conversation, "conversationId", f"lake_conversations[{index}]")
        paths, shared, references = scan(conversation, "analytics")
        if conversation_id in current:
            # a copy that shows changes at once was read: it decides, and what only the lake still shows
            # is the lake's snapshot lagging behind the erasure
            if paths and not fields_by_conversation.get(conversation_id):
                pending.add(PendingFinding("conversation", conversation_id, ANALYTICS_LAKE_LAG))
            continue
        checked.add(conversation_id)
        if not conversation.get("conversationEnd"):
            active.add(conversation_id)
        pending |= references
        if (paths or shared) and lake_predates_erasure:
            pending.add(PendingFinding("conversation", conversation_id, ANALYTICS_LAKE_LAG))
        else:
            fields_by_conversation[conversation_id] |= paths
            shared_by_conversation[conversation_id] |= shared

    protected = set(protected_conversation_ids)
    recording_findings, shared_recordings, exemptions, recordings_checked = [], [], [], 0
    for index, recording in enumerate(recordings):
        conversation_id = _require_id(recording, "conversationId", f"recordings[{index}]")
        recording_id = _require_id(recording, "id", f"recordings[{index}]")
        recordings_checked += 1
        state = str(recording.get("fileState") or "UNKNOWN").upper()
        if state == DELETED or conversation_id in active:
            continue
        if _scheduled(recording.get("deleteDate"), delete_by) and conversation_id not in protected:
            pending.add(PendingFinding("recording", recording_id, RECORDING_DELETE_SCHEDULED))
            continue
        if conversation_id in protected:
            exemptions.append(Exemption(conversation_id, recording_id))
        elif shared_by_conversation.get(conversation_id) and not fields_by_conversation.get(conversation_id):
            # the conversation names the subject only in values its request left for somebody else: a
            # whole-value delete never found it, so its recordings stay with those values (see above)
            shared_recordings.append(RecordingFinding(conversation_id, recording_id, state))
        else:
            recording_findings.append(RecordingFinding(conversation_id, recording_id, state))

    contacts_checked = 0
    for index, contact in enumerate(external_contacts):
        contact_id = _require_id(contact, "id", f"external_contacts[{index}]")
        contacts_checked += 1
        fields = {path for path, value in walk_strings(contact, "contact") if matcher.matches(value)}
        if contact_id.casefold() in contact_ids:
            fields.add("contact.id")
        if fields:
            reason = CONTACT_SEARCH_LAG if contact_id.casefold() in missing else CONTACT_NOT_YET_DELETED
            pending.add(PendingFinding("external_contact", contact_id, reason))

    conversation_findings = tuple(
        ConversationFinding(cid, tuple(sorted(paths)))
        for cid, paths in sorted(fields_by_conversation.items())
        if paths and cid not in active
    )
    shared_findings = tuple(
        ConversationFinding(cid, tuple(sorted(paths)))
        for cid, paths in sorted(shared_by_conversation.items())
        if paths and cid not in active
    )
    recording_tuple = _sorted_recordings(recording_findings)
    return VerificationResult(
        ok=not (conversation_findings or recording_tuple),
        conversation_findings=conversation_findings,
        shared_findings=shared_findings,
        recording_findings=recording_tuple,
        shared_recording_findings=_sorted_recordings(shared_recordings),
        exemptions=tuple(sorted(set(exemptions), key=lambda e: (e.conversation_id, e.recording_id))),
        deferred_conversation_ids=tuple(sorted(active)),
        pending=tuple(sorted(_strongest(pending), key=lambda p: (p.kind, p.item_id))),
        conversations_checked=len(checked),
        recordings_checked=recordings_checked,
        external_contacts_checked=contacts_checked,
    )


def conversations_holding(
    identifiers: Iterable[Identifier], conversations: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Ids of the analytics conversations in which some identifier's value is still readable (a
    reference to the subject's external contact by id does not count)."""
    identifiers = list(identifiers)
    matcher = IdentifierMatcher(identifiers)
    contact_ids = {i.value.casefold() for i in identifiers if i.kind == IdentifierKind.EXTERNAL_CONTACT}
    return [
        _require_id(conversation, "conversationId", f"conversations[{index}]")
        for index, conversation in enumerate(conversations)
        if _identifier_paths(conversation, "analytics", matcher, contact_ids)[0]
    ]


def _identifier_paths(
    conversation: Mapping[str, Any],
    source: str,
    matcher: IdentifierMatcher,
    contact_ids: set[str],
    left_for_others: Callable[[object], bool] | None = None,
) -> tuple[set[str], set[str], set[str]]:
    """The schema paths whose value matches an identifier, the subject's contact ids the conversation
    references by `externalContactId` (kept apart: an id of the contact, not a value of the person), and
    the paths whose matching value was left on purpose for somebody else (kept apart from the first)."""
    paths: set[str] = set()
    references: set[str] = set()
    shared: set[str] = set()
    for path, value in walk_strings(conversation, source):
        if not matcher.matches(value):
            continue
        if path.endswith("." + _CONTACT_REFERENCE) and str(value).casefold() in contact_ids:
            references.add(str(value))
        elif left_for_others is not None and left_for_others(value):
            shared.add(path)
        else:
            paths.add(path)
    return paths, references, shared


def _sorted_recordings(findings: Iterable[RecordingFinding]) -> tuple[RecordingFinding, ...]:
    return tuple(sorted(findings, key=lambda f: (f.conversation_id, f.recording_id)))


def _recording_dict(finding: RecordingFinding) -> dict[str, str]:
    return {
        "conversation_id": finding.conversation_id,
        "recording_id": finding.recording_id,
        "file_state": finding.file_state,
    }


def _recording_finding(data: Mapping[str, Any]) -> RecordingFinding:
    return RecordingFinding(data["conversation_id"], data["recording_id"], data["file_state"])


def _scheduled(delete_date: Any, delete_by: datetime | None) -> bool:
    if not isinstance(delete_date, str) or not delete_date.strip():
        return False
    if delete_by is None:
        return True
    try:
        when = datetime.fromisoformat(delete_date.strip().replace("Z", "+00:00"))
    except ValueError:
        return False  # unreadable: not evidence of a scheduled delete
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) <= delete_by


def _strongest(pending: set[PendingFinding]) -> set[PendingFinding]:
    """One entry per item: a contact that still exists outranks the same contact seen as search lag."""
    by_item: dict[tuple[str, str], PendingFinding] = {}
    for finding in sorted(pending, key=lambda p: p.reason != CONTACT_NOT_YET_DELETED):
        by_item.setdefault((finding.kind, finding.item_id.casefold()), finding)
    return set(by_item.values())


def walk_strings(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(schema path, scalar) for every scalar in a JSON value; list indices collapse to `[]`, and the
    keys and values of map-valued fields to `.*`."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key in MAP_FIELDS and isinstance(child, Mapping):
                for map_key, map_value in child.items():
                    yield f"{path}.{key}.*", map_key
                    yield from walk_strings(map_value, f"{path}.{key}.*")
            else:
                yield from walk_strings(child, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for child in value:
            yield from walk_strings(child, f"{path}[]")
    elif value is not None:
        yield path, value


def _require_id(item: Any, field: str, where: str) -> str:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected a JSON object")
    value = item.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.{field}: missing or not a string")
    return value

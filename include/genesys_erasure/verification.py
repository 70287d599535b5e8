"""Independent verification after Genesys reports a GDPR_DELETE request COMPLETED.

COMPLETED is Genesys' word; the evidence needs ours. Given the subject's (normalised) identifiers and what
the glue layer re-fetched, this reports:

* conversations whose analytics details (`participants[].sessions[].ani`, `addressFrom`, `remote`,
  `callbackNumbers`, `participantName`, attributes, …) or live view still hold any identifier in any
  field. Every string in the JSON is checked, not just a list of known PII fields, because identifiers
  also end up in fields nobody listed (`cc[]`, participant attributes, wrap-up notes);
* recordings whose metadata `fileState` is not DELETED: non-compliance, unless the conversation is under
  deletion protection, which makes it a legal-hold exemption (Art. 17(3)(e)). Protection exempts the
  recording only: identifiers left in the conversation's other fields are still findings, because
  whether the GDPR API honours protection is UNCONFIRMED and the safe reading is "report it";
* external contacts still holding an identifier (or whose id is one of the subject's): each is a failure.
  Contacts returned by a fuzzy search that hold none of the identifiers are search noise, not findings;
* active conversations (no `conversationEnd` in analytics, or `endTime` null in the live view): deferred,
  not failures; the subject is verified again in a later run.

Findings carry conversation/recording/contact ids and field NAMES (schema paths such as
`analytics.participants[].sessions[].ani`), never values. Map-valued fields (`attributes`) are reported as
`attributes.*`, because their keys are set by flows and could themselves be anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from genesys_erasure.identifier_matching import IdentifierMatcher
from genesys_erasure.identifiers import Identifier, IdentifierKind

DELETED = "DELETED"
LEGAL_HOLD = "legal_hold"
_MAP_FIELDS = frozenset({"attributes", "customFields", "conversationAttributes"})


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
    recording_findings: tuple[RecordingFinding, ...] = ()
    external_contact_findings: tuple[ExternalContactFinding, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    deferred_conversation_ids: tuple[str, ...] = ()
    conversations_checked: int = 0
    recordings_checked: int = 0
    external_contacts_checked: int = 0

    @property
    def status(self) -> str:
        """`failed` if anything is left, else `deferred` if a conversation is active, else `verified`."""
        if not self.ok:
            return "failed"
        return "deferred" if self.deferred_conversation_ids else "verified"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "conversation_findings": [
                {"conversation_id": f.conversation_id, "fields": list(f.fields)}
                for f in self.conversation_findings
            ],
            "recording_findings": [
                {
                    "conversation_id": f.conversation_id,
                    "recording_id": f.recording_id,
                    "file_state": f.file_state,
                }
                for f in self.recording_findings
            ],
            "external_contact_findings": [
                {"contact_id": f.contact_id, "fields": list(f.fields)} for f in self.external_contact_findings
            ],
            "exemptions": [e.to_dict() for e in self.exemptions],
            "deferred_conversation_ids": list(self.deferred_conversation_ids),
            "conversations_checked": self.conversations_checked,
            "recordings_checked": self.recordings_checked,
            "external_contacts_checked": self.external_contacts_checked,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationResult:
        return cls(
            ok=bool(data["ok"]),
            conversation_findings=tuple(
                ConversationFinding(f["conversation_id"], tuple(f["fields"]))
                for f in data["conversation_findings"]
            ),
            recording_findings=tuple(
                RecordingFinding(f["conversation_id"], f["recording_id"], f["file_state"])
                for f in data["recording_findings"]
            ),
            external_contact_findings=tuple(
                ExternalContactFinding(f["contact_id"], tuple(f["fields"]))
                for f in data["external_contact_findings"]
            ),
            exemptions=tuple(Exemption(**e) for e in data["exemptions"]),
            deferred_conversation_ids=tuple(data["deferred_conversation_ids"]),
            conversations_checked=int(data.get("conversations_checked", 0)),
            recordings_checked=int(data.get("recordings_checked", 0)),
            external_contacts_checked=int(data.get("external_contacts_checked", 0)),
        )


def verify_subject(
    identifiers: Iterable[Identifier],
    *,
    analytics_conversations: Iterable[Mapping[str, Any]] = (),
    live_conversations: Iterable[Mapping[str, Any]] = (),
    recordings: Iterable[Mapping[str, Any]] = (),
    protected_conversation_ids: Iterable[str] = (),
    external_contacts: Iterable[Mapping[str, Any]] = (),
) -> VerificationResult:
    """Verify one subject. Inputs are Genesys JSON as fetched: analytics conversations
    (`AnalyticsConversation`), live conversations (`Conversation`), `RecordingMetadata` items (each with its
    `conversationId`), the conversation ids under deletion protection, and `ExternalContact`s found by
    searching for the subject's identifiers."""
    identifiers = list(identifiers)
    matcher = IdentifierMatcher(identifiers)
    contact_ids = {i.value.casefold() for i in identifiers if i.kind == IdentifierKind.EXTERNAL_CONTACT}
    fields_by_conversation: dict[str, set[str]] = defaultdict(set)
    active: set[str] = set()
    checked: set[str] = set()

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
            for path, value in walk_strings(conversation, source):
                if matcher.matches(value):
                    fields_by_conversation[conversation_id].add(path)

    protected = set(protected_conversation_ids)
    recording_findings, exemptions, recordings_checked = [], [], 0
    for index, recording in enumerate(recordings):
        conversation_id = _require_id(recording, "conversationId", f"recordings[{index}]")
        recording_id = _require_id(recording, "id", f"recordings[{index}]")
        recordings_checked += 1
        state = str(recording.get("fileState") or "UNKNOWN").upper()
        if state == DELETED or conversation_id in active:
            continue
        if conversation_id in protected:
            exemptions.append(Exemption(conversation_id, recording_id))
        else:
            recording_findings.append(RecordingFinding(conversation_id, recording_id, state))

    contact_findings, contacts_checked = [], 0
    for index, contact in enumerate(external_contacts):
        contact_id = _require_id(contact, "id", f"external_contacts[{index}]")
        contacts_checked += 1
        fields = {path for path, value in walk_strings(contact, "contact") if matcher.matches(value)}
        if contact_id.casefold() in contact_ids:
            fields.add("contact.id")
        if fields:
            contact_findings.append(ExternalContactFinding(contact_id, tuple(sorted(fields))))

    conversation_findings = tuple(
        ConversationFinding(cid, tuple(sorted(paths)))
        for cid, paths in sorted(fields_by_conversation.items())
        if cid not in active
    )
    recording_tuple = tuple(sorted(recording_findings, key=lambda f: (f.conversation_id, f.recording_id)))
    return VerificationResult(
        ok=not (conversation_findings or recording_tuple or contact_findings),
        conversation_findings=conversation_findings,
        recording_findings=recording_tuple,
        external_contact_findings=tuple(sorted(contact_findings, key=lambda f: f.contact_id)),
        exemptions=tuple(sorted(set(exemptions), key=lambda e: (e.conversation_id, e.recording_id))),
        deferred_conversation_ids=tuple(sorted(active)),
        conversations_checked=len(checked),
        recordings_checked=recordings_checked,
        external_contacts_checked=contacts_checked,
    )


def walk_strings(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(schema path, scalar) for every scalar in a JSON value; list indices collapse to `[]`, and the
    keys and values of map-valued fields to `.*`."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if key in _MAP_FIELDS and isinstance(child, Mapping):
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

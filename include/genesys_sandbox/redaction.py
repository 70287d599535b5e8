"""What a finished GDPR request does to the org: redact (DELETE) or replace (UPDATE) a subject's data.

A subject's identifiers are matched on their normalised form (so `+14155550123` redacts
`tel:+14155550123`). A redaction removes the field (the analytics API then omits it); it skips conversations
that are still active and keeps recordings under deletion protection. What a delete leaves on a real org
is mostly undocumented, so `DeleteEffects` (from the settings) can make it leave more: placeholders instead
of removed values, the participant's `externalContactId`, participant attributes left as they were, and
contact / recording deletes that land hours later (ASSUMPTIONS.md, "What a GDPR delete leaves"). The
name alone only finds conversations when the subject carries nothing else; otherwise it is only redacted
where another identifier matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from genesys_sandbox.identity import is_email, normalize_email, normalize_name, normalize_phone
from genesys_sandbox.model import Conversation, Participant, Session
from genesys_sandbox.org import Org, conversation_index_keys, index_key

if TYPE_CHECKING:
    from genesys_sandbox.settings import SandboxSettings

SESSION_FIELDS = ("ani", "dnis", "address_from", "address_to", "remote")


@dataclass(frozen=True)
class DeleteEffects:
    """What a GDPR delete leaves behind; the defaults are a clean, immediate delete."""

    placeholder: str | None = None  # written over a redacted value instead of removing it
    keep_participant_contact_id: bool = False
    keep_attributes: bool = False  # participant attributes untouched by a delete and an update
    contact_delete_lag: timedelta | None = timedelta(0)  # None = the contact is never deleted
    recording_delete_lag: timedelta = timedelta(0)

    @classmethod
    def from_settings(cls, settings: SandboxSettings) -> DeleteEffects:
        lag = settings.gdpr_contact_delete_lag_hours
        return cls(
            placeholder=settings.gdpr_delete_placeholder,
            keep_participant_contact_id=settings.gdpr_delete_keeps_participant_contact_id,
            keep_attributes=settings.gdpr_delete_keeps_attributes,
            contact_delete_lag=None if lag is None else timedelta(hours=lag),
            recording_delete_lag=timedelta(hours=settings.gdpr_recording_delete_lag_hours),
        )


@dataclass(frozen=True)
class LaterDelete:
    """A delete the request has decided on but that lands at `due` (sandbox time)."""

    due: datetime
    kind: str  # "external_contact" | "recording"
    item_id: str
    conversation_id: str | None = None


@dataclass(frozen=True)
class SubjectKeys:
    values: frozenset[str]  # normalised e-mails / phones / handles
    name: str | None
    external_contact_id: str | None
    user_id: str | None

    @classmethod
    def from_subject(cls, subject: dict[str, Any]) -> SubjectKeys:
        values: set[str] = set()
        for email in subject.get("emailAddresses") or []:
            values.add(normalize_email(email))
        for phone in subject.get("phoneNumbers") or []:
            values.add(normalize_phone(phone))
        for address in subject.get("addresses") or []:
            values.add(index_key(address))
        handle = subject.get("socialHandle") or {}
        if handle.get("value"):
            values.add(index_key(handle["value"]))
        name = subject.get("name")
        return cls(
            values=frozenset(v for v in values if v),
            name=normalize_name(name) if name else None,
            external_contact_id=subject.get("externalContactId") or None,
            user_id=subject.get("userId") or None,
        )

    def index_keys(self) -> set[str]:
        keys = set(self.values)
        if self.external_contact_id:
            keys.add("ec:" + self.external_contact_id)
        if self.user_id:
            keys.add("user:" + self.user_id)
        if self.name and not keys:
            keys.add("name:" + self.name)
        return keys

    def holds(self, value: str | None) -> bool:
        return bool(value) and index_key(value) in self.values


@dataclass
class Outcome:
    conversations_changed: list[str] = field(default_factory=list)
    conversations_skipped_active: list[str] = field(default_factory=list)
    recordings_deleted: int = 0
    recordings_protected: int = 0
    external_contacts_deleted: list[str] = field(default_factory=list)
    external_contacts_updated: list[str] = field(default_factory=list)
    later: list[LaterDelete] = field(default_factory=list)  # not in the JSON: Genesys does not say

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversationsChanged": len(self.conversations_changed),
            "conversationsSkippedActive": len(self.conversations_skipped_active),
            "recordingsDeleted": self.recordings_deleted,
            "recordingsProtected": self.recordings_protected,
            "externalContactsDeleted": len(self.external_contacts_deleted),
            "externalContactsUpdated": len(self.external_contacts_updated),
        }


def find_conversations(org: Org, keys: SubjectKeys) -> list[Conversation]:
    with org.lock:
        ids: set[str] = set()
        for key in keys.index_keys():
            ids |= org.conversation_ids_with(key)
        return sorted((org.conversations[i] for i in ids), key=lambda c: (c.start, c.id))


def apply_delete(
    org: Org, subject: dict[str, Any], now: datetime, effects: DeleteEffects | None = None
) -> Outcome:
    """Redact the subject now; deletes that `effects` makes lag are returned in `Outcome.later`, for the
    caller to land with `apply_later` when sandbox time reaches them."""
    effects = effects or DeleteEffects()
    keys = SubjectKeys.from_subject(subject)
    outcome = Outcome()
    with org.lock:
        for conversation in find_conversations(org, keys):
            if conversation.active:
                outcome.conversations_skipped_active.append(conversation.id)
                continue
            old_keys = conversation_index_keys(conversation)
            if _redact_conversation(conversation, keys, effects):
                outcome.conversations_changed.append(conversation.id)
            for recording in conversation.recordings:
                if recording.file_state == "DELETED":
                    continue
                if conversation.protected:
                    outcome.recordings_protected += 1
                    continue
                recording.delete_date = now
                outcome.recordings_deleted += 1
                if effects.recording_delete_lag:
                    due = now + effects.recording_delete_lag
                    outcome.later.append(LaterDelete(due, "recording", recording.id, conversation.id))
                else:
                    recording.file_state = "DELETED"
            org.reindex(conversation, old_keys)
        for contact_id in _contacts_of(org, keys):
            if effects.contact_delete_lag is None:
                continue  # never deleted: the contact stays as it was
            if effects.contact_delete_lag:
                due = now + effects.contact_delete_lag
                outcome.later.append(LaterDelete(due, "external_contact", contact_id))
            elif org.delete_external_contact(contact_id):
                outcome.external_contacts_deleted.append(contact_id)
        if keys.user_id and keys.user_id in org.agents:
            agent = org.agents[keys.user_id]
            agent.name, agent.email, agent.active = None, None, False
    return outcome


def apply_later(org: Org, delete: LaterDelete) -> None:
    """Land one lagging delete (a contact already gone, or a recording already DELETED, is a no-op)."""
    with org.lock:
        if delete.kind == "external_contact":
            # deleted as of when it was due: the search index's lag counts from then, not from the call
            org.delete_external_contact(delete.item_id, deleted_at=delete.due)
            return
        conversation = org.conversations.get(delete.conversation_id or "")
        for recording in conversation.recordings if conversation else []:
            if recording.id == delete.item_id and not conversation.protected:
                recording.file_state = "DELETED"


def _contacts_of(org: Org, keys: SubjectKeys) -> list[str]:
    ids = set()
    if keys.external_contact_id and keys.external_contact_id in org.external_contacts:
        ids.add(keys.external_contact_id)
    for value in keys.values:
        ids.update(c.id for c in org.external_contacts_holding(value))
    return sorted(ids)


def _redact_conversation(conversation: Conversation, keys: SubjectKeys, effects: DeleteEffects) -> bool:
    changed = False
    redacted_names: set[str] = set()
    blank = effects.placeholder
    for participant in conversation.participants:
        if _participant_is_subject(participant, keys):
            if participant.name and participant.name != blank:
                redacted_names.add(normalize_name(participant.name))
                participant.name = blank
                changed = True
            if participant.external_contact_id and not effects.keep_participant_contact_id:
                participant.external_contact_id = None
                changed = True
            if keys.user_id and participant.user_id == keys.user_id:
                participant.user_id = None
                changed = True
            for session in participant.sessions:
                if session.callback_user_name and session.callback_user_name != blank:
                    redacted_names.add(normalize_name(session.callback_user_name))
                    session.callback_user_name = blank
                    changed = True
    for participant in conversation.participants:
        for session in participant.sessions:
            changed |= _redact_session(session, keys, redacted_names, blank)
        if not effects.keep_attributes:
            changed |= _redact_attributes(participant, keys, blank)
    return changed


def _redact_attributes(participant: Participant, keys: SubjectKeys, blank: str | None) -> bool:
    """Attribute values equal (normalised) to a subject identifier go like a session field's: removed, or
    overwritten with the placeholder. A value written another way (a national number) stays, as it does
    in session fields."""
    hits = [key for key, value in participant.attributes.items() if value != blank and keys.holds(value)]
    for key in hits:
        if blank is None:
            del participant.attributes[key]
        else:
            participant.attributes[key] = blank
    return bool(hits)


def _participant_is_subject(participant: Participant, keys: SubjectKeys) -> bool:
    if participant.purpose in ("acd", "ivr", "workflow"):
        return False
    if keys.user_id and participant.user_id == keys.user_id:
        return True
    if participant.purpose == "agent":
        return False  # an agent who served the customer is not the customer
    if keys.external_contact_id and participant.external_contact_id == keys.external_contact_id:
        return True
    if keys.name and participant.name and normalize_name(participant.name) == keys.name:
        return True
    for session in participant.sessions:
        if any(keys.holds(getattr(session, name)) for name in ("ani", "dnis", "address_from", "address_to")):
            return True
        if any(keys.holds(number) for number in session.callback_numbers):
            return True
    return False


def _redact_session(
    session: Session, keys: SubjectKeys, redacted_names: set[str], blank: str | None = None
) -> bool:
    changed = False
    for name in SESSION_FIELDS:
        value = getattr(session, name)
        if not value:
            continue
        if keys.holds(value) or (name == "remote" and normalize_name(value) in redacted_names):
            setattr(session, name, blank)
            changed = True
    if blank is None:
        kept = [n for n in session.callback_numbers if not keys.holds(n)]
    else:
        kept = [blank if keys.holds(n) else n for n in session.callback_numbers]
    if kept != session.callback_numbers:
        session.callback_numbers = kept
        changed = True
    return changed


# ---- GDPR_UPDATE -----------------------------------------------------------------------------------
def apply_update(
    org: Org, subject: dict[str, Any], terms: Iterable[dict[str, Any]], effects: DeleteEffects | None = None
) -> Outcome:
    """Replace the subject's values; participant attributes too unless `effects.keep_attributes`."""
    effects = effects or DeleteEffects()
    keys = SubjectKeys.from_subject(subject)
    outcome = Outcome()
    replacements = [(t.get("type"), t.get("existingValue"), t.get("updatedValue")) for t in terms]
    with org.lock:
        for conversation in find_conversations(org, keys):
            if conversation.active:
                outcome.conversations_skipped_active.append(conversation.id)
                continue
            old_keys = conversation_index_keys(conversation)
            changed = False
            for participant in conversation.participants:
                for kind, old, new in replacements:
                    if kind == "NAME" and old and participant.name and _same_name(participant.name, old):
                        participant.name = new
                        changed = True
                    for session in participant.sessions:
                        changed |= _replace_in_session(session, kind, old, new)
                    if not effects.keep_attributes:
                        changed |= _replace_in_attributes(participant, kind, old, new)
            if changed:
                outcome.conversations_changed.append(conversation.id)
            org.reindex(conversation, old_keys)
        for contact_id in _contacts_of(org, keys):
            contact = org.external_contacts[contact_id]
            if _replace_in_contact(contact, replacements):
                outcome.external_contacts_updated.append(contact_id)
    return outcome


def _same_name(left: str, right: str) -> bool:
    return normalize_name(left) == normalize_name(right)


def _same_value(stored: str, wanted: str) -> bool:
    return index_key(stored) == index_key(wanted)


def _replace_in_session(session: Session, kind: str | None, old: str | None, new: str | None) -> bool:
    if not old:
        return False
    changed = False
    if kind == "NAME":
        for name in ("remote", "callback_user_name"):
            value = getattr(session, name)
            if value and _same_name(value, old):
                setattr(session, name, new)
                changed = True
        return changed
    for name in SESSION_FIELDS:
        value = getattr(session, name)
        if value and _same_value(value, old):
            setattr(session, name, _keep_form(value, new))
            changed = True
    numbers = [(_keep_form(n, new) if _same_value(n, old) else n) for n in session.callback_numbers]
    if numbers != session.callback_numbers:
        session.callback_numbers = numbers
        changed = True
    return changed


def _replace_in_attributes(
    participant: Participant, kind: str | None, old: str | None, new: str | None
) -> bool:
    if not old or kind == "NAME":
        return False
    hits = [key for key, value in participant.attributes.items() if value and _same_value(value, old)]
    for key in hits:
        participant.attributes[key] = new or ""
    return bool(hits)


def _keep_form(stored: str, new: str | None) -> str | None:
    """Write the replacement in the stored value's form (`tel:` prefix kept for phone fields)."""
    if new is None:
        return None
    if stored.lower().startswith("tel:") and not is_email(new) and not new.lower().startswith("tel:"):
        return "tel:" + normalize_phone(new)
    return new


def _replace_in_contact(contact: Any, replacements: list[tuple[Any, Any, Any]]) -> bool:
    changed = False
    for kind, old, new in replacements:
        if not old or not new:
            continue
        if kind == "EMAIL":
            updated = [new if normalize_email(e) == normalize_email(old) else e for e in contact.emails]
        elif kind == "PHONE":
            updated = [normalize_phone(new) if p == normalize_phone(old) else p for p in contact.phones]
        elif kind == "NAME" and _same_name(contact.full_name, old):
            first, _, last = new.partition(" ")
            contact.first_name, contact.last_name = first or None, last or None
            changed = True
            continue
        else:
            continue
        target = contact.emails if kind == "EMAIL" else contact.phones
        if updated != target:
            target[:] = updated
            changed = True
    return changed

"""Plain records of the sandbox org: who exists, and what each conversation recorded about them.

The analytics view, the live conversation view and the GDPR redaction all read and write these same
records, so a redaction is visible through every endpoint at once. Mutable on purpose (a GDPR request
edits them in place); every access from the server goes through `Org.lock`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Agent:
    id: str
    name: str | None
    email: str | None
    active: bool = True  # False = former staff (a GDPR subject by userId)


@dataclass(slots=True)
class Queue:
    id: str
    name: str


@dataclass(slots=True)
class ExternalContact:
    id: str
    first_name: str | None
    last_name: str | None
    emails: list[str]  # work, personal, other (in that order)
    phones: list[str]  # E.164: cell, home, work, other (in that order)
    create_date: datetime
    modify_date: datetime
    division_id: str | None = None  # None = the org's home division

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(slots=True)
class Customer:
    """A person as the seed generator (or a test) thinks of them. Not an API entity."""

    id: str
    name: str
    emails: list[str]
    phones: list[str]  # E.164
    external_contact_id: str | None
    activity: str = "planted"  # recent | dormant | expired | planted
    fragmented: bool = False  # e-mail and phone only linked through the external contact
    placeholder: bool = False  # one identifier implausibly shared by many conversations
    conversation_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Segment:
    start: datetime
    end: datetime | None
    segment_type: str
    queue_id: str | None = None
    disconnect_type: str | None = None


@dataclass(slots=True)
class Session:
    session_id: str
    media_type: str  # voice | email | message | callback
    direction: str  # inbound | outbound
    ani: str | None = None
    dnis: str | None = None
    address_from: str | None = None
    address_to: str | None = None
    remote: str | None = None
    callback_numbers: list[str] = field(default_factory=list)
    callback_user_name: str | None = None
    message_type: str | None = None
    provider: str | None = None
    recording: bool = False
    segments: list[Segment] = field(default_factory=list)

    def address_values(self) -> list[str]:
        """Every address this session holds (numbers, e-mail headers, callback numbers), as stored."""
        fixed = (self.ani, self.dnis, self.address_from, self.address_to, self.remote)
        return [value for value in (*fixed, *self.callback_numbers) if value]


@dataclass(slots=True)
class Participant:
    participant_id: str
    purpose: str  # customer | external | acd | agent
    name: str | None
    user_id: str | None = None
    external_contact_id: str | None = None
    queue_id: str | None = None
    sessions: list[Session] = field(default_factory=list)
    # participant data set by flows (data_shapes="real", or planted by a test): free-text keys and values
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Recording:
    id: str
    conversation_id: str
    session_id: str
    media: str  # audio | email | message
    start: datetime
    end: datetime | None
    file_state: str  # AVAILABLE | ARCHIVED | UPLOADING | DELETED
    archive_date: datetime | None = None
    delete_date: datetime | None = None


@dataclass(slots=True)
class Conversation:
    id: str
    start: datetime
    end: datetime | None  # None while the conversation is still active
    originating_direction: str
    media_type: str
    initiator: str  # conversationInitiator: customer | agent | acd ...
    division_id: str
    customer_id: str | None
    participants: list[Participant] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    protected: bool = False  # recordings under deletion protection

    @property
    def active(self) -> bool:
        return self.end is None

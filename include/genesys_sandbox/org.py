"""The live in-memory org: customers, agents, external contacts, conversations and their recordings.

Tests use it to look around and to plant data (`add_customer`, `add_conversation`, `add_agent`); the HTTP
routes read and redact it. All public methods take `self.lock` (re-entrant), because uvicorn serves the
app from worker threads while a test thread inspects the same object.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from genesys_sandbox.builders import (
    ConversationSpec,
    OrgChannels,
    build_conversation,
    make_id_source,
)
from genesys_sandbox.clock import SandboxClock, format_instant
from genesys_sandbox.identity import is_email, normalize_email, normalize_name, normalize_phone
from genesys_sandbox.model import Agent, Conversation, Customer, ExternalContact, Queue

_ENDED = object()  # add_conversation's default: an ended conversation of a few minutes


class Org:
    def __init__(
        self,
        *,
        clock: SandboxClock,
        channels: OrgChannels,
        division_id: str,
        queues: Sequence[Queue],
        seed: int,
        retention_cutoff: datetime,
        placeholder_values: Sequence[str] = (),
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.channels = channels
        self.division_id = division_id
        self.queues = list(queues)
        self.seed = seed
        self.retention_cutoff = retention_cutoff
        self.placeholder_values = list(placeholder_values)
        self.customers: dict[str, Customer] = {}
        self.agents: dict[str, Agent] = {}
        self.external_contacts: dict[str, ExternalContact] = {}
        # deleted contacts as the search index last saw them, with when they were deleted
        # (`contact_index_lag_hours`: the search and the scan keep returning them for a while)
        self.deleted_contacts: dict[str, tuple[ExternalContact, datetime]] = {}
        self.conversations: dict[str, Conversation] = {}
        self._by_start: list[tuple[datetime, str]] = []
        # normalised value -> conversation ids (phones/e-mails/handles, "name:", "ec:", "user:" prefixed)
        self._value_index: dict[str, set[str]] = defaultdict(set)
        self._plant_rng = random.Random(f"plant-{seed}")
        self._new_id = make_id_source(self._plant_rng)

    # ---- planting --------------------------------------------------------------------------------
    def add_agent(self, name: str, email: str, *, active: bool = True) -> Agent:
        with self.lock:
            agent = Agent(id=self._new_id(), name=name, email=email, active=active)
            self.agents[agent.id] = agent
            return agent

    def add_customer(
        self,
        emails: Sequence[str] = (),
        phones: Sequence[str] = (),
        name: str = "Planted Customer",
        external_contact: bool = True,
        *,
        fragmented: bool = False,
    ) -> Customer:
        """Create a customer (and, by default, an external contact holding all its e-mails and phones)."""
        if not emails and not phones:
            raise ValueError("a customer needs at least one e-mail or phone")
        phones = [normalize_phone(p) for p in phones]
        with self.lock:
            customer = Customer(
                id=f"cust-{len(self.customers) + 1:05d}",
                name=name,
                emails=list(emails),
                phones=phones,
                external_contact_id=None,
                fragmented=fragmented,
            )
            if external_contact:
                contact = self.add_external_contact(name, customer.emails, customer.phones)
                customer.external_contact_id = contact.id
            self.customers[customer.id] = customer
            return customer

    def add_external_contact(
        self, name: str, emails: Sequence[str], phones: Sequence[str]
    ) -> ExternalContact:
        first, _, last = name.partition(" ")
        now = self.clock.now()
        with self.lock:
            contact = ExternalContact(
                id=self._new_id(),
                first_name=first or None,
                last_name=last or None,
                emails=list(emails)[:3],
                phones=[normalize_phone(p) for p in phones][:4],
                create_date=now,
                modify_date=now,
            )
            self.external_contacts[contact.id] = contact
            return contact

    def add_conversation(
        self,
        customer: Customer,
        media: str = "voice",
        direction: str = "inbound",
        start: datetime | None = None,
        end: Any = _ENDED,
        recording: bool = True,
        protected: bool = False,
        *,
        agent: Agent | None = None,
        contact_value: str | None = None,
        show_external_contact: bool | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Plant a conversation and return its id.

        `start` defaults to one hour ago; `end` defaults to start + 7 minutes and `end=None` makes it
        still active. `contact_value` picks which of the customer's phones/e-mails appears (default: the
        first one fitting the media). `show_external_contact` defaults to whether the customer has one.
        `attributes`: participant data a flow set on the customer's participant (none by default).
        """
        with self.lock:
            now = self.clock.now()
            start = start or now - timedelta(hours=1)
            end_value = start + timedelta(minutes=7) if end is _ENDED else end
            if contact_value is None:
                pool = customer.emails if media == "email" else customer.phones
                if not pool:
                    raise ValueError(f"customer {customer.id} has no identifier usable for {media}")
                contact_value = pool[0]
            elif media != "email":
                contact_value = normalize_phone(contact_value)
            if show_external_contact is None:
                show_external_contact = customer.external_contact_id is not None and not customer.fragmented
            spec = ConversationSpec(
                customer=customer,
                media=media,
                direction=direction,
                start=start,
                end=end_value,
                agent=agent or self._plant_rng.choice(sorted(self.agents.values(), key=lambda a: a.id)),
                queue=self._plant_rng.choice(self.queues),
                contact_value=contact_value,
                show_external_contact=show_external_contact,
                recording=recording,
                protected=protected,
            )
            conversation = build_conversation(
                spec, self.channels, self.division_id, self._plant_rng, self._new_id
            )
            for rec in conversation.recordings:
                rec.delete_date = None if end_value is None else end_value + timedelta(days=7 * 365)
            if attributes:
                conversation.participants[0].attributes = dict(attributes)  # the customer's
            self.insert_conversation(conversation)
            return conversation.id

    def insert_conversation(self, conversation: Conversation) -> None:
        with self.lock:
            self.conversations[conversation.id] = conversation
            bisect.insort(self._by_start, (conversation.start, conversation.id))
            if conversation.customer_id in self.customers:
                self.customers[conversation.customer_id].conversation_ids.append(conversation.id)
            for key in conversation_index_keys(conversation):
                self._value_index[key].add(conversation.id)

    def bulk_load(self, conversations: Iterable[Conversation]) -> None:
        """Seed-time insert: one sort at the end instead of an insort per conversation."""
        with self.lock:
            for conversation in conversations:
                self.conversations[conversation.id] = conversation
                self._by_start.append((conversation.start, conversation.id))
                if conversation.customer_id in self.customers:
                    self.customers[conversation.customer_id].conversation_ids.append(conversation.id)
                for key in conversation_index_keys(conversation):
                    self._value_index[key].add(conversation.id)
            self._by_start.sort()

    # ---- lookups ---------------------------------------------------------------------------------
    def conversations_started_between(self, lower: datetime, upper: datetime) -> list[Conversation]:
        """Conversations with lower <= start < upper, oldest first."""
        with self.lock:
            lo = bisect.bisect_left(self._by_start, (lower, ""))
            hi = bisect.bisect_left(self._by_start, (upper, ""))
            return [self.conversations[cid] for _, cid in self._by_start[lo:hi]]

    def iter_conversations(self) -> Iterator[Conversation]:
        with self.lock:
            ids = [cid for _, cid in self._by_start]
        for cid in ids:
            yield self.conversations[cid]

    def conversation_ids_with(self, key: str) -> set[str]:
        """Conversation ids currently holding an index key (see `conversation_index_keys`)."""
        with self.lock:
            return set(self._value_index.get(key, ()))

    def index_keys_containing(self, text: str) -> set[str]:
        """Indexed e-mail keys containing the (lower-case) text: partial e-mail matching of jobs."""
        with self.lock:
            return {key for key in self._value_index if "@" in key and text in key}

    def reindex(self, conversation: Conversation, old_keys: set[str]) -> None:
        with self.lock:
            new_keys = conversation_index_keys(conversation)
            for key in old_keys - new_keys:
                ids = self._value_index.get(key)
                if ids is not None:
                    ids.discard(conversation.id)
                    if not ids:
                        del self._value_index[key]
            for key in new_keys - old_keys:
                self._value_index[key].add(conversation.id)

    def conversations_of(self, customer: Customer) -> list[Conversation]:
        with self.lock:
            return sorted(
                (self.conversations[cid] for cid in customer.conversation_ids), key=lambda c: c.start
            )

    def last_contact(self, customer: Customer) -> datetime | None:
        conversations = self.conversations_of(customer)
        return conversations[-1].start if conversations else None

    def customers_where(
        self,
        *,
        activity: str | None = None,
        fragmented: bool | None = None,
        placeholder: bool | None = None,
        external_contact: bool | None = None,
        has_active_conversation: bool | None = None,
    ) -> list[Customer]:
        """Customers matching every given criterion, in id order (deterministic for a seed)."""
        with self.lock:
            result = []
            for customer in self.customers.values():
                if activity is not None and customer.activity != activity:
                    continue
                if fragmented is not None and customer.fragmented != fragmented:
                    continue
                if placeholder is not None and customer.placeholder != placeholder:
                    continue
                if (
                    external_contact is not None
                    and (customer.external_contact_id is not None) != external_contact
                ):
                    continue
                if has_active_conversation is not None:
                    active = any(self.conversations[c].active for c in customer.conversation_ids)
                    if active != has_active_conversation:
                        continue
                result.append(customer)
            return result

    def is_expired(self, customer: Customer) -> bool:
        """True if the customer's last contact is older than the retention cutoff."""
        last = self.last_contact(customer)
        return last is not None and last < self.retention_cutoff

    def external_contacts_holding(self, value: str) -> list[ExternalContact]:
        """External contacts whose e-mails/phones hold the (normalised) value."""
        with self.lock:
            if is_email(value):
                wanted = normalize_email(value)
                return [
                    c for c in self.external_contacts.values() if wanted in map(normalize_email, c.emails)
                ]
            wanted = normalize_phone(value)
            return [c for c in self.external_contacts.values() if wanted in c.phones]

    def delete_external_contact(self, contact_id: str, *, deleted_at: datetime | None = None) -> bool:
        with self.lock:
            removed = self.external_contacts.pop(contact_id, None)
            if removed is not None:
                self.deleted_contacts[contact_id] = (removed, deleted_at or self.clock.now())
            return removed is not None

    def indexed_contacts(self, lag_hours: float) -> list[ExternalContact]:
        """The contacts the search index (and the cursor scan, which reads the same index) holds: the live
        ones, plus those deleted less than `lag_hours` sandbox hours ago."""
        with self.lock:
            contacts = list(self.external_contacts.values())
            if lag_hours > 0:
                since = self.clock.now() - timedelta(hours=lag_hours)
                contacts += [c for c, deleted in self.deleted_contacts.values() if deleted > since]
            return contacts

    def set_protection(self, conversation_ids: Iterable[str], protect: bool) -> list[str]:
        """Apply/revoke deletion protection; returns the ids that do not exist."""
        missing = []
        with self.lock:
            for cid in conversation_ids:
                conversation = self.conversations.get(cid)
                if conversation is None:
                    missing.append(cid)
                else:
                    conversation.protected = protect
        return missing

    # ---- summary ---------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        with self.lock:
            conversations = self.conversations.values()
            activity: dict[str, int] = defaultdict(int)
            for customer in self.customers.values():
                activity[customer.activity] += 1
            return {
                "seed": self.seed,
                "now": format_instant(self.clock.now()),
                "seededAt": format_instant(self.clock.start),
                "retentionCutoff": format_instant(self.retention_cutoff),
                "divisionId": self.division_id,
                "ownNumbers": {
                    "dids": list(self.channels.dids),
                    "tollFree": list(self.channels.toll_free),
                    "sms": list(self.channels.sms_numbers),
                },
                "ownEmailAddresses": list(self.channels.email_addresses),
                "placeholderValues": list(self.placeholder_values),
                "queues": [{"id": q.id, "name": q.name} for q in self.queues],
                "counts": {
                    "customers": len(self.customers),
                    "customersByActivity": dict(sorted(activity.items())),
                    "fragmentedCustomers": sum(c.fragmented for c in self.customers.values()),
                    "placeholderCustomers": sum(c.placeholder for c in self.customers.values()),
                    "agents": len(self.agents),
                    "formerAgents": sum(not a.active for a in self.agents.values()),
                    "externalContacts": len(self.external_contacts),
                    "conversations": len(self.conversations),
                    "activeConversations": sum(c.active for c in conversations),
                    "stuckActiveConversations": sum(
                        c.active and c.start < self.retention_cutoff for c in conversations
                    ),
                    "recordings": sum(len(c.recordings) for c in conversations),
                    "deletedRecordings": sum(
                        r.file_state == "DELETED" for c in conversations for r in c.recordings
                    ),
                    "protectedConversations": sum(c.protected for c in conversations),
                },
                "history": self._history_volume(),
            }

    def _history_volume(self) -> dict[str, Any]:
        # Conversations per day of history, overall and per year counted back from seeding (the first entry
        # is the latest year): a steady seed shows the same figure every year, the legacy one does not.
        seeded = self.clock.start
        ages = [max(0.0, (seeded - c.start).total_seconds() / 86400) for c in self.conversations.values()]
        if not ages:
            return {"days": 0, "conversationsPerDay": 0.0, "conversationsPerDayByYear": []}
        days = max(1, math.ceil(max(ages)))
        per_year = [0] * math.ceil(days / 365)
        for age in ages:
            per_year[min(int(age // 365), len(per_year) - 1)] += 1
        year_days = [min(365, days - 365 * year) for year in range(len(per_year))]
        return {
            "days": days,
            "conversationsPerDay": round(len(ages) / days, 2),
            "conversationsPerDayByYear": [
                round(count / span, 2) for count, span in zip(per_year, year_days, strict=True)
            ],
        }

    def describe_customer(self, customer: Customer) -> dict[str, Any]:
        """Test-facing view of one seeded customer (sandbox admin API; fake data only)."""
        with self.lock:
            last = self.last_contact(customer)
            return {
                "id": customer.id,
                "name": customer.name,
                "emails": list(customer.emails),
                "phones": list(customer.phones),
                "externalContactId": customer.external_contact_id,
                "activity": customer.activity,
                "fragmented": customer.fragmented,
                "placeholder": customer.placeholder,
                "expired": self.is_expired(customer),
                "lastContact": format_instant(last) if last else None,
                "conversationIds": list(customer.conversation_ids),
                "activeConversationIds": [
                    cid for cid in customer.conversation_ids if self.conversations[cid].active
                ],
            }


def conversation_index_keys(conversation: Conversation) -> set[str]:
    """Every identifying value a conversation currently holds, normalised, for subject look-ups."""
    keys: set[str] = set()
    for participant in conversation.participants:
        if participant.name:
            keys.add("name:" + normalize_name(participant.name))
        if participant.external_contact_id:
            keys.add("ec:" + participant.external_contact_id)
        if participant.user_id:
            keys.add("user:" + participant.user_id)
        for session in participant.sessions:
            keys.update(index_key(value) for value in session.address_values())
            if session.callback_user_name:
                keys.add("name:" + normalize_name(session.callback_user_name))
    return keys


def index_key(value: str) -> str:
    if is_email(value):
        return normalize_email(value)
    phone = normalize_phone(value)
    # Only the user part decides: `sip:+44…@edge.example;user=phone` is a number, whatever its host says.
    user_part = value.split(":", 1)[-1].split("@", 1)[0].split(";", 1)[0]
    if phone and not any(ch.isalpha() for ch in user_part):
        return phone
    return "name:" + normalize_name(value)

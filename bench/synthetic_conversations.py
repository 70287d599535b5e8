"""A stream of synthetic analytics conversations (`AnalyticsConversation` JSON, as detail-job results
return them) for a fixed pool of customers, generated one at a time and never kept.

The shape follows `tests/genesys_erasure/conversation_builder.py` (customer/IVR/ACD/agent participants,
sessions with segments, the customer's address in the field that holds it for the media type and
direction). Mix: 45 % inbound voice, 15 % outbound voice, 25 % e-mail (mostly inbound), 10 % SMS, 5 % web
callbacks; 0.1 % still active (no `conversationEnd`); one customer in five has an external contact id.
Customers are drawn uniformly from the pool with a seeded RNG, so runs repeat. Every value is invented
(`example.org` addresses, numbers from the UK mobile range built from the customer's index).

`history="steady"` mirrors the sandbox's steady seeder (`SandboxSettings(history="steady")`): the same
number of conversations on every day of the six years (in date order), callers occupying seats of which
`yearly_churn` change hands each year (so customers start and stop calling through the history instead of
all calling all along), and only the last `active` conversations still active, none by default.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

ORG_DID = "tel:+442079460000"
ORG_EMAIL = "support@acme-energy.example.org"
ORG_SMS = "+447700900999"
AGENT_USER_ID = "6b1f2c5e-1a7d-4d5e-9c3b-2f8e9a0b1c2d"
HISTORY = timedelta(days=6 * 365)


def customer_phone(index: int) -> str:
    return f"+4474{index:08d}"


def customer_email(index: int) -> str:
    return f"Customer.{index}@Example.org"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ConversationStream:
    """`iter(ConversationStream(n, customers))` yields `n` fresh conversation dicts."""

    def __init__(
        self,
        conversations: int,
        customers: int,
        *,
        seed: int = 17,
        now: datetime | None = None,
        history: str = "uniform",
        yearly_churn: float = 0.2,
        active: int = 0,
    ):
        if history not in ("uniform", "steady"):
            raise ValueError("history must be uniform or steady")
        self.conversations = conversations
        self.customers = customers
        self.history = history
        self.yearly_churn = yearly_churn
        self.active = active
        self._rng = random.Random(seed)
        self._now = now or datetime(2026, 6, 1, tzinfo=UTC)
        self._counter = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = self._rng
        start_of_history = self._now - HISTORY
        span = int(HISTORY.total_seconds())
        steady = self.history == "steady"
        occupant = self._seats() if steady else None
        days = HISTORY.days
        for position in range(self.conversations):
            if occupant is not None:
                day = position * days // self.conversations
                customer = occupant(day)
                start = start_of_history + timedelta(days=day, seconds=rng.randrange(86400))
                start = min(start, self._now - timedelta(minutes=5))
                active = position >= self.conversations - self.active
            else:
                customer = rng.randrange(self.customers)
                start = start_of_history + timedelta(seconds=rng.randrange(span))
                active = rng.random() < 0.001
            pick = rng.random()
            if pick < 0.60:
                yield self._voice(customer, start, active, "inbound" if pick < 0.45 else "outbound")
            elif pick < 0.85:
                yield self._email(customer, start, active, "inbound" if pick < 0.80 else "outbound")
            elif pick < 0.95:
                yield self._message(customer, start, active)
            else:
                yield self._callback(customer, start, active)

    def _seats(self) -> Any:
        """`day -> customer index` of a steady history: seats whose callers change hands yearly."""
        rng, years = self._rng, HISTORY.days // 365
        seats = max(1, min(self.customers, round(self.customers / (1 + self.yearly_churn * years))))
        changes = self.customers - seats
        days_of: list[list[int]] = [[0] for _ in range(seats)]
        holders: list[list[int]] = [[seat] for seat in range(seats)]
        handovers = []
        for year in range(years):
            in_year = changes * (year + 1) // years - changes * year // years
            handovers += [(365 * year + rng.randrange(365), rng.randrange(seats)) for _ in range(in_year)]
        for offset, (day, seat) in enumerate(sorted(handovers)):
            days_of[seat].append(day)
            holders[seat].append(seats + offset)

        def occupant(day: int) -> int:
            seat = rng.randrange(seats)
            return holders[seat][bisect.bisect_right(days_of[seat], day) - 1]

        return occupant

    # -- builders --------------------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(UUID(int=self._rng.getrandbits(128), version=4))

    def _local_id(self) -> str:
        """Participant and session ids: UUID-shaped and unique, but cheap (nothing reads them)."""
        self._counter += 1
        return f"00000000-0000-4000-8000-{self._counter:012x}"

    def _session(self, media: str, direction: str, start: str, end: str | None, **fields: Any):
        segment: dict[str, Any] = {"segmentStart": start, "segmentType": "interact"}
        if end is not None:
            segment["segmentEnd"] = end
            segment["disconnectType"] = "endpoint"
        return {
            "mediaType": media,
            "sessionId": self._local_id(),
            "direction": direction,
            "provider": "Edge" if media == "voice" else "PureCloud",
            "segments": [segment],
            **fields,
        }

    def _participant(self, purpose: str, name: str, session: dict[str, Any], **fields: Any):
        return {
            "participantId": self._local_id(),
            "participantName": name,
            "purpose": purpose,
            "sessions": [session],
            **fields,
        }

    def _conversation(self, start: str, end: str | None, direction: str, participants: list):
        conversation: dict[str, Any] = {
            "conversationId": self._uuid(),
            "conversationStart": start,
            "originatingDirection": direction,
            "divisionIds": ["b2d1c0e9-8f7a-4b6c-9d5e-1f2a3b4c5d6e"],
            "participants": participants,
        }
        if end is not None:
            conversation["conversationEnd"] = end
        return conversation

    def _times(self, start: datetime, active: bool, longest_seconds: int) -> tuple[str, str | None]:
        """ISO start and end (None while active), formatted once per conversation."""
        if active:
            return _iso(start), None
        return _iso(start), _iso(start + timedelta(seconds=self._rng.randrange(30, longest_seconds)))

    def _customer_fields(self, customer: int) -> dict[str, Any]:
        return {"externalContactId": str(UUID(int=customer + 1, version=4))} if customer % 5 == 0 else {}

    def _voice(self, customer: int, start: Any, active: bool, direction: str):
        start, end = self._times(start, active, 1200)
        number = "tel:" + customer_phone(customer)
        ani, dnis = (number, ORG_DID) if direction == "inbound" else (ORG_DID, number)
        purpose = "customer" if direction == "inbound" else "external"
        voice = {"ani": ani, "dnis": dnis}
        return self._conversation(
            start,
            end,
            direction,
            [
                self._participant(
                    purpose,
                    "Customer",
                    self._session("voice", direction, start, end, **voice),
                    **self._customer_fields(customer),
                ),
                self._participant("ivr", "Main IVR", self._session("voice", direction, start, end, **voice)),
                self._participant(
                    "agent",
                    "Sam Agent",
                    self._session("voice", direction, start, end, ani=ani, dnis="sip:agent@acme.example"),
                    userId=AGENT_USER_ID,
                ),
            ],
        )

    def _email(self, customer: int, start: Any, active: bool, direction: str):
        start, end = self._times(start, active, 4 * 3600)
        address = customer_email(customer)
        sender, recipient = (address, ORG_EMAIL) if direction == "inbound" else (ORG_EMAIL, address)
        fields = {"addressFrom": sender, "addressTo": recipient}
        purpose = "customer" if direction == "inbound" else "external"
        return self._conversation(
            start,
            end,
            direction,
            [
                self._participant(
                    purpose, "Customer", self._session("email", direction, start, end, **fields)
                ),
                self._participant("acd", "Billing", self._session("email", direction, start, end, **fields)),
                self._participant(
                    "agent",
                    "Sam Agent",
                    self._session("email", direction, start, end, **fields),
                    userId=AGENT_USER_ID,
                ),
            ],
        )

    def _message(self, customer: int, start: Any, active: bool):
        start, end = self._times(start, active, 1800)
        fields = {"addressFrom": customer_phone(customer), "addressTo": ORG_SMS, "messageType": "sms"}
        return self._conversation(
            start,
            end,
            "inbound",
            [
                self._participant(
                    "customer", "Customer", self._session("message", "inbound", start, end, **fields)
                ),
                self._participant(
                    "agent",
                    "Sam Agent",
                    self._session("message", "inbound", start, end, **fields),
                    userId=AGENT_USER_ID,
                ),
            ],
        )

    def _callback(self, customer: int, start: Any, active: bool):
        start, end = self._times(start, active, 900)
        number = customer_phone(customer)
        fields = {"callbackNumbers": [number], "dnis": "tel:" + number, "ani": ORG_DID}
        return self._conversation(
            start,
            end,
            "outbound",
            [
                self._participant(
                    "customer", "Customer", self._session("callback", "outbound", start, end, **fields)
                ),
                self._participant(
                    "agent",
                    "Sam Agent",
                    self._session("callback", "outbound", start, end, **fields),
                    userId=AGENT_USER_ID,
                ),
            ],
        )

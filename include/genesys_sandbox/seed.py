"""Deterministic generator of a realistic org (same seed and settings -> the same org).

Shape (fractions of the non-placeholder customers):
* activity: ~20 % `recent` (a contact within the last six weeks; a few within the analytics lag),
  ~25 % `dormant` (last contact after the retention cutoff but over 60 days ago), the rest `expired`
  (every contact before the retention cutoff = now - retention_years);
* ~10 % `fragmented`: e-mail conversations and phone conversations never name the external contact, which
  is the only record holding both;
* ~60 % of the others have an external contact that most of their conversations show;
* two `placeholder` customers (`+10000000000`, `noemail@example.com`) shared by many conversations under
  many different names;
* ~0.5 % of conversations still active: almost all started in the last hours by recent customers, but
  one in twenty is a years-old e-mail/callback that never ended, held by an expired customer;
* ~1 % of recorded conversations under deletion protection (mostly expired customers'), recordings
  ARCHIVED after two years, deleteDate seven years after the end.
* with `data_shapes="real"`, numbers, headers and attributes are written in their real forms (see
  builders.py), and ~1 % of conversations are unattributed traffic: inbound calls from withheld callers
  (`anonymous`, `sip:anonymous@…`, empty ani) and messages from channel ids (a Facebook-style numeric id),
  which name no customer.
Dates are relative to the clock's start (settings.now), so a fixed `now` gives byte-identical data.

With `history="steady"` (`_run_steady`), the same people and conversation shapes are spread evenly over
the days of history instead: `customers_per_year` callers at any time, `yearly_churn` of them replaced each
year, activity labelled from each customer's last contact against `retention_years`, and only
`active_conversations` active ones (none by default). The legacy seed above stays byte-identical.
"""

from __future__ import annotations

import bisect
import random
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta

from genesys_sandbox import seed_data as words
from genesys_sandbox.builders import (
    DATA_SHAPES,
    ConversationSpec,
    OrgChannels,
    build_conversation,
    make_id_source,
)
from genesys_sandbox.clock import SandboxClock
from genesys_sandbox.divisions import division_ids, spread_division
from genesys_sandbox.model import Agent, Conversation, Customer, ExternalContact, Queue
from genesys_sandbox.org import Org
from genesys_sandbox.settings import SandboxSettings

DAY = timedelta(days=1)
MEDIA_WEIGHTS = (("voice", 50), ("email", 25), ("message", 15), ("callback", 10))
INBOUND_SHARE = {"voice": 0.7, "email": 0.8, "message": 0.85, "callback": 1.0}
RECORDED_SHARE = {"voice": 0.85, "callback": 0.85, "email": 0.5, "message": 0.4}
DURATION_SECONDS = {
    "voice": (90, 1500),
    "callback": (120, 1200),
    "email": (600, 172800),
    "message": (300, 10800),
}


def seed_org(settings: SandboxSettings, clock: SandboxClock) -> Org:
    return _Seeder(settings, clock).run()


class _Seeder:
    def __init__(self, settings: SandboxSettings, clock: SandboxClock) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.new_id = make_id_source(self.rng)
        self.now = clock.start
        self.horizon = self.now - timedelta(days=365 * settings.years)
        retention_years = min(float(settings.retention_years), settings.years * 0.75)
        if settings.history == "steady":
            # the label follows the org's retention, even when it is longer than the seeded history
            retention_years = float(settings.retention_years)
        self.cutoff = self.now - timedelta(days=365 * retention_years)
        self.channels = OrgChannels(
            dids=words.ORG_DIDS,
            toll_free=words.ORG_TOLL_FREE,
            sms_numbers=words.ORG_SMS_NUMBERS,
            email_addresses=words.ORG_EMAIL_ADDRESSES,
        )
        self.new_id()  # once the home division's id: drawn still, so every later seeded id stays the same
        self.division_id = division_ids(settings)[0]
        self.queues = [Queue(self.new_id(), name) for name in words.QUEUE_NAMES]
        self.org = Org(
            clock=clock,
            channels=self.channels,
            division_id=self.division_id,
            queues=self.queues,
            seed=settings.seed,
            retention_cutoff=self.cutoff,
        )
        self.used_values: set[str] = set(self.channels.all_numbers)
        if settings.data_shapes not in DATA_SHAPES:
            raise ValueError(f"sandbox setting 'data_shapes' must be one of {DATA_SHAPES}")
        self.real = settings.data_shapes == "real"
        self.conversations: list[Conversation] = []

    def run(self) -> Org:
        if self.settings.history == "steady":
            return self._run_steady()
        self._agents()
        regular, placeholders = self._customers()
        budget = self.settings.conversations
        n_active = 0 if budget < 10 else max(2, budget // 200)
        placeholder_counts = self._placeholder_counts(placeholders, budget)
        remaining = budget - n_active - sum(placeholder_counts)
        n_unattributed = max(2, remaining // 100) if self.real and remaining >= 50 + len(regular) else 0
        self._regular_conversations(regular, remaining - n_unattributed)
        self._unattributed_conversations(n_unattributed)
        self._active_conversations(regular, n_active)
        for customer, count in zip(placeholders, placeholder_counts, strict=True):
            self._placeholder_conversations(customer, count)
        self._recording_retention()
        self._protect()
        self._spread_over_divisions()
        self.org.bulk_load(self.conversations)
        return self.org

    def _run_steady(self) -> Org:
        self._agents()
        days = 365 * self.settings.years
        n_customers, per_year = steady_customer_counts(self.settings)
        total = steady_conversation_count(self.settings)
        if total < n_customers:
            raise ValueError("sandbox setting 'conversations' must be >= customers (steady history)")
        regular, placeholders = self._steady_customers(n_customers)
        n_active = min(self.settings.active_conversations, max(0, total - n_customers))
        placeholder_counts = self._placeholder_counts(placeholders, total)
        remaining = total - n_active - sum(placeholder_counts)
        n_unattributed = max(2, remaining // 100) if self.real and remaining >= 50 + len(regular) else 0
        self._steady_conversations(regular, per_year, days, remaining - n_unattributed)
        self._unattributed_conversations(n_unattributed)
        self._label_by_last_contact(regular)
        self._active_conversations(regular, n_active)
        for customer, count in zip(placeholders, placeholder_counts, strict=True):
            self._placeholder_conversations(customer, count)
        self._recording_retention()
        self._protect()
        self._spread_over_divisions()
        self.org.bulk_load(self.conversations)
        return self.org

    def _steady_customers(self, total: int) -> tuple[list[Customer], list[Customer]]:
        # activity is labelled once their conversations are placed (by last contact)
        return self._customers(total, labelled=False)

    def _steady_conversations(self, customers: list[Customer], per_year: int, days: int, budget: int) -> None:
        """Spread `budget` conversations evenly over the days of history, each to a customer calling then.

        `per_year` seats are occupied by one customer at a time; each year `yearly_churn` of them change
        hands on a random day (the old customer stops calling, a new one starts), so the callers of any
        year number about `per_year` and the first occupants have called since before the history began.
        A seat's volume (a Pareto weight) is kept by its next occupant, so no year is busier than another.
        """
        rng = self.rng
        if not customers:
            return
        seats = min(per_year, len(customers))
        changes = len(customers) - seats
        occupants: list[list[tuple[int, int]]] = [[(0, index)] for index in range(seats)]
        handovers = []
        for year in range(self.settings.years):
            in_year = changes * (year + 1) // self.settings.years - changes * year // self.settings.years
            handovers += [(365 * year + rng.randrange(365), rng.randrange(seats)) for _ in range(in_year)]
        for offset, (day, seat) in enumerate(sorted(handovers)):
            occupants[seat].append((max(day, occupants[seat][-1][0] + 1), seats + offset))
        spans: dict[int, tuple[int, int]] = {}
        for seat_occupants in occupants:
            bounds = [day for day, _ in seat_occupants[1:]] + [days]
            for (first, index), end in zip(seat_occupants, bounds, strict=True):
                spans[index] = (min(first, days - 1), max(min(end, days), first + 1) - 1)
        minimum = [2 if c.fragmented else 1 for c in customers]
        if budget < sum(minimum):
            minimum = [1] * len(customers)
        reserved = [0] * days
        slots: list[list[int]] = [[] for _ in customers]
        for index, count in enumerate(minimum):
            first, last = spans[index]
            for _ in range(count):
                day = rng.randint(first, last)
                slots[index].append(day)
                reserved[day] += 1
        extra_days = self._steady_extra_days(reserved, budget, days)
        weights = [rng.paretovariate(1.6) for _ in range(seats)]
        seat_days = [[day for day, _ in seat_occupants] for seat_occupants in occupants]
        for day, seat in zip(extra_days, rng.choices(range(seats), weights, k=len(extra_days)), strict=True):
            holder = occupants[seat][bisect.bisect_right(seat_days[seat], day) - 1][1]
            slots[holder].append(day)
        latest = self.now - timedelta(minutes=5)
        for customer, customer_days in zip(customers, slots, strict=True):
            starts = sorted(
                min(latest, self.horizon + day * DAY + timedelta(seconds=rng.randrange(86400)))
                for day in customer_days
            )
            for position, start in enumerate(starts):
                media = self._media(customer, position)
                self._add(customer, media, start, self._end(media, start))

    def _steady_extra_days(self, reserved: list[int], budget: int, days: int) -> list[int]:
        # per-day targets differ by at most one; days over target (reserved minimums) are paid for by
        # leaving out as many evenly spaced extra slots, so the total is exactly `budget`
        target = [budget * (day + 1) // days - budget * day // days for day in range(days)]
        extra = [day for day in range(days) for _ in range(max(0, target[day] - reserved[day]))]
        excess = sum(max(0, r - t) for r, t in zip(reserved, target, strict=True))
        if excess and extra:
            drop = {len(extra) * k // excess for k in range(excess)}
            extra = [day for position, day in enumerate(extra) if position not in drop]
        return extra

    def _label_by_last_contact(self, customers: list[Customer]) -> None:
        last: dict[str, datetime] = {}
        for conversation in self.conversations:
            if conversation.start > last.get(conversation.customer_id, self.horizon - DAY):
                last[conversation.customer_id] = conversation.start
        for customer in customers:
            seen = last.get(customer.id, self.horizon)
            if seen >= self.now - 42 * DAY:
                customer.activity = "recent"
            elif seen < self.cutoff:
                customer.activity = "expired"
            else:
                customer.activity = "dormant"

    def _spread_over_divisions(self) -> None:
        # A customer's conversations and contact land in different divisions, as in an org whose queues
        # belong to several: a role covering only some divisions then sees only part of a customer.
        for conversation in self.conversations:
            conversation.division_id = spread_division(self.settings, conversation.id)
        for contact in self.org.external_contacts.values():
            contact.division_id = spread_division(self.settings, contact.id)

    # ---- people ----------------------------------------------------------------------------------
    def _agents(self) -> None:
        count = self.settings.agent_count
        former = max(1, count // 10)
        for index in range(count):
            first, last = self.rng.choice(words.AGENT_FIRST), self.rng.choice(words.AGENT_LAST)
            email = f"{_ascii(first)}.{_ascii(last)}{index + 1}@{words.ORG_DOMAIN}".lower()
            agent = Agent(id=self.new_id(), name=f"{first} {last}", email=email, active=index >= former)
            self.org.agents[agent.id] = agent
        self.agents = list(self.org.agents.values())

    def _customers(
        self, total: int | None = None, *, labelled: bool = True
    ) -> tuple[list[Customer], list[Customer]]:
        total = self.settings.customers if total is None else total
        n_placeholders = 2 if total >= 20 else (1 if total >= 5 else 0)
        n_regular = total - n_placeholders
        activities = self._activities(n_regular) if labelled else ["steady"] * n_regular
        n_fragmented = max(1, n_regular // 10) if n_regular >= 5 else 0
        fragmented = set(self.rng.sample(range(n_regular), n_fragmented))
        regular = []
        for index in range(n_regular):
            customer = self._person(index, activities[index], index in fragmented)
            self.org.customers[customer.id] = customer
            regular.append(customer)
        placeholders = []
        values = [("phone", words.PLACEHOLDER_PHONE), ("email", words.PLACEHOLDER_EMAIL)][:n_placeholders]
        for offset, (kind, value) in enumerate(values):
            customer = Customer(
                id=f"cust-{n_regular + offset + 1:05d}",
                name="Unknown Caller" if kind == "phone" else "Unknown Sender",
                emails=[value] if kind == "email" else [],
                phones=[value] if kind == "phone" else [],
                external_contact_id=None,
                activity="recent",
                placeholder=True,
            )
            self.org.customers[customer.id] = customer
            self.org.placeholder_values.append(value)
            placeholders.append(customer)
        return regular, placeholders

    def _activities(self, count: int) -> list[str]:
        n_recent = max(1, round(count * 0.20)) if count else 0
        n_dormant = round(count * 0.25)
        labels = ["recent"] * n_recent + ["dormant"] * n_dormant
        labels += ["expired"] * (count - len(labels))
        self.rng.shuffle(labels)
        return labels

    def _person(self, index: int, activity: str, fragmented: bool) -> Customer:
        rng = self.rng
        country = rng.choices([c for c, _ in words.COUNTRY_WEIGHTS], [w for _, w in words.COUNTRY_WEIGHTS])[0]
        first, last = rng.choice(words.FIRST_NAMES[country]), rng.choice(words.LAST_NAMES[country])
        n_emails = rng.choices((1, 2, 3), (70, 22, 8))[0]
        n_phones = rng.choices((1, 2, 3), (60, 30, 10))[0]
        if fragmented:
            n_emails, n_phones = max(1, n_emails), max(1, n_phones)
        emails = [self._email(first, last, country) for _ in range(n_emails)]
        phones = [self._phone(country if i == 0 or rng.random() < 0.8 else None) for i in range(n_phones)]
        customer = Customer(
            id=f"cust-{index + 1:05d}",
            name=f"{first} {last}",
            emails=emails,
            phones=phones,
            external_contact_id=None,
            activity=activity,
            fragmented=fragmented,
        )
        if fragmented or rng.random() < 0.6:
            created = self.horizon + (self.now - self.horizon) * rng.random() * 0.5
            contact = ExternalContact(
                id=self.new_id(),
                first_name=first,
                last_name=last,
                emails=list(emails),
                phones=list(phones),
                create_date=created,
                modify_date=created + (self.now - created) * rng.random(),
            )
            self.org.external_contacts[contact.id] = contact
            customer.external_contact_id = contact.id
        return customer

    def _email(self, first: str, last: str, country: str) -> str:
        rng = self.rng
        while True:
            local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}"))
            if rng.random() < 0.5:
                local += str(rng.randint(1, 9999))
            domain = rng.choice(words.EMAIL_DOMAINS[country])
            email = f"{_ascii(local)}@{domain}"
            # a few people write their address with capitals; the org's systems keep it as typed
            email = email if rng.random() < 0.9 else email[0].upper() + email[1:]
            if email.lower() not in self.used_values:
                self.used_values.add(email.lower())
                return email

    def _phone(self, country: str | None) -> str:
        rng = self.rng
        country = country or rng.choice(list(words.PHONE_SHAPES))
        while True:
            prefix, digits = rng.choice(words.PHONE_SHAPES[country])
            head = str(rng.randint(2, 9)) if prefix.startswith("+1") else str(rng.randrange(10))
            number = prefix + head + "".join(str(rng.randrange(10)) for _ in range(digits - 1))
            if number not in self.used_values:
                self.used_values.add(number)
                return number

    # ---- conversations ---------------------------------------------------------------------------
    def _placeholder_counts(self, placeholders: list[Customer], budget: int) -> list[int]:
        counts = []
        for customer in placeholders:
            share = 0.015 if customer.phones else 0.008
            counts.append(max(3, min(300 if customer.phones else 150, int(budget * share))))
        while sum(counts) > budget // 4 and any(c > 1 for c in counts):
            counts = [max(1, c // 2) for c in counts]
        return counts

    def _regular_conversations(self, customers: list[Customer], budget: int) -> None:
        rng = self.rng
        minimum = [2 if c.fragmented else 1 for c in customers]
        if budget < sum(minimum):
            minimum = [1] * len(customers)
        counts = list(minimum)
        spare = max(0, budget - sum(counts))
        weights = [rng.paretovariate(1.6) for _ in customers]
        for index in rng.choices(range(len(customers)), weights, k=spare) if customers else []:
            counts[index] += 1
        lag_window = timedelta(hours=self.settings.analytics_lag_hours or 24)
        recent = [c for c in customers if c.activity == "recent"]
        just_seen = {c.id for c in recent[: max(2, len(recent) // 10)]}
        for customer, count in zip(customers, counts, strict=True):
            for position, start in enumerate(
                self._starts(customer, count, customer.id in just_seen, lag_window)
            ):
                media = self._media(customer, position)
                self._add(customer, media, start, self._end(media, start))

    def _starts(self, customer: Customer, count: int, just_seen: bool, lag: timedelta) -> list[datetime]:
        rng, now = self.rng, self.now
        if customer.activity == "recent":
            if just_seen:
                latest = now - timedelta(seconds=rng.uniform(3600, max(3700, lag.total_seconds() * 0.6)))
            else:
                latest = now - timedelta(seconds=rng.uniform(3 * 3600, 42 * 86400))
            others = [_between(rng, self.horizon, latest) for _ in range(count - 1)]
        elif customer.activity == "dormant":
            latest = _between(rng, self.cutoff + DAY, now - 60 * DAY)
            others = [_between(rng, self.horizon, latest) for _ in range(count - 1)]
        else:
            latest = _between(rng, self.horizon + DAY, self.cutoff - 2 * DAY)
            others = [_between(rng, self.horizon, latest) for _ in range(count - 1)]
        return [*others, latest]

    def _media(self, customer: Customer, position: int) -> str:
        if customer.fragmented and position < 2:
            return ("email", "voice")[position]
        media = self.rng.choices([m for m, _ in MEDIA_WEIGHTS], [w for _, w in MEDIA_WEIGHTS])[0]
        if media == "email" and not customer.emails:
            return "voice"
        if media != "email" and not customer.phones:
            return "email"
        return media

    def _end(self, media: str, start: datetime) -> datetime:
        low, high = DURATION_SECONDS[media]
        end = start + timedelta(seconds=self.rng.randint(low, high))
        return min(end, self.now - timedelta(minutes=1))

    def _add(
        self,
        customer: Customer,
        media: str,
        start: datetime,
        end: datetime | None,
        *,
        direction: str | None = None,
        shown_as: Customer | None = None,
    ) -> Conversation:
        rng = self.rng
        if direction is None:
            direction = "inbound" if rng.random() < INBOUND_SHARE[media] else "outbound"
        pool = customer.emails if media == "email" else customer.phones
        has_contact = customer.external_contact_id is not None
        spec = ConversationSpec(
            customer=shown_as or customer,
            media=media,
            direction=direction,
            start=start,
            end=end,
            agent=rng.choice(self.agents),
            queue=rng.choice(self.queues),
            contact_value=rng.choice(pool),
            show_external_contact=has_contact and not customer.fragmented and rng.random() < 0.85,
            recording=rng.random() < RECORDED_SHARE[media],
            caller_id_style=rng.random() < 0.3,
            shapes=self.settings.data_shapes,
        )
        conversation = build_conversation(spec, self.channels, self.division_id, rng, self.new_id)
        self.conversations.append(conversation)
        return conversation

    def _unattributed_conversations(self, count: int) -> None:
        # Nobody to attribute them to: the caller withheld the number, or the channel id is all we have.
        rng = self.rng
        for index in range(count):
            withheld = index % 3 != 1  # two withheld callers to one channel-id sender, both from two on
            media = "voice" if withheld else "message"
            raw = rng.choice(words.WITHHELD_CALLERS) if withheld else str(rng.randint(10**15, 10**16 - 1))
            nobody = Customer(
                id=f"unattributed-{index + 1:05d}",
                name="Anonymous" if withheld else "Guest",
                emails=[],
                phones=[],
                external_contact_id=None,
                activity="planted",
            )
            start = _between(rng, self.horizon, self.now - DAY)
            spec = ConversationSpec(
                customer=nobody,
                media=media,
                direction="inbound",
                start=start,
                end=self._end(media, start),
                agent=rng.choice(self.agents),
                queue=rng.choice(self.queues),
                contact_value="",
                show_external_contact=False,
                caller_id_style=True,
                recording=rng.random() < RECORDED_SHARE[media],
                shapes=self.settings.data_shapes,
                raw_address=raw,
            )
            self.conversations.append(
                build_conversation(spec, self.channels, self.division_id, rng, self.new_id)
            )

    def _active_conversations(self, customers: list[Customer], count: int) -> None:
        # a few conversations opened years ago never ended (stuck e-mails/callbacks): their customers are
        # expired by last contact, yet an active conversation blocks a complete erasure
        expired = [c for c in customers if c.activity == "expired" and not c.fragmented and c.emails]
        stuck = min(len(expired), max(1, count // 20)) if count >= 5 else 0
        for customer in self.rng.sample(expired, stuck):
            start = _between(self.rng, self.horizon, self.cutoff - 2 * DAY)
            self._add(
                customer, self.rng.choice(("email", "callback")) if customer.phones else "email", start, None
            )
        recent = [c for c in customers if c.activity == "recent" and not c.fragmented] or customers
        for index in range(count - stuck):
            customer = recent[index % len(recent)]
            media = self.rng.choice(("voice", "voice", "message", "email"))
            media = self._media(customer, 99) if media == "email" and not customer.emails else media
            hours = 20 if media == "email" else 1.5
            start = self.now - timedelta(seconds=self.rng.uniform(120, hours * 3600))
            self._add(customer, media, start, None)

    def _placeholder_conversations(self, customer: Customer, count: int) -> None:
        rng = self.rng
        media = "voice" if customer.phones else "email"
        for _ in range(count):
            country = rng.choice(list(words.FIRST_NAMES))
            name = f"{rng.choice(words.FIRST_NAMES[country])} {rng.choice(words.LAST_NAMES[country])}"
            start = _between(rng, self.horizon, self.now - DAY)
            shown = replace(customer, name=name, conversation_ids=[])
            self._add(customer, media, start, self._end(media, start), direction="inbound", shown_as=shown)

    # ---- recordings ------------------------------------------------------------------------------
    def _recording_retention(self) -> None:
        rng = self.rng
        for conversation in self.conversations:
            for recording in conversation.recordings:
                if conversation.end is None:
                    continue
                if self.now - conversation.end > timedelta(days=730):
                    recording.file_state = "ARCHIVED"
                    recording.archive_date = conversation.end + timedelta(days=730)
                if rng.random() < 0.8:
                    recording.delete_date = conversation.end + timedelta(days=7 * 365)

    def _protect(self) -> None:
        recorded = [c for c in self.conversations if c.recordings and c.end is not None]
        if not recorded:
            return
        expired_ids = {c.id for c in self.org.customers.values() if c.activity == "expired"}
        preferred = [c for c in recorded if c.customer_id in expired_ids] or recorded
        count = min(len(preferred), max(1, len(recorded) // 100))
        for conversation in self.rng.sample(preferred, count):
            conversation.protected = True


def steady_customer_counts(settings: SandboxSettings) -> tuple[int, int]:
    """(customers in all, customers calling at any one time) of a steady history."""
    if settings.customers_per_year:
        per_year = settings.customers_per_year
        total = per_year + round(per_year * settings.yearly_churn * settings.years)
    else:
        total = settings.customers
        per_year = max(1, round(total / (1 + settings.yearly_churn * settings.years)))
    placeholders = 2 if total >= 20 else (1 if total >= 5 else 0)
    return total, max(1, min(per_year, total - placeholders))


def steady_conversation_count(settings: SandboxSettings) -> int:
    """All conversations of a steady history: `conversations_per_day` for every day, else `conversations`."""
    if settings.conversations_per_day:
        return round(settings.conversations_per_day * 365 * settings.years)
    return settings.conversations


def _between(rng: random.Random, lower: datetime, upper: datetime) -> datetime:
    if upper <= lower:
        return lower
    instant = lower + (upper - lower) * rng.random()
    return instant.replace(microsecond=(instant.microsecond // 1000) * 1000)


def _ascii(text: str) -> str:
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()

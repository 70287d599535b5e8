"""Which customers have not been in contact since the retention cutoff, derived from analytics conversations.

`ContactIndex` reads `AnalyticsConversation` JSON dicts (detail-query pages or detail-job results) one at a
time and keeps, per customer identifier, the time of the last contact, a conversation count and the ids of
the most recent conversations (for later verification). Nothing is kept per conversation, so memory grows
with the number of distinct customers, not with the length of the history scanned.

Only customer-side participants (purpose `customer` or `external`) yield identifiers, and only from the
field that holds the *customer's* address for that media type and direction: on an inbound call `ani` is
the caller and `dnis` is one of the org's own numbers; on an outbound call it is the other way round.
Agents' user ids never become customer identifiers. Numbers dialled on inbound calls are the org's own
numbers (DIDs): they are detected on the way and never reported as customers.

Real orgs write one number many ways (`tel:+4420…`, `sip:+4420…@edge;user=phone`, national `020 7946 …`):
all normalise to one E.164 identifier. A national number is read in the country of the org number on the
same call (`trunk_region`), the default region only when no leg shows one, and not at all without a
default region. Values that name nobody are counted, never taken:
withheld callers (`anonymous`, `sip:anonymous@…`, empty ani) as `ani:withheld`, messaging channel ids
(neither phone nor e-mail) as `addressFrom:messaging_id`. E-mail headers are parsed as address lists,
so `"Berg, Anna" <anna@…>, other@…` yields the two addresses and never the display name.

Participant `attributes` (set by flows: a callback number, an e-mail typed in an IVR) are read for
e-mail addresses and numbers with an explicit country code. Their keys are free text, so a value may name
somebody other than the customer (an agent, a third party): an identifier seen *only* in attributes
therefore counts as contact (it can keep a customer recent) but is never planned for erasure on its own;
`attribute_only_count` says how many such identifiers there were.

A GDPR delete may match only whole stored values (UNCONFIRMED; the sandbox's pessimistic reading), so the
index also keeps, per identifier, the distinct raw forms it was read from in address fields (`tel:+44…`,
`sip:02079460958@trunk`, `020 7946 0958`, a whole header `"Berg, Anna" <anna@…>`), at most
`MAX_RAW_FORMS` of them; further forms are only counted. Forms of the same identifiers that the org
side's sessions repeat are kept too (a callback's outbound leg dials the number in its own form), but
nothing outside the customer-side participants ever becomes an identifier. Raw forms are personal
data: they leave the index only for the sealed hand-off and the sealed ledger token, never for logs or
reports (counts only).
Attribute values are not kept as forms: a flow's free-text key may name somebody else.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses
from functools import lru_cache
from typing import Any
from uuid import UUID

import phonenumbers

from genesys_erasure.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    is_withheld_caller,
    normalise_email,
    normalise_opaque_id,
    normalise_phone,
)

CUSTOMER_PURPOSES = frozenset({"customer", "external"})
DEFAULT_CONVERSATION_ID_CAP = 50
MAX_RAW_FORMS = 10  # per identifier; a number written more ways than this is unusual, and counted
_KNOWN_MEDIA = frozenset(
    {
        "callback",
        "chat",
        "cobrowse",
        "email",
        "internalmessage",
        "message",
        "screenmonitoring",
        "screenshare",
        "unknown",
        "video",
        "voice",
    }
)
# where the org side's sessions may repeat the customer's address (see ContactIndex._collect_echoes)
_ECHO_PHONE_FIELDS = ("ani", "dnis", "remote")
_ECHO_ADDRESS_FIELDS = ("addressFrom", "addressTo")
_UUID_BYTES = 16
_NORMALISE_CACHE_SIZE = 1 << 16

_PHONE = IdentifierKind.PHONE.value
_EMAIL = IdentifierKind.EMAIL.value
_EXTERNAL = IdentifierKind.EXTERNAL_CONTACT.value


@dataclass(frozen=True)
class ContactSummary:
    """What the index knows about one customer identifier. `last_contact` is the end (or, while still
    running, the start) of the latest conversation; `active` means a conversation without an end was seen,
    which counts as contact *now*. `conversation_ids` are the most recent ones, newest first, capped."""

    identifier: Identifier
    last_contact: datetime | None
    active: bool
    conversation_count: int
    conversation_ids: tuple[str, ...]
    raw_forms: tuple[str, ...] = ()  # distinct stored forms other than the identifier itself, sorted
    raw_forms_dropped: int = 0  # distinct forms beyond MAX_RAW_FORMS, not kept
    # of `conversation_ids`, those whose copy carried participant attributes (any participant) or came from
    # a read without attributes (detail queries): only their live view can hold a value in attributes
    attribute_conversation_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sighting:
    """One customer identifier and its latest contact in what the index read (see `ContactSummary`);
    `direct` means it was seen in an address field, not only in participant attributes. A contact
    without a time is `datetime.max`: recent for any cutoff."""

    identifier: Identifier
    last_contact: datetime | None
    active: bool
    direct: bool


class _Entry:
    """Per-identifier state. Conversation ids are packed as 16-byte UUIDs next to their epoch-ms stamps,
    so a customer with 50 retained conversations costs about 1.2 kB, not 50 Python strings."""

    __slots__ = ("active", "count", "direct", "dropped", "flags", "forms", "ids", "last_ms", "stamps")

    def __init__(self) -> None:
        self.last_ms = 0
        self.count = 0
        self.active = False
        self.direct = False  # seen in an address field, not only in participant attributes
        self.stamps = array("q")
        self.ids = bytearray()
        self.forms: set[str] | None = None  # raw forms, created on the first one (most values are clean)
        self.dropped: set[int] | None = None  # forms beyond the cap, as hashes: only to count them once
        # per retained id, 1 = its attributes may hold a value (created on the first: most orgs have none)
        self.flags: bytearray | None = None

    def flag(self, slot: int, value: bool) -> None:
        if self.flags is None:
            if not value:
                return
            self.flags = bytearray()
        if len(self.flags) < len(self.stamps):
            self.flags.extend(bytes(len(self.stamps) - len(self.flags)))
        self.flags[slot] = int(value)

    def add_forms(self, forms: Iterable[str]) -> None:
        for form in forms:
            if self.forms is None:
                self.forms = set()
            if form in self.forms:
                continue
            if len(self.forms) < MAX_RAW_FORMS:
                self.forms.add(form)
            else:
                # Hashed, so an identifier written in thousands of ways cannot grow the index unboundedly
                # with raw text; a collision only undercounts.
                if self.dropped is None:
                    self.dropped = set()
                self.dropped.add(hash(form) & 0xFFFFFFFF)


class ContactIndex:
    def __init__(
        self,
        *,
        own_identifiers: Iterable[Identifier] = (),
        exclusions: Iterable[Identifier] = (),
        default_region: str | None = None,
        conversation_id_cap: int = DEFAULT_CONVERSATION_ID_CAP,
    ) -> None:
        if conversation_id_cap < 1:
            raise ValueError("conversation_id_cap must be at least 1")
        self._own = frozenset(_key(i.kind.value, i.value) for i in own_identifiers)
        self._excluded = frozenset(_key(i.kind.value, i.value) for i in exclusions)
        self._region = default_region
        self._cap = conversation_id_cap
        self._entries: dict[str, _Entry] = {}
        self._own_dids: set[str] = set()
        self._problems: Counter[str] = Counter()
        self._conversations = 0
        # Per index, so the cached raw values go away with it.
        self._normalise = lru_cache(maxsize=_NORMALISE_CACHE_SIZE)(_normalise)

    # ---- feeding -------------------------------------------------------------------------------------

    def add(self, conversation: Mapping[str, Any], *, attributes_known: bool = True) -> None:
        """Record one analytics conversation. Malformed values are counted in `problems`, never raised.
        `attributes_known`: the read carries participant attributes (jobs do, detail queries do not); a
        conversation read without them is remembered as one whose attributes may hold a value."""
        self._conversations += 1
        end = conversation.get("conversationEnd")
        stamp = _epoch_ms(end or conversation.get("conversationStart"))
        active = not end
        if stamp is None:
            # Without a time we cannot prove the contact is old: treat it as happening at the end of time,
            # which makes the customer recent for any cutoff.
            self._problems["conversation:missing_timestamp"] += 1
            stamp, active = _FOREVER_MS, False
        conversation_id = _uuid_bytes(conversation.get("conversationId"))
        if conversation_id is None:
            self._problems["conversation:id_not_uuid"] += 1

        keys: dict[str, set[str]] = {}  # identifier key -> raw forms seen in this conversation
        attribute_keys: dict[str, set[str]] = {}
        origin = conversation.get("originatingDirection")
        region = self._trunk_region(conversation, origin)
        for participant in conversation.get("participants") or ():
            if participant.get("purpose") not in CUSTOMER_PURPOSES:
                continue
            if participant.get("userId"):
                # A logged-in user on the customer side is staff (an internal call), never a customer.
                self._problems["participant:customer_with_user_id"] += 1
                continue
            external_id = participant.get("externalContactId")
            if external_id:
                self._collect(keys, _EXTERNAL, "externalContactId", external_id)
            for session in participant.get("sessions") or ():
                self._collect_session(keys, session, session.get("direction") or origin, region)
            self._collect_attributes(attribute_keys, participant.get("attributes"))

        if keys:
            self._collect_echoes(keys, conversation.get("participants") or (), region)
        attributed = not attributes_known or _attributes_may_hold_identifiers(conversation)
        for key, forms in keys.items():
            self._record(key, stamp, active, conversation_id, direct=True, forms=forms, attributed=attributed)
        for key in attribute_keys.keys() - keys.keys():
            self._record(key, stamp, active, conversation_id, direct=False)

    def add_all(self, conversations: Iterable[Mapping[str, Any]], *, attributes_known: bool = True) -> int:
        """Feed a stream of conversations; returns how many were read."""
        n = 0
        for conversation in conversations:
            self.add(conversation, attributes_known=attributes_known)
            n += 1
        return n

    def _trunk_region(self, conversation: Mapping[str, Any], origin: object) -> str | None:
        # Without a default region the org asked for E.164 only, and national numbers stay unread.
        if self._region is None:
            return None
        return trunk_region(conversation, origin, self._normalise) or self._region

    def _collect_session(
        self, keys: dict[str, set[str]], session: Mapping[str, Any], direction: str | None, region: str | None
    ) -> None:
        media = session.get("mediaType")
        if direction not in ("inbound", "outbound"):
            self._problems["session:missing_direction"] += 1
            return
        inbound = direction == "inbound"
        if media in ("voice", "callback"):
            if inbound and media == "voice":
                self._note_own_did(session.get("dnis"))
            field = "ani" if inbound else "dnis"
            if inbound and media == "voice" and is_withheld_caller(session.get(field)):
                # A caller who withheld the number: nobody to erase, and never the org's DID either.
                self._problems[f"{field}:withheld"] += 1
            else:
                self._collect(keys, _PHONE, field, session.get(field), region=region)
            if media == "callback":
                for number in session.get("callbackNumbers") or ():
                    self._collect(keys, _PHONE, "callbackNumbers", number, region=region)
        elif media == "email":
            field = "addressFrom" if inbound else "addressTo"
            header = session.get(field)
            for address in _split_addresses(header):
                # The header is stored whole: its display name and other addresses are part of the form.
                # A header listing several addresses is named only when the run erases everyone in it
                # (steps/shared_headers.py): named for one of several people, it would erase the others'
                # value too.
                self._collect(keys, _EMAIL, field, address, form=header)
        elif media == "message":
            field = "addressFrom" if inbound else "addressTo"
            self._collect_message_address(keys, field, session.get(field))
        else:
            # Chat, video, cobrowse… carry no reliable customer address; counted, by enum value only.
            label = media if media in _KNOWN_MEDIA else "unknown"
            self._problems[f"session:media_not_mapped:{label}"] += 1

    def _collect_echoes(
        self, keys: dict[str, set[str]], participants: Iterable[Mapping[str, Any]], region: str | None
    ) -> None:
        """Forms of this conversation's customer identifiers written in any participant's address fields.

        Analytics repeats the customer's address in the org side's sessions, not always in the customer's
        form: on a callback the agent's outbound voice leg dials the number (`dnis` `020 7946 0958`) the
        customer typed as `+44 20 7946 0958`. A whole-value delete erases only the forms it names, so
        these are kept too. Only forms of identifiers already taken from the customer side: a value here
        never becomes an identifier (these fields mostly hold the org's own numbers, an agent's address),
        and nothing read here is counted as a problem."""
        for participant in participants:
            for session in participant.get("sessions") or ():
                for field in _ECHO_PHONE_FIELDS:
                    self._echo(keys, _PHONE, session.get(field), region)
                for number in session.get("callbackNumbers") or ():
                    self._echo(keys, _PHONE, number, region)
                for field in _ECHO_ADDRESS_FIELDS:
                    raw = session.get(field)
                    if isinstance(raw, str) and "@" in raw.strip()[1:] and not raw.lower().startswith("sip"):
                        for address in _split_addresses(raw):
                            self._echo(keys, _EMAIL, address, None, form=raw)
                    else:
                        self._echo(keys, _PHONE, raw, None)  # messaging: only an explicit +E.164

    def _echo(
        self, keys: dict[str, set[str]], kind: str, raw: object, region: str | None, form: object = None
    ) -> None:
        if not isinstance(raw, str) or not raw.strip():
            return
        value, _ = self._normalise(kind, raw, region)
        forms = None if value is None else keys.get(_key(kind, value))
        if forms is not None:
            stored = (form if isinstance(form, str) else raw).strip()
            if stored != value:
                forms.add(stored)

    def _collect_message_address(self, keys: dict[str, set[str]], field: str, raw: object) -> None:
        # Messaging addresses are phone numbers (SMS, WhatsApp), e-mail addresses or opaque channel ids
        # (Facebook, web messaging). Only an explicit +E.164 counts as phone: a bare numeric social-media
        # id read with the default region could name somebody else's phone.
        if not isinstance(raw, str) or not raw.strip():
            self._problems[f"{field}:missing"] += 1
        elif raw.strip().startswith(("+", "tel:+")):
            self._collect(keys, _PHONE, field, raw, strict_e164=True)
        elif "@" in raw.strip()[1:]:
            self._collect(keys, _EMAIL, field, raw)
        else:
            # A channel's own id (Facebook PSID, web-messaging guest id, `@handle`): not a phone or e-mail.
            self._problems[f"{field}:messaging_id"] += 1

    def _collect_attributes(self, keys: dict[str, set[str]], attributes: object) -> None:
        if not isinstance(attributes, Mapping):
            return
        for value in attributes.values():
            if not isinstance(value, str) or not value.strip():
                continue
            text = value.strip()
            if text.startswith(("+", "tel:", "sip:", "sips:")) and not is_withheld_caller(text):
                # Only an explicit country code: a bare digit string (an account or order number) read
                # with the default region could name a stranger's phone.
                self._collect(keys, _PHONE, "attributes", text, strict_e164=True)
            elif "@" in text[1:]:
                for address in _split_addresses(text):
                    self._collect(keys, _EMAIL, "attributes", address)

    def _collect(
        self,
        keys: dict[str, set[str]],
        kind: str,
        field: str,
        raw: object,
        *,
        strict_e164: bool = False,
        region: str | None = None,
        form: object = None,
    ) -> None:
        if not isinstance(raw, str) or not raw.strip():
            self._problems[f"{field}:missing"] += 1
            return
        value, reason = self._normalise(kind, raw, None if strict_e164 else (region or self._region))
        if value is None:
            self._problems[f"{field}:{reason}"] += 1
            return
        key = _key(kind, value)
        if key in self._own or key in self._own_dids:
            self._problems["skipped:own_number_or_address"] += 1
        elif key in self._excluded:
            self._problems["skipped:exclusion_list"] += 1
        else:
            forms = keys.setdefault(key, set())
            stored = (form if isinstance(form, str) else raw).strip()
            if stored != value:
                forms.add(stored)

    def _note_own_did(self, raw: object) -> None:
        if not isinstance(raw, str) or not raw.strip():
            return
        value, _ = self._normalise(_PHONE, raw, self._region)
        if value is not None:
            self._own_dids.add(_key(_PHONE, value))
        else:
            self._problems["dnis:not_a_phone_number"] += 1

    def _record(
        self,
        key: str,
        stamp: int,
        active: bool,
        conversation_id: bytes | None,
        *,
        direct: bool,
        forms: Iterable[str] = (),
        attributed: bool = False,
    ) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.direct = entry.direct or direct
        entry.add_forms(forms)
        # An attribute sighting is evidence of contact (recency), not a conversation of this person: its id
        # is not kept (verification would expect the delete to reach it) and it does not count towards the
        # conversation count that quarantines implausibly shared identifiers.
        if direct and (conversation_id is None or self._retain(entry, conversation_id, stamp, attributed)):
            entry.count += 1
        entry.last_ms = max(entry.last_ms, stamp)
        entry.active = entry.active or active

    def _retain(self, entry: _Entry, conversation_id: bytes, stamp: int, attributed: bool = False) -> bool:
        """Keep `conversation_id` among the newest `cap`; False when it is already kept (a re-fed
        conversation, e.g. from the overlap between the job scan and the recent detail query)."""
        position = _find_record(entry.ids, conversation_id)
        if position >= 0:
            entry.stamps[position] = max(entry.stamps[position], stamp)
            if attributed:
                entry.flag(position, True)
            return False
        if len(entry.stamps) < self._cap:
            entry.stamps.append(stamp)
            entry.ids += conversation_id
            entry.flag(len(entry.stamps) - 1, attributed)
            return True
        oldest = min(entry.stamps)
        if stamp > oldest:
            slot = entry.stamps.index(oldest)
            entry.stamps[slot] = stamp
            entry.ids[slot * _UUID_BYTES : (slot + 1) * _UUID_BYTES] = conversation_id
            entry.flag(slot, attributed)
        return True

    # ---- reading -------------------------------------------------------------------------------------

    def expired(self, cutoff: datetime) -> list[ContactSummary]:
        """Customers whose last contact is strictly before `cutoff` and who have no active conversation,
        sorted by identifier. An active conversation counts by its start."""
        cutoff_ms = _datetime_ms(cutoff)
        found = [
            self._summary(key, entry)
            for key, entry in self._customer_entries()
            if entry.direct and not entry.active and entry.last_ms < cutoff_ms
        ]
        return sorted(found, key=lambda summary: summary.identifier)

    def recent(self, cutoff: datetime) -> frozenset[Identifier]:
        """Customers seen at or after `cutoff`: these must not be erased, nor must anybody linked to them."""
        cutoff_ms = _datetime_ms(cutoff)
        return frozenset(
            _identifier(key) for key, entry in self._customer_entries() if entry.last_ms >= cutoff_ms
        )

    def stalled(self, cutoff: datetime) -> list[ContactSummary]:
        """Customers whose last contact started before `cutoff` but is still active (no conversationEnd).

        They are expired in every other respect, but a GDPR delete skips active conversations, so they
        are planned as `deferred` and carried into the next run until the conversation ends."""
        cutoff_ms = _datetime_ms(cutoff)
        found = [
            self._summary(key, entry)
            for key, entry in self._customer_entries()
            if entry.direct and entry.active and entry.last_ms < cutoff_ms
        ]
        return sorted(found, key=lambda summary: summary.identifier)

    def sightings(self) -> Iterator[Sighting]:
        """Every customer identifier seen, with its last contact: what the last-contact index folds in."""
        for key, entry in self._customer_entries():
            last = _ms_datetime(entry.last_ms) if entry.last_ms else None
            yield Sighting(_identifier(key), last, entry.active, entry.direct)

    def own_numbers(self) -> frozenset[Identifier]:
        """The org's own numbers detected on the way (numbers dialled on inbound calls)."""
        return frozenset(_identifier(key) for key in self._own_dids)

    def summary(self, identifier: Identifier) -> ContactSummary | None:
        key = _key(identifier.kind.value, identifier.value)
        entry = self._entries.get(key)
        if entry is None or key in self._own_dids:
            return None
        return self._summary(key, entry)

    def customer_count(self) -> int:
        """Distinct customer identifiers seen (the denominator of the purge-fraction guard)."""
        return sum(1 for _, entry in self._customer_entries() if entry.direct)

    @property
    def attribute_only_count(self) -> int:
        """Identifiers seen only in participant attributes: contact evidence, never planned on their own."""
        return sum(1 for _, entry in self._customer_entries() if not entry.direct)

    @property
    def conversations_read(self) -> int:
        return self._conversations

    @property
    def detected_own_number_count(self) -> int:
        return len(self._own_dids)

    @property
    def problems(self) -> dict[str, int]:
        """Counts of skipped or unparseable values by `field:reason` (no values, so safe to report)."""
        return dict(self._problems)

    def _customer_entries(self) -> Iterator[tuple[str, _Entry]]:
        # Own numbers are detected while streaming, so a number may have been recorded as a customer
        # before the first inbound call to it was seen: filter on the way out as well.
        for key, entry in self._entries.items():
            if key not in self._own_dids:
                yield key, entry

    def _summary(self, key: str, entry: _Entry) -> ContactSummary:
        order = sorted(range(len(entry.stamps)), key=entry.stamps.__getitem__, reverse=True)
        ids = tuple(str(UUID(bytes=bytes(entry.ids[i * _UUID_BYTES : (i + 1) * _UUID_BYTES]))) for i in order)
        last = _ms_datetime(entry.last_ms) if entry.last_ms else None
        forms = tuple(sorted(entry.forms or ()))
        dropped = len(entry.dropped or ())
        flags = entry.flags or b""
        attributed = tuple(ids[n] for n, i in enumerate(order) if i < len(flags) and flags[i])
        return ContactSummary(
            _identifier(key), last, entry.active, entry.count, ids, forms, dropped, attributed
        )


# What verification's matcher could find in a value: an e-mail (also URL-encoded), a run of 7+ digits (a
# phone in any form), or a Genesys id (a UUID: an external contact or user id). Flow data without any of
# these (a language, a channel, a flag) cannot hold a subject's value.
_MAYBE_IDENTIFIER = re.compile(r"@|%40|\d(?:[\s().\-]*\d){6}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-", re.IGNORECASE)


def _attributes_may_hold_identifiers(conversation: Mapping[str, Any]) -> bool:
    """Whether any participant's attributes (keys or values, of any participant) could hold an e-mail,
    a phone or an id: a superset of what the live-view check can find there."""
    for participant in conversation.get("participants") or ():
        attributes = participant.get("attributes") if isinstance(participant, Mapping) else None
        if not isinstance(attributes, Mapping):
            continue
        for key, value in attributes.items():
            for text in (key, value):
                if text is not None and _MAYBE_IDENTIFIER.search(str(text)):
                    return True
    return False


def trunk_region(
    conversation: Mapping[str, Any],
    origin: object = None,
    normalise: Callable[[str, str, str | None], tuple[str | None, str | None]] | None = None,
) -> str | None:
    """The country a national number on this conversation belongs to: that of the org's own number on the
    call (a carrier presents a caller nationally only on a trunk of the caller's own country), read from
    any voice leg's org side (dnis inbound, ani outbound) written in E.164. None when no leg shows it:
    reading a German caller's `030 …` with a GB default would name a stranger's phone."""
    normalise = normalise or _normalise
    origin = origin or conversation.get("originatingDirection")
    for participant in conversation.get("participants") or ():
        for session in participant.get("sessions") or ():
            if session.get("mediaType") != "voice":
                continue
            direction = session.get("direction") or origin
            raw = session.get("dnis" if direction == "inbound" else "ani")
            if not isinstance(raw, str) or not raw.strip():
                continue
            value, _ = normalise(_PHONE, raw, None)
            if value is not None:
                return _region_of(value)
    return None


def _key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def _identifier(key: str) -> Identifier:
    kind, _, value = key.partition(":")
    return Identifier(IdentifierKind(kind), value)


def _normalise(kind: str, raw: str, region: str | None) -> tuple[str | None, str | None]:
    """(value, None) or (None, reason). Cached: the same customer numbers recur across conversations and
    phone parsing dominates the cost of a scan."""
    try:
        if kind == _PHONE:
            return normalise_phone(raw, region), None
        if kind == _EMAIL:
            return normalise_email(raw), None
        return normalise_opaque_id(raw, kind), None
    except InvalidIdentifier as error:
        return None, error.reason


# Module-level caches of pure functions of one string: the same org numbers and e-mail headers recur in
# most conversations of a scan, and parsing them again dominated derivation's cost (bench/RESULTS.md §3).
@lru_cache(maxsize=_NORMALISE_CACHE_SIZE)
def _region_of(e164: str) -> str | None:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return None if region in (None, phonenumbers.UNKNOWN_REGION) else region


def _split_addresses(raw: object) -> tuple[object, ...]:
    """The addresses of an e-mail header (`"Berg, Anna" <anna@…>; other@…`), without display names. A
    header the parser cannot read is returned whole, so it is counted as a problem rather than lost."""
    if not isinstance(raw, str):
        return (raw,)
    return _split_header(raw)


@lru_cache(maxsize=_NORMALISE_CACHE_SIZE)
def _split_header(raw: str) -> tuple[str, ...]:
    addresses = tuple(address for _, address in getaddresses([raw]) if address.strip())
    return addresses or (raw,)


def _uuid_bytes(raw: object) -> bytes | None:
    if not isinstance(raw, str) or len(raw) != 36:
        return None
    try:
        return UUID(raw).bytes
    except ValueError:
        return None


def _find_record(packed: bytearray, record: bytes) -> int:
    """Index of a 16-byte record in a packed array (matches must start on a record boundary)."""
    start = packed.find(record)
    while start >= 0:
        if start % _UUID_BYTES == 0:
            return start // _UUID_BYTES
        start = packed.find(record, start + 1)
    return -1


_FOREVER_MS = 2**62


def _epoch_ms(raw: object) -> int | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the analytics API speaks UTC
    return int(moment.timestamp() * 1000)


def _ms_datetime(stamp: int) -> datetime:
    # The "end of time" of a conversation without a timestamp is past what datetime holds: clamp it.
    if stamp >= _FOREVER_MS:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _datetime_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware")
    return int(moment.timestamp() * 1000)

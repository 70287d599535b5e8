"""The conversations of the identifiers an analyst named: what an ad-hoc erasure will affect (for the
approval) and what verification re-reads afterwards.

Each scan is one analytics job over all history plus one detail query over the last 31 UTC days (jobs
lag behind by up to ~48 hours; a filtered query may touch 31 UTC days). Which identifier a returned
conversation belongs to is decided locally, since a filter hit says only that some predicate matched.
Only conversation ids leave this module.

A `matches` predicate compares the stored string exactly, and Genesys stores one phone number in many
forms: `tel:+4420…`, `sip:+4420…@<edge or trunk host>;user=phone`, national (`020 7946 …`,
`sip:02079460958@<host>`), callback numbers as typed. The host of a `sip:` value cannot be known in
advance, so no predicate can name every form. Phone identifiers are therefore found by reading every
voice, callback and message conversation (one scan for all the phones of a request, however many) and
comparing each address field, normalised the way derivation normalises it (national numbers in the
country of the org number on the call), with the subject's E.164 numbers. That costs a full read of the
phone traffic per ad-hoc request; a missed form would leave a person's conversations out of the erasure.

E-mail, external-contact and user identifiers keep their predicates (jobs match e-mail addresses as
substrings, so `"Anna Berg" <anna@…>, other@…` is found); the detail query compares e-mail exactly, so
for e-mail chunks it reads every e-mail conversation of the last 31 days and matches locally.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from genesys_erasure.derivation import trunk_region
from genesys_erasure.identifier_matching import IdentifierMatcher
from genesys_erasure.identifiers import Identifier, IdentifierKind, InvalidIdentifier, normalise_phone
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.scan import HISTORY_START, interval, parse_instant, utc_day

log = logging.getLogger(__name__)

K = IdentifierKind
IDENTIFIERS_PER_JOB = 25  # the predicate cap per filter is UNCONFIRMED; stay well below any plausible one
QUERY_DAYS = 31
SESSION_FIELDS = ("ani", "dnis", "addressFrom", "addressTo", "remote")
PARTICIPANT_FIELDS = ("userId", "externalContactId")
PHONE_MEDIA = ("voice", "callback", "message")


def _match(dimension: str, value: str) -> dict[str, str]:
    return {"type": "dimension", "dimension": dimension, "operator": "matches", "value": value}


def _predicates(identifier: Identifier) -> list[dict[str, str]]:
    if identifier.kind is K.EMAIL:
        return [_match("addressFrom", identifier.value), _match("addressTo", identifier.value)]
    if identifier.kind is K.USER:
        return [_match("userId", identifier.value)]
    return [_match("externalContactId", identifier.value)]


def _filter(predicates: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"type": "or", "predicates": list(predicates)}]


def _media_predicates(media: Iterable[str]) -> list[dict[str, str]]:
    return [_match("mediaType", m) for m in media]


def _field_values(conversation: Mapping[str, Any]) -> Iterator[Any]:
    for participant in conversation.get("participants") or ():
        for name in PARTICIPANT_FIELDS:
            yield participant.get(name)
        for session in participant.get("sessions") or ():
            for name in SESSION_FIELDS:
                yield session.get(name)
            yield from session.get("callbackNumbers") or ()


@lru_cache(maxsize=1 << 14)
def _as_phone(raw: str, region: str | None) -> str | None:
    try:
        return normalise_phone(raw, region)
    except InvalidIdentifier:
        return None


def _phones_in(conversation: Mapping[str, Any]) -> set[str]:
    """Every phone number the conversation's address fields and attributes hold, in E.164."""
    region = trunk_region(conversation)
    found: set[str] = set()
    for participant in conversation.get("participants") or ():
        for value in (participant.get("attributes") or {}).values():
            # attribute values are free text: only an explicit country code makes them a number
            if isinstance(value, str) and value.strip().startswith(("+", "tel:+", "sip:+")):
                found.add(_as_phone(value, None) or "")
        for session in participant.get("sessions") or ():
            values = [session.get(name) for name in SESSION_FIELDS]
            for value in [*values, *(session.get("callbackNumbers") or ())]:
                if isinstance(value, str) and value.strip():
                    found.add(_as_phone(value, region) or "")
    found.discard("")
    return found


def _scan(
    client: GenesysClient,
    job_filters: list[dict[str, Any]],
    recent_filters: list[dict[str, Any]],
    now: datetime,
) -> Iterator[dict]:
    body = {"interval": interval(HISTORY_START, now), "order": "asc", "segmentFilters": job_filters}
    for page in client.run_conversation_details_job(body):
        yield from page.conversations
    # starts at a UTC midnight, so the interval touches QUERY_DAYS UTC days (the limit may count them)
    recent_start = utc_day(now) - timedelta(days=QUERY_DAYS - 1)
    recent = {"interval": interval(recent_start, now), "segmentFilters": recent_filters}
    yield from client.iter_conversation_details(recent)


def _find_phones(
    client: GenesysClient,
    phones: Sequence[Identifier],
    now: datetime,
    found: FoundConversations,
) -> None:
    by_value = {p.value: p for p in phones}
    filters = _filter(_media_predicates(PHONE_MEDIA))
    for conversation in _scan(client, filters, filters, now):
        conversation_id = conversation.get("conversationId")
        if not conversation_id:
            continue
        for value in _phones_in(conversation) & by_value.keys():
            found.add(by_value[value], conversation)


def _find_others(
    client: GenesysClient,
    chunk: Sequence[Identifier],
    now: datetime,
    found: FoundConversations,
) -> None:
    predicates = [p for i in chunk for p in _predicates(i)]
    recent = predicates + (_media_predicates(("email",)) if any(i.kind is K.EMAIL for i in chunk) else [])
    matchers = {i: IdentifierMatcher([i]) for i in chunk}
    for conversation in _scan(client, _filter(predicates), _filter(recent), now):
        conversation_id = conversation.get("conversationId")
        if not conversation_id:
            continue
        values = [v for v in _field_values(conversation) if v]
        for identifier in chunk:
            if any(matchers[identifier].matches(v) for v in values):
                found.add(identifier, conversation)


class FoundConversations(dict[Identifier, dict[str, bool]]):
    """For each identifier: its conversation ids, each with whether it is still active; `last_start`
    holds the start of its latest conversation (how a person who came back after an erasure is told
    from the analytics lake's stale copy of what was erased)."""

    def __init__(self, identifiers: Iterable[Identifier]) -> None:
        super().__init__({i: {} for i in identifiers})
        self.last_start: dict[Identifier, datetime] = {}

    def add(self, identifier: Identifier, conversation: Mapping[str, Any]) -> None:
        self[identifier][conversation["conversationId"]] = not conversation.get("conversationEnd")
        started = conversation.get("conversationStart")
        if isinstance(started, str) and started:
            moment = parse_instant(started)
            if identifier not in self.last_start or moment > self.last_start[identifier]:
                self.last_start[identifier] = moment


def find_conversations(
    client: GenesysClient, identifiers: Iterable[Identifier], now: datetime
) -> FoundConversations:
    """For each identifier: its conversation ids, each with whether it is still active."""
    wanted = list(dict.fromkeys(identifiers))
    found = FoundConversations(wanted)
    phones = [i for i in wanted if i.kind is K.PHONE]
    others = [i for i in wanted if i.kind is not K.PHONE]
    if phones:
        _find_phones(client, phones, now, found)
    for start in range(0, len(others), IDENTIFIERS_PER_JOB):
        _find_others(client, others[start : start + IDENTIFIERS_PER_JOB], now, found)
    log.info(
        "Conversations found for %d identifiers: %d",
        len(wanted),
        len({c for ids in found.values() for c in ids}),
    )
    return found

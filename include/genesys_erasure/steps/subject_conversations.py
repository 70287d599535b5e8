"""The conversations of the identifiers an analyst named: what an ad-hoc erasure will affect (for the
approval) and what verification re-reads afterwards.

One analytics job over all history with one OR segment filter per chunk of identifiers, plus one detail
query over the last 31 days (jobs lag behind by up to ~48 hours; a filtered query may span 31 days).
Which identifier a returned conversation belongs to is decided locally with `IdentifierMatcher`, since a
filter hit says only that some predicate matched. Only conversation ids leave this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from genesys_erasure.identifier_matching import IdentifierMatcher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.scan import HISTORY_START, JOB_POLL_SECONDS, interval

log = logging.getLogger(__name__)

K = IdentifierKind
IDENTIFIERS_PER_JOB = 25  # the predicate cap per filter is UNCONFIRMED; stay well below any plausible one
QUERY_DAYS = 31
SESSION_FIELDS = ("ani", "dnis", "addressFrom", "addressTo", "remote")
PARTICIPANT_FIELDS = ("userId", "externalContactId")


def _predicates(identifier: Identifier) -> list[dict[str, str]]:
    def match(dimension: str, value: str) -> dict[str, str]:
        return {"type": "dimension", "dimension": dimension, "operator": "matches", "value": value}

    if identifier.kind is K.EMAIL:
        return [match("addressFrom", identifier.value), match("addressTo", identifier.value)]
    if identifier.kind is K.PHONE:
        tel = "tel:" + identifier.value
        return [
            match("ani", tel),
            match("dnis", tel),
            match("addressFrom", identifier.value),
            match("addressTo", identifier.value),
            match("callbackNumber", identifier.value),
        ]
    if identifier.kind is K.USER:
        return [match("userId", identifier.value)]
    return [match("externalContactId", identifier.value)]


def _filter(chunk: Sequence[Identifier]) -> list[dict[str, Any]]:
    return [{"type": "or", "predicates": [p for i in chunk for p in _predicates(i)]}]


def _field_values(conversation: Mapping[str, Any]) -> Iterator[Any]:
    for participant in conversation.get("participants") or ():
        for name in PARTICIPANT_FIELDS:
            yield participant.get(name)
        for session in participant.get("sessions") or ():
            for name in SESSION_FIELDS:
                yield session.get(name)
            yield from session.get("callbackNumbers") or ()


def _conversations(client: GenesysClient, chunk: Sequence[Identifier], now: datetime) -> Iterator[dict]:
    filters = _filter(chunk)
    body = {"interval": interval(HISTORY_START, now), "order": "asc", "segmentFilters": filters}
    job_id = client.submit_conversation_details_job(body)
    client.wait_for_conversation_details_job(job_id, poll_seconds=JOB_POLL_SECONDS)
    for page in client.iter_job_results(job_id):
        yield from page.conversations
    recent = {"interval": interval(now - timedelta(days=QUERY_DAYS), now), "segmentFilters": filters}
    yield from client.iter_conversation_details(recent)


def find_conversations(
    client: GenesysClient, identifiers: Iterable[Identifier], now: datetime
) -> dict[Identifier, dict[str, bool]]:
    """For each identifier: its conversation ids, each with whether it is still active."""
    wanted = list(dict.fromkeys(identifiers))
    found: dict[Identifier, dict[str, bool]] = {i: {} for i in wanted}
    matchers = {i: IdentifierMatcher([i]) for i in wanted}
    for start in range(0, len(wanted), IDENTIFIERS_PER_JOB):
        chunk = wanted[start : start + IDENTIFIERS_PER_JOB]
        for conversation in _conversations(client, chunk, now):
            conversation_id = conversation.get("conversationId")
            if not conversation_id:
                continue
            values = [v for v in _field_values(conversation) if v]
            for identifier in chunk:
                if any(matchers[identifier].matches(v) for v in values):
                    found[identifier][conversation_id] = not conversation.get("conversationEnd")
    log.info(
        "Conversations found for %d identifiers: %d",
        len(wanted),
        len({c for ids in found.values() for c in ids}),
    )
    return found

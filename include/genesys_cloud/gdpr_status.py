"""Collecting the statuses of a set of GDPR requests from the paged request list (sync and async).

One listing page shows up to 100 requests, so reading the list until every wanted id has been seen
costs far fewer calls than one GET per id. Ids the list does not show within `MAX_LIST_PAGES` (an old
request deep in a long history) are fetched one by one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import GenesysNotFoundError
from genesys_cloud.paging import EntityPager
from genesys_cloud.protocol import segment
from genesys_cloud.transport import Steps, api_call
from genesys_cloud.vocabulary import GdprStatus

FINAL_STATUSES = frozenset({GdprStatus.COMPLETED, GdprStatus.ERROR})
# A request id the API does not know: final as well, waiting would not change it.
NOT_FOUND = "NOT_FOUND"
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 20
GDPR_REQUESTS_PATH = "/api/v2/gdpr/requests"


def is_final(status: str | None) -> bool:
    return status in FINAL_STATUSES or status == NOT_FOUND


def all_final(statuses: Mapping[str, str | None]) -> bool:
    return all(is_final(status) for status in statuses.values())


def normalise_request_ids(request_ids: Iterable[str]) -> list[str]:
    """Distinct, non-empty ids in their first order; raises ValueError naming a bad entry."""
    ids: list[str] = []
    for position, request_id in enumerate(request_ids):
        if not isinstance(request_id, str) or not request_id.strip():
            raise ValueError(f"request_ids[{position}] is not a non-empty string")
        if request_id.strip() not in ids:
            ids.append(request_id.strip())
    return ids


class StatusCollector:
    """Statuses of the wanted ids, filled from listing pages and single GETs."""

    def __init__(self, request_ids: Iterable[str]) -> None:
        self._wanted = list(request_ids)
        self._statuses: dict[str, str] = {}

    def add(self, entities: Iterable[Mapping[str, Any]]) -> None:
        for entity in entities:
            request_id = entity.get("id")
            if request_id in self._wanted and request_id not in self._statuses:
                self._statuses[request_id] = str(entity.get("status") or "UNKNOWN")

    def set(self, request_id: str, status: str) -> None:
        self._statuses[request_id] = status

    @property
    def missing(self) -> list[str]:
        return [request_id for request_id in self._wanted if request_id not in self._statuses]

    @property
    def complete(self) -> bool:
        return not self.missing

    def statuses(self) -> dict[str, str]:
        return {request_id: self._statuses.get(request_id, "UNKNOWN") for request_id in self._wanted}


def collect_statuses(
    settings: ClientSettings, request_ids: Iterable[str], rng: random.Random | None = None
) -> Steps[dict[str, str]]:
    """{id: status}: the request list until every id was seen (at most `MAX_LIST_PAGES` pages' worth),
    then single GETs for the rest; an id Genesys does not know maps to `NOT_FOUND`."""
    collector = StatusCollector(request_ids)
    if collector.complete:
        return {}
    pager = EntityPager(None, LIST_PAGE_SIZE)
    budget = LIST_PAGE_SIZE * MAX_LIST_PAGES
    while budget > 0 and not collector.complete and (query := pager.next_query()) is not None:
        listing = yield from api_call(settings, "GET", GDPR_REQUESTS_PATH, params=query, rng=rng)
        entities = pager.take(listing)[:budget]
        collector.add(entities)
        budget -= len(entities)
    for request_id in collector.missing:
        path = f"{GDPR_REQUESTS_PATH}/{segment(request_id)}"
        try:
            entity = yield from api_call(settings, "GET", path, rng=rng)
        except GenesysNotFoundError:
            collector.set(request_id, NOT_FOUND)
        else:
            collector.add([entity])
    return collector.statuses()

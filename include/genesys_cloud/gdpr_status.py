"""Collecting the statuses of a set of GDPR requests from the paged request list (sync and async).

The list is read from its newest end (`gdpr_listing`), whatever order Genesys lists in, and only until
every wanted id was seen: the wanted requests are recent, so a poll costs about (requests in flight) /
(page size) list calls plus one probe page, however long the org's request history is. `StatusPoll`
keeps what earlier rounds learnt: a request that is final is not read again, and the oldest `createdDate`
of those still open bounds the walk (past it, an id not seen is not in the list). Ids the list does not
show within the bound are fetched one by one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import GenesysNotFoundError
from genesys_cloud.gdpr_listing import GDPR_REQUESTS_PATH, LIST_PAGE_SIZE, created_at, walk_newest_first
from genesys_cloud.protocol import segment
from genesys_cloud.transport import Steps, api_call
from genesys_cloud.vocabulary import GdprStatus

__all__ = ["GDPR_REQUESTS_PATH", "LIST_PAGE_SIZE", "StatusPoll", "collect_statuses"]

FINAL_STATUSES = frozenset({GdprStatus.COMPLETED, GdprStatus.ERROR})
# A request id the API does not know: final as well, waiting would not change it.
NOT_FOUND = "NOT_FOUND"
# Without a known `createdDate` to stop at, read at most this many requests more than are wanted before
# falling back to single GETs (an id from an old run, or one Genesys never had).
LIST_SLACK = 2000


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
    """Statuses (and creation dates) of the wanted ids, filled from listing pages and single GETs."""

    def __init__(self, request_ids: Iterable[str]) -> None:
        self._wanted = list(request_ids)
        self._wanted_set = set(self._wanted)
        self._statuses: dict[str, str] = {}
        self.created: dict[str, datetime] = {}

    def add(self, entities: Iterable[Mapping[str, Any]]) -> bool:
        """Take what the entities say about wanted ids; True once every wanted id has a status."""
        for entity in entities:
            request_id = entity.get("id")
            if request_id in self._wanted_set and request_id not in self._statuses:
                self._statuses[request_id] = str(entity.get("status") or "UNKNOWN")
                if (when := created_at(entity)) is not None:
                    self.created[request_id] = when
        return self.complete

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
    settings: ClientSettings,
    request_ids: Iterable[str],
    rng: random.Random | None = None,
    *,
    since: datetime | None = None,
) -> Steps[StatusCollector]:
    """The statuses of `request_ids`: the request list from its newest end until every id was seen (or,
    with `since` = the oldest `createdDate` among them, until the list is older than that), then single
    GETs for the rest; an id Genesys does not know maps to `NOT_FOUND`."""
    collector = StatusCollector(request_ids)
    if collector.complete:
        return collector
    budget = len(collector.missing) + LIST_SLACK
    read = 0

    def on_page(entities: list[dict[str, Any]]) -> bool:
        nonlocal read
        read += len(entities)
        return collector.add(entities) or (since is None and read >= budget)

    yield from walk_newest_first(settings, on_page, since=since, rng=rng)
    for request_id in collector.missing:
        path = f"{GDPR_REQUESTS_PATH}/{segment(request_id)}"
        try:
            entity = yield from api_call(settings, "GET", path, rng=rng)
        except GenesysNotFoundError:
            collector.set(request_id, NOT_FOUND)
        else:
            collector.add([entity])
    return collector


class StatusPoll:
    """Round after round of status polling for one set of requests (the trigger's, the sensor's).

    A round reads only the requests still open, and stops the list walk at the oldest `createdDate`
    among them once it is known (from an earlier round)."""

    def __init__(self, request_ids: Iterable[str]) -> None:
        self.request_ids = list(request_ids)
        self._statuses: dict[str, str] = {}
        self._created: dict[str, datetime] = {}

    @property
    def open_ids(self) -> list[str]:
        return [i for i in self.request_ids if not is_final(self._statuses.get(i))]

    def statuses(self) -> dict[str, str]:
        return {i: self._statuses.get(i, "UNKNOWN") for i in self.request_ids}

    def round(self, settings: ClientSettings, rng: random.Random | None = None) -> Steps[dict[str, str]]:
        open_ids = self.open_ids
        if open_ids:
            known = [self._created[i] for i in open_ids if i in self._created]
            since = min(known) if len(known) == len(open_ids) else None
            collector = yield from collect_statuses(settings, open_ids, rng, since=since)
            self._statuses.update(collector.statuses())
            self._created.update(collector.created)
        return self.statuses()

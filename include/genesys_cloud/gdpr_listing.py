"""Reading Genesys' GDPR request list from its newest end, whatever order it lists in.

`GET /api/v2/gdpr/requests` pages with `pageNumber`/`pageSize`; its order and its largest page size are
UNCONFIRMED (the sandbox's pessimistic profile lists oldest first and cuts `pageSize` to 25) and old
requests are kept, so the list only grows. What the pipeline reads is always recent: the statuses of the
requests it just posted, the requests created since a watermark. So the list is walked from its newest
end: page 1 onward when it is newest first, the last page backward when it is oldest first. The walk
stops as soon as the caller has what it wants, or once a page reaches requests created before `since`.
Cost: one probe page (page 1, which also tells the order and the page size the server really uses) plus
about (requests newer than what is wanted) / (page size) pages, never the whole history.

The order is told by page 1 (the `createdDate` of its first and last entity), or, when page 1 cannot tell
(one entity, equal dates), by the last page. A list whose order cannot be told is read in full: safe,
only costly. Offset paging over a growing list: newest first, a request created during the walk pushes
the others one place on (an entity shows up twice, is yielded once); oldest first, new requests land
after the last page read first, where no earlier page moves.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.paging import first_sightings
from genesys_cloud.transport import Steps, api_call

GDPR_REQUESTS_PATH = "/api/v2/gdpr/requests"
LIST_PAGE_SIZE = 100  # asked for; the server may serve fewer per page (the listing says how many)
NEWEST_FIRST, OLDEST_FIRST = "newest_first", "oldest_first"

# Called with the new entities of each page (newest first within the walk); True stops the walk.
PageHandler = Callable[[list[dict[str, Any]]], bool]


def created_at(entity: Mapping[str, Any]) -> datetime | None:
    """The request's `createdDate` as an aware UTC datetime, or None when absent or unreadable."""
    text = entity.get("createdDate")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def order_of(newer_end: Mapping[str, Any] | None, older_end: Mapping[str, Any] | None) -> str | None:
    """NEWEST_FIRST when the entity listed first was created after the one listed later, OLDEST_FIRST
    when before, None when the dates cannot tell."""
    first = created_at(newer_end) if newer_end else None
    last = created_at(older_end) if older_end else None
    if first is None or last is None or first == last:
        return None
    return NEWEST_FIRST if first > last else OLDEST_FIRST


def page_count_of(listing: Mapping[str, Any]) -> int:
    """Pages of the listing, by `pageCount`, else by `total` and the page size the server used."""
    count = listing.get("pageCount")
    if isinstance(count, int) and count >= 1:
        return count
    total, size = listing.get("total"), listing.get("pageSize")
    if isinstance(total, int) and isinstance(size, int) and size > 0:
        return max(1, math.ceil(total / size))
    return 1


def reaches_before(entities: list[dict[str, Any]], since: datetime | None) -> bool:
    """Whether a page holds a request created before `since` (every later page of the walk is older)."""
    if since is None:
        return False
    return any((when := created_at(e)) is not None and when < since for e in entities)


def walk_newest_first(
    settings: ClientSettings,
    on_page: PageHandler,
    *,
    since: datetime | None = None,
    max_pages: int | None = None,
    rng: random.Random | None = None,
) -> Steps[int]:
    """Hand the pages of the request list to `on_page`, newest requests first, each entity once, until it
    answers True, a page reaches before `since`, `max_pages` pages were read, or the list ends. Returns
    how many list pages were fetched."""
    fetched = 0

    def get(page_number: int) -> Steps[dict[str, Any]]:
        nonlocal fetched
        fetched += 1
        query = {"pageSize": LIST_PAGE_SIZE, "pageNumber": page_number}
        return (yield from api_call(settings, "GET", GDPR_REQUESTS_PATH, params=query, rng=rng)) or {}

    seen: set[str] = set()
    first = yield from get(1)
    first_entities = list(first.get("entities") or [])
    pages = page_count_of(first)
    order = order_of(first_entities[0], first_entities[-1]) if len(first_entities) > 1 else None
    last: dict[str, Any] | None = None
    if pages > 1 and order is None:
        last = yield from get(pages)
        last_entities = list(last.get("entities") or [])
        order = order_of(
            first_entities[0] if first_entities else None, last_entities[-1] if last_entities else None
        )
    if order == OLDEST_FIRST:
        cached = {1: first, pages: last} if last is not None else {1: first}
        numbers = range(pages, 0, -1)
    else:  # newest first, or an order that cannot be told: every page, from page 1
        cached = {1: first}
        numbers = range(1, pages + 1)
    for read, number in enumerate(numbers):
        listing = cached.get(number)
        if listing is None:
            if max_pages is not None and read >= max_pages:
                return fetched
            listing = yield from get(number)
        entities = list(listing.get("entities") or [])
        if order == OLDEST_FIRST:
            entities.reverse()
        fresh = list(first_sightings(entities, seen))
        if on_page(fresh):
            return fetched
        if order is not None and reaches_before(entities, since):
            return fetched
    return fetched


def read_requests_since(
    settings: ClientSettings, since: datetime | None, rng: random.Random | None = None
) -> Steps[list[dict[str, Any]]]:
    """Every request created at or after `since` (all of them when None), newest first. A request
    without a readable `createdDate` is kept: the caller decides what it means."""
    found: list[dict[str, Any]] = []

    def on_page(entities: list[dict[str, Any]]) -> bool:
        found.extend(e for e in entities if since is None or (when := created_at(e)) is None or when >= since)
        return False

    yield from walk_newest_first(settings, on_page, since=since, rng=rng)
    return found

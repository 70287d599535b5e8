"""Paging rules of Genesys listings, shared by the sync and the async hook.

Entity listings (`GDPRRequestEntityListing`, `ContactListing`, …) page with `pageNumber`/`pageSize` and
report `pageCount`; analytics job results page with an opaque `cursor` that is absent on the last page.
Offset paging over a list that grows while it is read can show an entity twice (it slides onto the next
page), so the iterators yield an entity only the first time its `id` is seen. `EntityPager` holds these
rules without doing I/O, so the sync and the async hook page the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def has_next_page(listing: Mapping[str, Any], page_number: int, page_size: int) -> bool:
    """Whether page `page_number + 1` exists, by `pageCount` when given, else by a full page."""
    entities = listing.get("entities") or []
    if not entities:
        return False
    page_count = listing.get("pageCount")
    if isinstance(page_count, int):
        return page_number < page_count
    return len(entities) >= page_size


def first_sightings(entities: Iterable[Any], seen: set[str]) -> Iterator[Any]:
    """Entities whose `id` is not in `seen` (which is updated); entities without an id pass through."""
    for entity in entities:
        entity_id = entity.get("id") if isinstance(entity, Mapping) else None
        if entity_id is None:
            yield entity
            continue
        if entity_id in seen:
            continue
        seen.add(entity_id)
        yield entity


class EntityPager:
    """The queries and new entities of one `pageNumber`/`pageCount` listing, page after page.

    Loop: `while (query := pager.next_query()) is not None: entities = pager.take(<GET with query>)`.
    """

    def __init__(self, params: Mapping[str, Any] | None, page_size: int) -> None:
        self._params = dict(params or {})
        self._page_size = page_size
        self._page_number = 0
        self._more = True
        self._seen: set[str] = set()

    def next_query(self) -> dict[str, Any] | None:
        """The query of the next page, or None when the listing is exhausted."""
        if not self._more:
            return None
        self._page_number += 1
        return {**self._params, "pageSize": self._page_size, "pageNumber": self._page_number}

    def take(self, listing: Mapping[str, Any] | None) -> list[Any]:
        """The entities of the page just fetched that were not seen before."""
        listing = listing or {}
        self._more = has_next_page(listing, self._page_number, self._page_size)
        return list(first_sightings(listing.get("entities") or [], self._seen))


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive chunks of at most `size` items (API calls that take ≤ 100 ids)."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

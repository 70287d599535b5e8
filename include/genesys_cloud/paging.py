"""Paging rules of Genesys listings, shared by the sync and the async hook.

Entity listings (`GDPRRequestEntityListing`, `ContactListing`, …) page with `pageNumber`/`pageSize` and
report `pageCount`; analytics job results page with an opaque `cursor` that is absent on the last page.
Offset paging over a list that grows while it is read can show an entity twice (it slides onto the next
page), so the iterators yield an entity only the first time its `id` is seen.
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

"""Page-number paging in the Genesys `*EntityListing` shape."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode


def entity_listing(
    entities: list[Any],
    *,
    page_size: int,
    page_number: int,
    total: int,
    path: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    page_count = max(1, math.ceil(total / page_size)) if total else 1

    def uri(number: int) -> str:
        query = {**(extra or {}), "pageSize": page_size, "pageNumber": number}
        return f"{path}?{urlencode({k: v for k, v in query.items() if v is not None})}"

    listing: dict[str, Any] = {
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "firstUri": uri(1),
        "selfUri": uri(page_number),
        "lastUri": uri(page_count),
        "pageCount": page_count,
    }
    if page_number < page_count:
        listing["nextUri"] = uri(page_number + 1)
    if page_number > 1:
        listing["previousUri"] = uri(page_number - 1)
    return listing

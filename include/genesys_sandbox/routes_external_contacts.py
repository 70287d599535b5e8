"""External contacts: keyword search (`q` over names, e-mails and phones), cursor scan, get one, delete one.

The real search is free text with an unconfirmed tokenisation; `contact_search` picks how the sandbox
matches (see ASSUMPTIONS.md), and `contact_search_partial_above` makes a large result set partial. The
search and the scan read the same index, which may still hold deleted contacts for a while
(`contact_index_lag_hours`); GET by id reads the contact itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from genesys_sandbox.divisions import only_visible
from genesys_sandbox.errors import bad_request, not_found
from genesys_sandbox.identity import normalize_name
from genesys_sandbox.model import ExternalContact
from genesys_sandbox.paging import entity_listing
from genesys_sandbox.routes_common import sandbox
from genesys_sandbox.views import external_contact

router = APIRouter()
SEARCH_WINDOW = 1000
MAX_PAGE_SIZE = 200
SCAN_PATH = "/api/v2/externalcontacts/scan/contacts"
SCAN_LIMITS = (10, 200)  # SDK: limit "must be between 10 and 200, default is 100"
SORT_FIELDS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "middleName": "last_name",
    "title": "last_name",
}


@router.get("/api/v2/externalcontacts/contacts")
def search_contacts(
    request: Request,
    q: str | None = None,
    page_size: int = Query(20, alias="pageSize"),
    page_number: int = Query(1, alias="pageNumber"),
    sort_order: str | None = Query(None, alias="sortOrder"),
) -> JSONResponse:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise bad_request(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.", "pageSize")
    if page_number < 1:
        raise bad_request("pageNumber must be at least 1.", "pageNumber")
    if page_size * page_number > SEARCH_WINDOW:
        raise bad_request(
            f"Only the first {SEARCH_WINDOW} records can be fetched: pageNumber * pageSize must be <= "
            f"{SEARCH_WINDOW}.",
            "pageNumber",
        )
    state = sandbox(request)
    org, settings = state.org, state.settings
    matches_query = _matches_tokens if settings.contact_search == "tokenised" else _matches
    partial = False
    with org.lock:
        indexed = org.indexed_contacts(settings.contact_index_lag_hours)
        matches = [c for c in indexed if matches_query(c, q)]
        matches = only_visible(settings, matches, _division)
        matches.sort(key=_sort_key(sort_order))
        limit = settings.contact_search_partial_above
        if limit and len(matches) > limit:
            # an incomplete answer: only `limit` contacts, and a total that counts only those
            matches, partial = matches[:limit], True
        total = len(matches)
        chunk = matches[(page_number - 1) * page_size : page_number * page_size]
        entities = [external_contact(c, c.division_id or org.division_id) for c in chunk]
    # the listing's URIs leave the keywords out: they are personal data
    listing = entity_listing(
        entities,
        page_size=page_size,
        page_number=page_number,
        total=total,
        path="/api/v2/externalcontacts/contacts",
    )
    if partial:
        listing["partialResults"] = True
    return JSONResponse(listing)


@router.get(SCAN_PATH)
def scan_contacts(
    request: Request,
    limit: int = Query(100),
    cursor: str | None = None,
    division_id: str | None = Query(None, alias="divisionId"),
) -> JSONResponse:
    """Every contact of the index once, in id order, `limit` per page (`CursorContactListing`). The cursor
    is the last id returned (opaque to the client), so contacts deleted between pages shift nothing; the
    last page has no `cursors.after` and no `nextUri`."""
    low, high = SCAN_LIMITS
    if not low <= limit <= high:
        raise bad_request(f"limit must be between {low} and {high}.", "limit")
    after = _decode_cursor(cursor) if cursor else ""
    state = sandbox(request)
    org, settings = state.org, state.settings
    with org.lock:
        contacts = sorted(org.indexed_contacts(settings.contact_index_lag_hours), key=lambda c: c.id)
        contacts = only_visible(settings, contacts, _division)
        if division_id:
            contacts = [c for c in contacts if (c.division_id or org.division_id) == division_id]
        rest = [c for c in contacts if c.id > after]
        page = rest[:limit]
        entities = [external_contact(c, c.division_id or org.division_id) for c in page]
    listing: dict[str, Any] = {"entities": entities, "selfUri": _scan_uri(limit, cursor, division_id)}
    cursors: dict[str, str] = {}
    if cursor:
        cursors["before"] = cursor
        listing["previousUri"] = _scan_uri(limit, cursor, division_id)
    if len(rest) > limit:
        cursors["after"] = _encode_cursor(page[-1].id)
        listing["nextUri"] = _scan_uri(limit, cursors["after"], division_id)
    if cursors:
        listing["cursors"] = cursors
    return JSONResponse(listing)


def _encode_cursor(contact_id: str) -> str:
    return base64.urlsafe_b64encode(contact_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("The cursor is not valid.", "cursor") from None


def _scan_uri(limit: int, cursor: str | None, division_id: str | None) -> str:
    query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    return SCAN_PATH + "?" + query + (f"&divisionId={division_id}" if division_id else "")


@router.get("/api/v2/externalcontacts/contacts/{contactId}")
def get_contact(request: Request, contactId: str) -> JSONResponse:
    state = sandbox(request)
    org = state.org
    with org.lock:
        contact = org.external_contacts.get(contactId)
        if contact is None or not only_visible(state.settings, [contact], _division):
            raise not_found(f"External contact {contactId}")
        return JSONResponse(external_contact(contact, contact.division_id or org.division_id))


@router.delete("/api/v2/externalcontacts/contacts/{contactId}")
def delete_contact(request: Request, contactId: str) -> JSONResponse:
    state = sandbox(request)
    with state.org.lock:
        contact = state.org.external_contacts.get(contactId)
        if contact is not None and not only_visible(state.settings, [contact], _division):
            raise not_found(f"External contact {contactId}")
        if not state.org.delete_external_contact(contactId):
            raise not_found(f"External contact {contactId}")
    return JSONResponse({}, status_code=200)


def _division(contact: ExternalContact) -> str | None:
    return contact.division_id


def _matches(contact: ExternalContact, q: str | None) -> bool:
    if not q or not q.strip():
        return True
    words = q.strip().casefold().split()
    haystack = " ".join(
        [normalize_name(contact.full_name), *(e.casefold() for e in contact.emails), *contact.phones]
    )
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 6 and any(digits in p for p in contact.phones):
        return True
    return all(word in haystack for word in words)


_WORD_SEPARATORS = re.compile(r"[\s._\-]+")


def _matches_tokens(contact: ExternalContact, q: str | None) -> bool:
    """Free text: the contact matches when any token of `q` is one of its tokens (OR, as a search engine
    ranking by relevance would return it), so `anna.berg@example.com` finds every Anna and the domain."""
    if not q or not q.strip():
        return True
    return bool(_tokens(q) & _contact_tokens(contact))


def _contact_tokens(contact: ExternalContact) -> set[str]:
    tokens: set[str] = set()
    for value in (contact.first_name or "", contact.last_name or "", *contact.emails, *contact.phones):
        tokens |= _tokens(value)
    return tokens


def _tokens(text: str) -> set[str]:
    """Name words; an e-mail's local-part words (split on . _ -) and its domain; a phone's digit groups
    (as a display format groups them from the right: 4, then 3s; groups under 3 digits dropped) and all
    its digits."""
    tokens: set[str] = set()
    for word in text.casefold().split():
        local, at, domain = word.partition("@")
        if at:
            tokens.add(domain)
            tokens |= {part for part in _WORD_SEPARATORS.split(local) if part}
            continue
        digits = "".join(ch for ch in word if ch.isdigit())
        if len(digits) >= 6 and not re.search(r"[a-z]", word):
            tokens.add(digits)
            tokens |= _digit_groups(digits)
            continue
        tokens |= {part for part in _WORD_SEPARATORS.split(word) if part}
    return tokens


def _digit_groups(digits: str) -> set[str]:
    groups, end, size = set(), len(digits), 4
    while end > 0:
        group = digits[max(0, end - size) : end]
        if len(group) >= 3:
            groups.add(group)
        end, size = end - size, 3
    return groups


def _sort_key(sort_order: str | None) -> Any:
    if not sort_order:
        return lambda c: ((c.last_name or "").casefold(), (c.first_name or "").casefold(), c.id)
    field, _, direction = sort_order.partition(":")
    if field not in SORT_FIELDS or direction not in ("", "asc", "desc"):
        raise bad_request(
            "sortOrder must look like firstName:asc (firstName, lastName, middleName, title).", "sortOrder"
        )
    attribute = SORT_FIELDS[field]
    if direction == "desc":
        return lambda c: (_Reversed((getattr(c, attribute) or "").casefold()), c.id)
    return lambda c: ((getattr(c, attribute) or "").casefold(), c.id)


class _Reversed:
    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

"""External contacts: keyword search (`q` over names, e-mails and phones), get one, delete one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from genesys_sandbox.errors import bad_request, not_found
from genesys_sandbox.identity import normalize_name
from genesys_sandbox.model import ExternalContact
from genesys_sandbox.paging import entity_listing
from genesys_sandbox.routes_common import sandbox
from genesys_sandbox.views import external_contact

router = APIRouter()
SEARCH_WINDOW = 1000
MAX_PAGE_SIZE = 200
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
    org = sandbox(request).org
    with org.lock:
        matches = [c for c in org.external_contacts.values() if _matches(c, q)]
        matches.sort(key=_sort_key(sort_order))
        total = len(matches)
        chunk = matches[(page_number - 1) * page_size : page_number * page_size]
        entities = [external_contact(c, org.division_id) for c in chunk]
    # the listing's URIs leave the keywords out: they are personal data
    return JSONResponse(
        entity_listing(
            entities,
            page_size=page_size,
            page_number=page_number,
            total=total,
            path="/api/v2/externalcontacts/contacts",
        )
    )


@router.get("/api/v2/externalcontacts/contacts/{contactId}")
def get_contact(request: Request, contactId: str) -> JSONResponse:
    org = sandbox(request).org
    with org.lock:
        contact = org.external_contacts.get(contactId)
        if contact is None:
            raise not_found(f"External contact {contactId}")
        return JSONResponse(external_contact(contact, org.division_id))


@router.delete("/api/v2/externalcontacts/contacts/{contactId}")
def delete_contact(request: Request, contactId: str) -> JSONResponse:
    if not sandbox(request).org.delete_external_contact(contactId):
        raise not_found(f"External contact {contactId}")
    return JSONResponse({}, status_code=200)


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

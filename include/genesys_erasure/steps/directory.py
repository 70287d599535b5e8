"""`SubjectDirectory` over the Genesys Cloud API: what is an identifier linked to?

Three sources: `GET /api/v2/gdpr/subjects` (what the GDPR API itself would erase for that value), the
external-contact search (contacts holding the value, with all their other e-mails and phones: the
fragmented identity) and, for an external contact id, the contact itself (`GET
/api/v2/externalcontacts/contacts/{id}`: a GDPR delete by contact id deletes the contact with every
e-mail and phone it holds, so those must join the subject before it is judged). Raw values go to
Genesys as query parameters and come back into memory; the hook never logs query strings.

With a `ContactSnapshot` (every contact, read once by the cursor scan: `contact_scan_from_lookups`), the
contact search and the contact read by id are local look-ups in it instead of calls; a contact is linked
only when it holds the value, as with the search. With the org's users listed once as well
(`GET /api/v2/users?state=any`), the GDPR subject search adds nothing the directory uses (its hits are
external contacts, users, or the bare value), so it is not called: staff links come from the listing. If
the listing is refused, the GDPR subject search runs per identifier as before.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from genesys_cloud.errors import GenesysAuthError, GenesysBadRequestError
from genesys_erasure.contact_snapshot import ContactSnapshot, use_scan
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.resolution import IncompleteLookup, LinkedRecord, LinkSource
from genesys_erasure.steps.client import GenesysClient

log = logging.getLogger(__name__)

SCAN_LIMIT = 200  # contacts per scan page, the API's largest
USERS_PAGE_SIZE = 100  # the users listing's largest page is UNCONFIRMED; 100 is what every listing takes
SEARCH_TYPES = {IdentifierKind.EMAIL: "EMAIL", IdentifierKind.PHONE: "PHONE"}
CONTACT_EMAIL_FIELDS = ("workEmail", "personalEmail", "otherEmail")
CONTACT_PHONE_FIELDS = ("workPhone", "cellPhone", "homePhone", "otherPhone")


def record_from_gdpr_subject(entity: Mapping[str, Any]) -> LinkedRecord:
    return LinkedRecord(
        source=LinkSource.GDPR_SUBJECT,
        external_contact_id=entity.get("externalContactId") or None,
        user_id=entity.get("userId") or None,
        emails=tuple(entity.get("emailAddresses") or ()),
        phones=tuple(entity.get("phoneNumbers") or ()),
    )


def record_from_external_contact(contact: Mapping[str, Any]) -> LinkedRecord:
    phones = []
    for name in CONTACT_PHONE_FIELDS:
        number = contact.get(name) or {}
        value = number.get("e164") or number.get("display") if isinstance(number, Mapping) else None
        if value:
            phones.append(value)
    return LinkedRecord(
        source=LinkSource.EXTERNAL_CONTACT,
        external_contact_id=contact.get("id") or None,
        emails=tuple(contact[name] for name in CONTACT_EMAIL_FIELDS if contact.get(name)),
        phones=tuple(phones),
    )


def scan_contacts(
    client: GenesysClient, lookups: int, scan_from: int | None
) -> tuple[ContactSnapshot | None, int]:
    """Every external contact, read once (and the calls it took), when `lookups` identifiers would
    otherwise each be searched (`use_scan`); else None, and the caller searches per identifier. A client
    not allowed to scan (403) also gets None: the search still works one identifier at a time."""
    if not use_scan(lookups, scan_from):
        return None, 0
    try:
        snapshot = ContactSnapshot(client.scan_external_contacts(limit=SCAN_LIMIT))
    except GenesysAuthError as error:
        if error.status != 403:
            raise
        log.warning("External-contact scan refused (403 %s): searching per identifier instead", error.code)
        return None, 1
    calls = max(1, math.ceil(len(snapshot) / SCAN_LIMIT))
    log.info(
        "External contacts: %d read by one scan (%d calls) for %d look-ups", len(snapshot), calls, lookups
    )
    return snapshot, calls


def record_from_user(user: Mapping[str, Any]) -> LinkedRecord:
    """A user (`User`): its e-mail, and the e-mails and phones of its contact info and addresses."""
    emails = [user["email"]] if isinstance(user.get("email"), str) and user["email"] else []
    phones = []
    for entry in (*(user.get("primaryContactInfo") or ()), *(user.get("addresses") or ())):
        if not isinstance(entry, Mapping):
            continue
        value = entry.get("address") or entry.get("display")
        if not isinstance(value, str) or not value:
            continue
        (emails if str(entry.get("mediaType", "")).upper() == "EMAIL" else phones).append(value)
    return LinkedRecord(
        source=LinkSource.USER,
        user_id=user.get("id") or None,
        emails=tuple(dict.fromkeys(emails)),
        phones=tuple(dict.fromkeys(phones)),
    )


def list_users(client: GenesysClient) -> tuple[ContactSnapshot | None, int]:
    """Every user of the org (any state: a former agent is still staff), held for local look-ups, and the
    pages it took; None when the client may not list them (the GDPR subject search then finds staff)."""
    try:
        users = ContactSnapshot(client.iter_users(state="any", page_size=USERS_PAGE_SIZE))
    except (GenesysAuthError, GenesysBadRequestError) as error:
        log.warning(
            "Users not listable (%s %s): staff links come from the GDPR subject search",
            error.status,
            error.code,
        )
        return None, 1
    return users, max(1, math.ceil(len(users) / USERS_PAGE_SIZE))


class GenesysSubjectDirectory:
    """Counts its API calls so the run can log them (the benchmark's calls-per-subject figure)."""

    def __init__(
        self,
        client: GenesysClient,
        snapshot: ContactSnapshot | None = None,
        users: ContactSnapshot | None = None,
    ) -> None:
        self._client = client
        self._snapshot = snapshot
        self._users = users
        self.calls = 0

    def find_linked(self, identifier: Identifier) -> Iterable[LinkedRecord]:
        return list(self._records(identifier))

    def _records(self, identifier: Identifier) -> Iterator[LinkedRecord]:
        snapshot = self._snapshot
        if identifier.kind is IdentifierKind.EXTERNAL_CONTACT:
            if snapshot is not None:
                contact = snapshot.get(identifier.value)
            else:
                self.calls += 1
                contact = self._client.get_external_contact(identifier.value)
            if contact is not None:  # None: no such contact (any more), nothing links to the id
                yield record_from_external_contact(contact)
            return
        search_type = SEARCH_TYPES.get(identifier.kind)
        if search_type is None:
            return  # user ids are never explored (an agent's world is not the customer's)
        if snapshot is not None and self._users is not None:
            # everything the GDPR subject search could name that this directory uses, without a call
            yield from (record_from_external_contact(c) for c in snapshot.holding([identifier]))
            yield from (record_from_user(u) for u in self._users.holding([identifier]))
            return
        self.calls += 1
        subjects = self._client.search_gdpr_subjects(search_type, identifier.value)
        for entity in subjects:
            yield record_from_gdpr_subject(entity)
        if snapshot is not None:
            # free: every contact holding the value, also those the GDPR subject search did not name
            named = {entity.get("externalContactId") for entity in subjects}
            for contact in snapshot.holding([identifier]):
                if contact.get("id") not in named:
                    yield record_from_external_contact(contact)
            return
        if subjects:
            # The GDPR subject search already names every external contact holding the value, with its
            # other e-mails and phones; the contact search would only repeat it (one call saved per lookup).
            return
        self.calls += 1
        search = self._client.search_external_contacts_checked(identifier.value)
        if not search.complete:
            # links unknown: the identifier is quarantined (resolution decides), never erased on a guess
            raise IncompleteLookup(len(search.contacts), search.total)
        for contact in search.contacts:
            yield record_from_external_contact(contact)

"""`SubjectDirectory` over the Genesys Cloud API: what is an identifier linked to?

Three sources: `GET /api/v2/gdpr/subjects` (what the GDPR API itself would erase for that value), the
external-contact search (contacts holding the value, with all their other e-mails and phones: the
fragmented identity) and, for an external contact id, the contact itself (`GET
/api/v2/externalcontacts/contacts/{id}`: a GDPR delete by contact id deletes the contact with every
e-mail and phone it holds, so those must join the subject before it is judged). Raw values go to
Genesys as query parameters and come back into memory; the hook never logs query strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.resolution import IncompleteLookup, LinkedRecord, LinkSource
from genesys_erasure.steps.client import GenesysClient

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


class GenesysSubjectDirectory:
    """Counts its API calls so the run can log them (the benchmark's calls-per-subject figure)."""

    def __init__(self, client: GenesysClient) -> None:
        self._client = client
        self.calls = 0

    def find_linked(self, identifier: Identifier) -> Iterable[LinkedRecord]:
        return list(self._records(identifier))

    def _records(self, identifier: Identifier) -> Iterator[LinkedRecord]:
        if identifier.kind is IdentifierKind.EXTERNAL_CONTACT:
            self.calls += 1
            contact = self._client.get_external_contact(identifier.value)
            if contact is not None:  # None: no such contact (any more), nothing links to the id
                yield record_from_external_contact(contact)
            return
        search_type = SEARCH_TYPES.get(identifier.kind)
        if search_type is None:
            return  # user ids are never explored (an agent's world is not the customer's)
        self.calls += 1
        subjects = self._client.search_gdpr_subjects(search_type, identifier.value)
        for entity in subjects:
            yield record_from_gdpr_subject(entity)
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

"""The GDPR API's view of a subject: the request body we send, and the keyed hashes of a request's
subject as Genesys returns it (for reconciling a crash between the POST and the ledger write)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    normalise_email,
    normalise_phone,
)

K = IdentifierKind


def gdpr_subject_body(identifiers: Iterable[Identifier]) -> dict[str, Any]:
    """One `GDPRSubject` for all of a person's identifiers. The model holds lists of e-mails and phones
    but a single external contact id and user id: further contacts are reached through their e-mails and
    phones, which the same request erases."""
    ordered = sorted(set(identifiers))
    body: dict[str, Any] = {}
    emails = [i.value for i in ordered if i.kind is K.EMAIL]
    phones = [i.value for i in ordered if i.kind is K.PHONE]
    contacts = [i.value for i in ordered if i.kind is K.EXTERNAL_CONTACT]
    users = [i.value for i in ordered if i.kind is K.USER]
    if emails:
        body["emailAddresses"] = emails
    if phones:
        body["phoneNumbers"] = phones
    if contacts:
        body["externalContactId"] = contacts[0]
    if users:
        body["userId"] = users[0]
    return body


def subject_identifiers(subject: Mapping[str, Any]) -> set[Identifier]:
    """The identifiers a `GDPRSubject` (as Genesys returns it) names, normalised; unreadable ones are
    dropped (they cannot match a ledger row anyway)."""
    found: set[Identifier] = set()
    for raw in subject.get("emailAddresses") or ():
        try:
            found.add(Identifier(K.EMAIL, normalise_email(raw)))
        except InvalidIdentifier:
            continue
    for raw in subject.get("phoneNumbers") or ():
        try:
            found.add(Identifier(K.PHONE, normalise_phone(raw)))
        except InvalidIdentifier:
            continue
    if subject.get("externalContactId"):
        found.add(Identifier(K.EXTERNAL_CONTACT, subject["externalContactId"]))
    if subject.get("userId"):
        found.add(Identifier(K.USER, subject["userId"]))
    return found


def subject_hashes(subject: Mapping[str, Any], hasher: KeyedHasher) -> frozenset[str]:
    return frozenset(hasher.hash_identifier(i) for i in subject_identifiers(subject))

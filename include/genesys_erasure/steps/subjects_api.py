"""The GDPR API's view of a subject: the request body we send, and the keyed hashes of a request's
subject as Genesys returns it (for reconciling a crash between the POST and the ledger write).

The body also names each identifier's raw stored forms (`tel:+44…`, `020 7946 0958`, `"Berg, Anna"
<anna@…>`): a delete that matches whole stored values (UNCONFIRMED for Genesys; the sandbox's pessimistic
reading) erases only the forms it is given. Those forms never change the body's keyed-hash set, which must
equal the set of the identifiers alone (reconciliation rebuilds it from the sealed identifiers). A header
that also lists somebody else's address is named only when the run decided so (shared_headers.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from email.utils import getaddresses
from typing import Any

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    normalise_email,
    normalise_phone,
)
from genesys_erasure.shared_headers import names_somebody_else

K = IdentifierKind


def gdpr_subject_body(
    identifiers: Iterable[Identifier],
    raw_forms: Mapping[Identifier, Iterable[str]] | None = None,
    shared_named: Collection[str] = (),
) -> dict[str, Any]:
    """One `GDPRSubject` for all of a person's identifiers. The model holds lists of e-mails and phones
    but a single external contact id and user id: further contacts are reached through their e-mails and
    phones, which the same request erases. `raw_forms` (per e-mail or phone identifier) are listed after
    the identifiers, each once; a form listing an e-mail address not the subject's own is skipped unless
    it is one of `shared_named` (every address in it is erased by the same run's submission)."""
    ordered = sorted(set(identifiers))
    body: dict[str, Any] = {}
    emails = _with_forms([i for i in ordered if i.kind is K.EMAIL], raw_forms, shared_named)
    phones = _with_forms([i for i in ordered if i.kind is K.PHONE], raw_forms, shared_named)
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


def _with_forms(
    identifiers: list[Identifier],
    raw_forms: Mapping[Identifier, Iterable[str]] | None,
    shared_named: Collection[str],
) -> list[str]:
    values = dict.fromkeys(i.value for i in identifiers)
    own = {i.value for i in identifiers if i.kind is K.EMAIL}
    for identifier in identifiers:
        forms = sorted(set((raw_forms or {}).get(identifier, ())))
        if identifier.kind is K.EMAIL:
            # A form listing several addresses (a whole `To:` header) is also the stored value of every
            # other person it names: under whole-value matching, naming it would erase their address too.
            # It is sent only when each of its addresses is this subject's own, or when the run found
            # every other one erased in its own submission (`shared_named`, decided before submitting).
            forms = [f for f in forms if f in shared_named or not names_somebody_else(f, own)]
        values.update(dict.fromkeys(forms))
    return list(values)


def subject_identifiers(subject: Mapping[str, Any]) -> set[Identifier]:
    """The identifiers a `GDPRSubject` (as Genesys returns it) names, normalised; unreadable ones are
    dropped (they cannot match a ledger row anyway). A value holding several e-mail addresses is a raw
    header form, not an identifier: it is skipped, since its last address may be somebody else's."""
    found: set[Identifier] = set()
    for raw in subject.get("emailAddresses") or ():
        if isinstance(raw, str) and len(getaddresses([raw])) > 1:
            continue
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

"""E-mail header values that list several addresses (`"Berg, Anna" <anna@…>, bob@…`), and so belong to
several people at once.

Genesys stores an e-mail session's header whole, and a GDPR delete may match only whole stored values
(UNCONFIRMED; the sandbox's pessimistic reading): naming such a header in one person's request erases the
other addresses in it too. So a header is named only when every address in it is being erased anyway (the
subject's own, or those of subjects erased in the same run's submission); otherwise it stays, and
verification reports it apart from a failed delete. Nothing here logs or returns a value, only booleans
and the addresses to the caller that already holds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from email.utils import getaddresses

from genesys_erasure.identifiers import Identifier, IdentifierKind, InvalidIdentifier, normalise_email

# The ledger reason of a subject whose address is left only in such headers (a needs_review subject: a
# person decides; steps/verify.py says why that state). Reports count subjects by it; the run's compliance
# verdict warns about them rather than failing (steps/evidence.py).
SHARED_WITH_PERSON_NOT_ERASED = "shared_with_person_not_erased"
# an address-shaped token anywhere in a value (as identifier_matching reads free text)
_URI = re.compile(r"\s*(?:tel|sips?):", re.IGNORECASE)  # a phone URI's parameters are no address list
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


def header_addresses(value: object) -> list[str]:
    """The addresses a header value lists, as written (display names dropped); [] for a non-string."""
    if not isinstance(value, str):
        return []
    return [address for _, address in getaddresses([value]) if address.strip()]


def other_addresses(value: object, own: Collection[str]) -> list[Identifier | None] | None:
    """For a value listing several addresses: those that are not in `own` (normalised e-mails), as
    identifiers, with None for one that cannot be read (it may be anybody's). None when the value lists
    at most one address (a form of one address, or a phone URI): then it is shared with nobody.

    The header parser is lenient and may drop or mangle what it cannot read (`a@x.org b@y.org` parses
    as one broken address), so address-shaped tokens found in the text count too, and an entry the parser
    could not read counts as somebody's: a value is never taken for one person's on a parser's guess."""
    listed = _listed(value)
    if listed is None:
        return None
    entries, tokens = listed
    others: dict[Identifier | None, None] = {}
    for address in (*entries, *tokens):
        normalised = _normalised(address)
        if normalised is None:
            others[None] = None
        elif normalised not in own:
            others[Identifier(IdentifierKind.EMAIL, normalised)] = None
    return list(others)


def names_somebody_else(value: object, own: Collection[str]) -> bool:
    """Whether a header lists several addresses, at least one of them not the subject's own."""
    others = other_addresses(value, own)
    return bool(others)


def may_be_named(value: object, own: Collection[str], erased_with: Collection[Identifier]) -> bool:
    """Whether a GDPR delete for a subject owning `own` may name the stored value: every address it lists
    is the subject's own or one of `erased_with` (identifiers of the other subjects erased in the same
    submission). An unreadable address could be a retained person's, so it forbids naming."""
    others = other_addresses(value, own)
    return not others or all(other is not None and other in erased_with for other in others)


def own_addresses(identifiers: Iterable[Identifier]) -> frozenset[str]:
    return frozenset(i.value for i in identifiers if i.kind is IdentifierKind.EMAIL)


def left_for_others(own: Collection[str], named: Iterable[str]) -> Callable[[object], bool]:
    """A test for values verification finds still holding the subject's identifier: True for an e-mail
    header listing the subject's own address and somebody else's that the subject's request did not name
    (`named`: the shared headers it did name), so it was left on purpose. A shared header the request named
    and that is still there is a delete that did not happen: False, a failure. So is any value that is not
    plainly a list of addresses (free text that holds a phone number and a comma, a phone URI): only a
    header can be somebody else's too."""
    named_keys = {_key(value) for value in named}

    def test(value: object) -> bool:
        if not isinstance(value, str) or _key(value) in named_keys:
            return False
        listed = _listed(value)
        if listed is None or not all("@" in entry for entry in listed[0] if entry):
            return False
        readable = {_normalised(address) for address in (*listed[0], *listed[1])}
        return bool(readable & set(own)) and names_somebody_else(value, own)

    return test


def _listed(value: object) -> tuple[list[str], list[str]] | None:
    """The parser's entries ('' for one it could not read) and the address-shaped tokens of a value that
    lists several addresses; None for anything else."""
    if not isinstance(value, str) or _URI.match(value):
        return None
    entries = [address.strip() for _, address in getaddresses([value])]
    tokens = [token.strip(".") for token in _ADDRESS.findall(value)]
    if len(entries) <= 1 and len({token.casefold() for token in tokens}) <= 1:
        return None
    return entries, tokens


def _normalised(address: str) -> str | None:
    try:
        return normalise_email(address) if address else None
    except InvalidIdentifier:
        return None


def _key(value: str) -> str:
    # Genesys (and the sandbox) compare stored values case-insensitively after trimming
    return value.strip().casefold()

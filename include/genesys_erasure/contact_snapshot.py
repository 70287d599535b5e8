"""Every external contact of the org, read once per step by the cursor scan and looked up locally.

The per-identifier search (`GET /api/v2/externalcontacts/contacts?q=`) costs at least one call per
identifier, and what it returns must be checked to hold the value anyway (free text, unknown tokenisation).
The cursor scan (`GET /api/v2/externalcontacts/scan/contacts`) reads every contact once, at one call per
200 contacts, and `holding` does that check locally: a contact is returned only when one of its fields
holds one of the values (the same `IdentifierMatcher` verification applies to search hits), so nothing the
search would have linked is missed, and a scan has no `partialResults` to cut it short.

The cost follows the org's contacts, not the subjects, and so does the memory (every contact is held for
the step): `use_scan` picks the scan only from `contact_scan_from_lookups` identifiers on. Contacts of
divisions the client's role does not cover are as invisible to the scan as to the search (the preflight's
division check is what guards against that), and the scan reads the same index as the search, so it may
still list a deleted contact for a while: callers treat a listed contact that answers 404 as index lag.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from genesys_erasure.identifier_matching import IdentifierMatcher, field_keys
from genesys_erasure.identifiers import Identifier
from genesys_erasure.verification import walk_strings


def use_scan(lookups: int, scan_from: int | None) -> bool:
    """Whether `lookups` per-identifier searches are better replaced by one scan of every contact."""
    return scan_from is not None and lookups >= scan_from


class ContactSnapshot:
    """The contacts one scan returned, filed under the keys of their field values (never logged)."""

    def __init__(self, contacts: Iterable[Mapping[str, Any]]) -> None:
        self._contacts: list[Mapping[str, Any]] = []
        self._by_key: dict[str, list[int]] = defaultdict(list)
        self._by_id: dict[str, int] = {}
        for contact in contacts:
            position = len(self._contacts)
            self._contacts.append(contact)
            if isinstance(contact.get("id"), str):
                self._by_id[contact["id"]] = position
            keys: set[str] = set()
            for _, value in walk_strings(contact, "contact"):
                keys |= field_keys(value)
            for key in keys:
                self._by_key[key].append(position)

    def __len__(self) -> int:
        return len(self._contacts)

    def __repr__(self) -> str:
        return f"ContactSnapshot(<{len(self._contacts)} contacts>)"

    def get(self, contact_id: str) -> Mapping[str, Any] | None:
        """The contact with this id, as `GET /api/v2/externalcontacts/contacts/{id}` would answer it when
        the scan ran (None: no such contact, or one the client may not see)."""
        position = self._by_id.get(contact_id)
        return None if position is None else self._contacts[position]

    def holding(self, identifiers: Iterable[Identifier]) -> list[Mapping[str, Any]]:
        """The contacts (in scan order) with a field holding one of `identifiers`' values."""
        identifiers = list(identifiers)
        if not identifiers:
            return []
        matcher = IdentifierMatcher(identifiers)
        candidates = sorted({p for key in matcher.lookup_keys() for p in self._by_key.get(key, ())})
        return [
            self._contacts[p]
            for p in candidates
            if any(matcher.matches(value) for _, value in walk_strings(self._contacts[p], "contact"))
        ]

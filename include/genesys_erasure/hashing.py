"""Keyed hashes (HMAC-SHA256): the only form in which an identifier may appear in logs, XCom, the ledger
after a final state, reports and evidence.

A plain SHA-256 of a phone number is reversible by enumeration (there are only ~10^10 numbers per
country); an HMAC with a secret key is not, as long as the key stays out of the evidence.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable

from genesys_erasure.identifiers import Identifier

MIN_KEY_BYTES = 16


class KeyedHasher:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the HMAC key must be at least {MIN_KEY_BYTES} bytes long")
        self._key = key

    def __repr__(self) -> str:
        return "KeyedHasher(key=<secret>)"

    def hash_text(self, text: str) -> str:
        """Hex HMAC-SHA256 of a UTF-8 string."""
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def hash_identifier(self, identifier: Identifier) -> str:
        """Hex HMAC-SHA256 of `kind:value`, so an e-mail and a phone never share a hash."""
        return self.hash_text(f"{identifier.kind.value}:{identifier.value}")

    def sign(self, payload: bytes) -> str:
        """Hex HMAC-SHA256 over raw bytes (used for report signatures)."""
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()


class HashedMembership(Collection[Identifier]):
    """`identifier in members` against a set of keyed hashes (the recent customers, the subjects of a
    submission): the set never exists in the clear."""

    def __init__(self, hashes: Iterable[str], hasher: KeyedHasher) -> None:
        self._hashes = frozenset(hashes)
        self._hasher = hasher

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Identifier) and self._hasher.hash_identifier(item) in self._hashes

    def __iter__(self):
        return iter(())  # membership only: the identifiers themselves are not known

    def __len__(self) -> int:
        return len(self._hashes)

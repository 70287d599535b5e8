"""Sealing: authenticated encryption (Fernet) of the raw identifiers a subject's erasure still needs.

Between planning and the last step that needs them (the GDPR POST, verification, the warehouse deletes,
possibly in a later run when a subject is deferred), the raw e-mail addresses and phone numbers must be
kept somewhere. They are kept only as one Fernet token per subject in the ledger's `sealed_identifiers`
column, which the ledger wipes when the subject reaches a final state.

Key decision: the sealing key is SEPARATE from the HMAC key, never derived from it.
* The HMAC key is handed to whoever verifies evidence signed before Ed25519 (`evidence verify
  --key-env`) and to analysts who look up "was this phone erased?". Anyone holding a key derived from
  it could decrypt the sealed identifiers; anyone holding the HMAC key can derive. A separate key keeps
  "can check evidence" apart from "can read personal data".
* The two keys rotate on different schedules: the HMAC key must stay stable for years (it makes the
  ledger's hashes comparable), the sealing key can be rotated at will because tokens are short-lived.
  `previous_keys` lets tokens sealed under an old key still be opened after a rotation.

Keys arrive as bytes (the glue layer reads them from an Airflow connection): either a Fernet key
(44 url-safe base64 characters) or 32 raw random bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from genesys_erasure.identifiers import Identifier, IdentifierKind

RAW_KEY_BYTES = 32
_PAYLOAD_VERSION = 1


class SealError(Exception):
    """A token could not be opened (wrong key, tampered or truncated). Carries no token content."""


def generate_sealing_key() -> bytes:
    """A new random Fernet key (url-safe base64 bytes), for operators setting up the connection."""
    return Fernet.generate_key()


def _fernet_for(key: bytes, what: str) -> Fernet:
    if not isinstance(key, bytes | bytearray):
        raise TypeError(f"{what} must be bytes")
    key = bytes(key).strip()
    if len(key) == RAW_KEY_BYTES:
        return Fernet(base64.urlsafe_b64encode(key))
    try:
        return Fernet(key)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(
            f"{what} must be a Fernet key (44 url-safe base64 characters) or {RAW_KEY_BYTES} raw bytes"
        ) from exc


class IdentifierSealer:
    """Seals a subject's identifiers into one opaque token and opens it again."""

    def __init__(self, key: bytes, previous_keys: Sequence[bytes] = ()) -> None:
        fernets = [_fernet_for(key, "the sealing key")]
        fernets += [_fernet_for(k, f"previous sealing key #{i}") for i, k in enumerate(previous_keys)]
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "IdentifierSealer(key=<secret>)"

    @property
    def cipher(self) -> MultiFernet:
        """The same keys for other short-lived sealed payloads (the run workspace's hand-offs)."""
        return self._fernet

    def seal(self, identifiers: Iterable[Identifier]) -> str:
        """One token for all identifiers (deduplicated, sorted, so equal sets give equal plaintexts)."""
        unique = sorted(set(identifiers))
        if not unique:
            raise ValueError("identifiers: nothing to seal (empty)")
        payload = {"v": _PAYLOAD_VERSION, "ids": [[i.kind.value, i.value] for i in unique]}
        plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        return self._fernet.encrypt(plaintext).decode("ascii")

    def unseal(self, token: str) -> list[Identifier]:
        """The identifiers sealed in `token`; `SealError` if the token is not ours or was altered."""
        try:
            plaintext = self._fernet.decrypt(token.encode("ascii") if isinstance(token, str) else token)
        except (InvalidToken, UnicodeEncodeError, TypeError) as exc:
            raise SealError("sealed identifiers could not be opened (wrong key or altered token)") from exc
        payload = json.loads(plaintext)
        if payload.get("v") != _PAYLOAD_VERSION:
            raise SealError(f"unsupported sealed payload version {payload.get('v')!r}")
        return [Identifier(IdentifierKind(kind), value) for kind, value in payload["ids"]]

    def reseal(self, token: str) -> str:
        """The same identifiers under the current key (after a key rotation)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SealError("sealed identifiers could not be opened (wrong key or altered token)") from exc

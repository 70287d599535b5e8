"""The Ed25519 key that signs reports and certificates, and its published public half.

Anyone holding the public key can check a document; only the holder of the private key (the
`genesys_erasure_signing` connection) can make one. The HMAC key stays what it was before: the key of the
identifier hashes (and of reports signed before Ed25519, which `evidence.verify_report` still checks).

The private key is read from text: a PEM (`-----BEGIN PRIVATE KEY-----`, PKCS#8, unencrypted) or the raw
32-byte seed as `hex:…` / `base64:…`. The key id is the first 16 hex digits of SHA-256 over the raw 32
public-key bytes, so it names the key without revealing anything.

Published next to the reports (`publish_public_key`): `signing-public-key.pem` (the current key) and
`signing-keys/<key id>.pem` (every key that has ever signed there; never deleted, so documents signed
before a key rotation still verify).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
SIGNING_KEY_CONN_ID = "genesys_erasure_signing"
CURRENT_KEY_FILE = "signing-public-key.pem"
KEYS_DIR = "signing-keys"

__all__ = [
    "ALGORITHM",
    "CURRENT_KEY_FILE",
    "KEYS_DIR",
    "SIGNING_KEY_CONN_ID",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "generate_private_key_pem",
    "load_public_keys",
    "private_key_from_text",
    "public_key_from_pem",
    "public_key_id",
    "public_key_pem",
    "publish_public_key",
    "raw_public_key",
    "sign",
    "verify",
]


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """The private key from a connection password: PEM, `hex:<64 hex>` or `base64:<32 bytes>`."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("signing key: not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing key: the PEM holds a key of another type, not Ed25519")
        return key
    try:
        if text.startswith("hex:"):
            seed = bytes.fromhex(text[4:])
        elif text.startswith("base64:"):
            seed = base64.b64decode(text[7:], validate=True)
        else:
            raise ValueError("signing key: expected a PEM, 'hex:…' or 'base64:…'")
    except (binascii.Error, ValueError) as exc:
        raise ValueError(
            str(exc) if "signing key" in str(exc) else "signing key: not valid hex/base64"
        ) from exc
    if len(seed) != 32:
        raise ValueError(f"signing key: an Ed25519 private key is 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def generate_private_key_pem() -> str:
    """A new private key as PEM, for the signing connection (see the README's key rotation)."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode("ascii")
    )


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_from_pem(data: bytes | str) -> Ed25519PublicKey:
    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        key = serialization.load_pem_public_key(raw)
    except ValueError as exc:
        raise ValueError("public key: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public key: not an Ed25519 key")
    return key


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return key.sign(message).hex()


def verify(key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def publish_public_key(directory: str | os.PathLike, key: Ed25519PrivateKey) -> Path:
    """Write the public half of `key` as the current key and into the key archive; returns the current
    key's file. Idempotent; the archive keeps every earlier key."""
    public = key.public_key()
    pem = public_key_pem(public)
    root = Path(directory)
    archive = root / KEYS_DIR / f"{public_key_id(public)}.pem"
    archive.parent.mkdir(parents=True, exist_ok=True)
    for path in (archive, root / CURRENT_KEY_FILE):
        if not path.is_file() or path.read_text(encoding="ascii") != pem:
            path.write_text(pem, encoding="ascii")
    return root / CURRENT_KEY_FILE


def load_public_keys(path: str | os.PathLike) -> dict[str, Ed25519PublicKey]:
    """Public keys by key id: one PEM file, or every `*.pem` in a directory (a published key archive, or
    the report directory itself: its `signing-keys/` and the current key)."""
    root = Path(path)
    files = [root] if root.is_file() else sorted({*root.glob("*.pem"), *(root / KEYS_DIR).glob("*.pem")})
    keys: dict[str, Ed25519PublicKey] = {}
    for file in files:
        key = public_key_from_pem(file.read_bytes())
        keys[public_key_id(key)] = key
    return keys

"""Sealing raw identifiers with Fernet while a subject's erasure still needs them."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from genesys_erasure.sealing import IdentifierSealer, SealError, generate_sealing_key
from tests.support.erasure import PLANTED_EMAIL, SEALING_KEY, identifiers, needles


def test_unseal_returns_the_sealed_identifiers():
    sealer = IdentifierSealer(SEALING_KEY)
    token = sealer.seal(identifiers() + identifiers())
    assert sorted(sealer.unseal(token)) == sorted(identifiers())


def test_token_does_not_show_the_identifiers():
    token = IdentifierSealer(SEALING_KEY).seal(identifiers())
    lowered = token.lower()
    assert not any(needle.lower() in lowered for needle in needles())


def test_token_from_another_key_cannot_be_opened_and_error_reveals_nothing():
    token = IdentifierSealer(generate_sealing_key()).seal(identifiers())
    with pytest.raises(SealError) as error:
        IdentifierSealer(SEALING_KEY).unseal(token)
    assert PLANTED_EMAIL not in str(error.value) and token not in str(error.value)


def test_altered_token_is_rejected():
    sealer = IdentifierSealer(SEALING_KEY)
    token = sealer.seal(identifiers())
    altered = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    with pytest.raises(SealError):
        sealer.unseal(altered)


def test_tokens_sealed_before_a_key_rotation_still_open():
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    token = IdentifierSealer(old_key).seal(identifiers())
    rotated = IdentifierSealer(new_key, previous_keys=[old_key])
    assert sorted(rotated.unseal(token)) == sorted(identifiers())
    assert sorted(IdentifierSealer(new_key).unseal(rotated.reseal(token))) == sorted(identifiers())


def test_key_that_is_neither_fernet_nor_32_bytes_is_refused_without_echoing_it():
    with pytest.raises(ValueError, match="sealing key") as error:
        IdentifierSealer(b"short-key")
    assert "short-key" not in str(error.value)


def test_sealing_nothing_is_refused():
    with pytest.raises(ValueError, match="identifiers"):
        IdentifierSealer(SEALING_KEY).seal([])


def test_repr_hides_the_key():
    assert "secret" in repr(IdentifierSealer(SEALING_KEY))
    assert SEALING_KEY.hex() not in repr(IdentifierSealer(SEALING_KEY))

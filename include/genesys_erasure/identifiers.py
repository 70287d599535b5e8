"""Identifiers of a data subject, as the pipeline carries them.

An `Identifier` always holds the *normalised* value (E.164 phone, case-folded e-mail), so two sightings of
the same person compare equal. Its repr never shows the value: identifiers end up in exception messages
and log lines by accident, and the value is personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    EXTERNAL_CONTACT = "external_contact_id"
    USER = "user_id"


@dataclass(frozen=True, order=True)
class Identifier:
    kind: IdentifierKind
    value: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Identifier(kind={self.kind.value}, value=<redacted>)"

    __str__ = __repr__

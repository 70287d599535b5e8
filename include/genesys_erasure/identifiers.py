"""Identifiers of a data subject, as the pipeline carries them, and their normalisation.

An `Identifier` always holds the *normalised* value (E.164 phone, lower-cased e-mail), so two sightings of
the same person compare equal. Its repr never shows the value: identifiers end up in exception messages
and log lines by accident, and the value is personal data.

For the same reason `InvalidIdentifier` carries only a field name and a reason code, never the raw input;
the caller knows which row or list index it was parsing and adds that context with `in_context`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache


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


class InvalidIdentifier(ValueError):
    """A value that is not a usable identifier. `field` says what was parsed, `reason` why it failed (a
    short code such as `too_short` that reports can count); the raw value is deliberately not kept."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field}: {reason}")
        self.field = field
        self.reason = reason

    def in_context(self, context: str) -> InvalidIdentifier:
        """The same error with a caller-supplied location, e.g. `exclusions[3]` or `row 17, column ani`."""
        return InvalidIdentifier(f"{context} ({self.field})", self.reason)


# Characters a dialled number may contain once the URI scheme is gone. Anything else (letters, SIP user
# names, social-media ids) is not a phone number, even if phonenumbers would read vanity letters as digits.
_PHONE_CHARS = re.compile(r"\+?[0-9 ()./\-]*[0-9][0-9 ()./\-]*")


@cache
def _phonenumbers():
    """phonenumbers, imported on first use: its metadata takes a noticeable part of a second to load, and
    the DAG files import this module (through the config model) every time they are parsed."""
    import phonenumbers

    return phonenumbers


@cache
def _phone_reasons() -> dict:
    pn = _phonenumbers()
    return {
        pn.NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
        pn.NumberParseException.NOT_A_NUMBER: "not_a_phone_number",
        pn.NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
        pn.NumberParseException.TOO_SHORT_NSN: "too_short",
        pn.NumberParseException.TOO_LONG: "too_long",
    }


@cache
def _possible_reasons() -> dict:
    pn = _phonenumbers()
    return {
        pn.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",
        pn.ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
        pn.ValidationResult.TOO_SHORT: "too_short",
        pn.ValidationResult.TOO_LONG: "too_long",
        pn.ValidationResult.INVALID_LENGTH: "invalid_length",
    }


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 form of a phone number given as `+44 20 7946 0958`, `tel:+442079460958`,
    `sip:+442079460958@edge.example;user=phone` or, with `default_region`, a national number.

    The number must be *possible* (right length for its country), not *valid*: validity depends on
    numbering-plan metadata that lags reality, and refusing a real customer's number would silently leave
    their data in place."""
    text = _strip_phone_uri(raw)
    if not text:
        raise InvalidIdentifier("phone", "empty")
    if not _PHONE_CHARS.fullmatch(text):
        raise InvalidIdentifier("phone", "not_a_phone_number")
    if not text.startswith("+") and default_region is None:
        raise InvalidIdentifier("phone", "missing_country_code")
    phonenumbers = _phonenumbers()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidIdentifier("phone", _phone_reasons().get(error.error_type, "unparseable")) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidIdentifier("phone", _possible_reasons().get(possible, "not_possible"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _strip_phone_uri(raw: str) -> str:
    text = raw.strip()
    if "<" in text and text.endswith(">"):
        # `"Anna Berg" <sip:+4420…@edge>`: a SIP header with a display name; only the URI is the number
        text = text[text.rindex("<") + 1 : -1].strip()
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() in ("tel", "sip", "sips"):
        text = rest.split("@", 1)[0] if scheme.lower() != "tel" else rest
    number, _, params = text.partition(";")
    number = number.strip()
    context = _PHONE_CONTEXT.search(";" + params)
    if context and number and not number.startswith("+"):
        # RFC 3966 local number (`tel:07700900123;phone-context=+44`): the context names the country
        phonenumbers = _phonenumbers()
        region = phonenumbers.region_code_for_country_code(int(context.group(1)))
        if region != phonenumbers.UNKNOWN_REGION:
            try:
                parsed = phonenumbers.parse(number, region)
            except phonenumbers.NumberParseException:
                return number
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return number


_PHONE_CONTEXT = re.compile(r";\s*phone-context=\+(\d{1,3})(?![\d])", re.IGNORECASE)
_WITHHELD = frozenset(
    {"", "anonymous", "restricted", "private", "withheld", "unavailable", "unknown", "blocked", "+", "0"}
)


def is_withheld_caller(raw: object) -> bool:
    """True for a caller who withheld their number: empty, `anonymous`, `sip:anonymous@anonymous.invalid`,
    `tel:restricted`, `Private`… Such a value names nobody, so it must never become a subject."""
    if raw is None:
        return True
    if not isinstance(raw, str):
        return False
    text = raw.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1].strip()
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() in ("tel", "sip", "sips"):
        text = rest
    user = text.split("@", 1)[0].split(";", 1)[0].strip().strip('"').casefold()
    return user in _WITHHELD or user.startswith("anonymous")


def normalise_email(raw: str) -> str:
    """Lower-cased e-mail address, from `Jane.Doe@Example.com`, `mailto:…` or `Jane <jane@…>`.

    Lower-casing (not `str.casefold`, which turns `ß` into `ss` and so names a different mailbox) makes
    sightings compare equal; mail systems treat the local part case-insensitively in practice."""
    text = raw.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].split("?", 1)[0]
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1]
    text = text.strip()
    if not text:
        raise InvalidIdentifier("email", "empty")
    if "@" not in text:
        raise InvalidIdentifier("email", "missing_at_sign")
    from email_validator import EmailNotValidError, validate_email  # on first use, like phonenumbers

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        # The library's message quotes parts of the address: only our reason code leaves this function.
        raise InvalidIdentifier("email", "invalid_syntax") from None
    return result.normalized.lower()


_OPAQUE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def normalise_opaque_id(raw: str, field_name: str) -> str:
    """A Genesys entity id (external contact or user): trimmed, otherwise kept exactly, since the API
    is called with it verbatim."""
    text = raw.strip()
    if not text:
        raise InvalidIdentifier(field_name, "empty")
    if not _OPAQUE_ID.fullmatch(text):
        raise InvalidIdentifier(field_name, "invalid_characters")
    return text


def parse_identifier(kind: IdentifierKind | str, raw: str, default_region: str | None = None) -> Identifier:
    """Normalise `raw` as an identifier of `kind`; raises `InvalidIdentifier`."""
    try:
        kind = IdentifierKind(kind)
    except ValueError:
        raise InvalidIdentifier("identifier kind", "unknown_kind") from None
    if not isinstance(raw, str):
        raise InvalidIdentifier(kind.value, "not_a_string")
    if kind is IdentifierKind.PHONE:
        return Identifier(kind, normalise_phone(raw, default_region))
    if kind is IdentifierKind.EMAIL:
        return Identifier(kind, normalise_email(raw))
    return Identifier(kind, normalise_opaque_id(raw, kind.value))


def parse_contact_point(raw: str, default_region: str | None = None) -> Identifier:
    """An e-mail address or phone number given without its kind (config lists, messaging addresses):
    anything with an `@` that is not a SIP/tel URI is read as e-mail, the rest as phone."""
    if not isinstance(raw, str):
        raise InvalidIdentifier("contact point", "not_a_string")
    scheme = raw.strip().partition(":")[0].lower()
    if "@" in raw and scheme not in ("sip", "sips", "tel"):
        return Identifier(IdentifierKind.EMAIL, normalise_email(raw))
    return Identifier(IdentifierKind.PHONE, normalise_phone(raw, default_region))

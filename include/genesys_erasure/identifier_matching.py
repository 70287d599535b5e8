"""Does a raw field value from Genesys still hold one of a subject's identifiers?

Genesys writes the same phone number as `tel:+441632960961`, `sip:+441632960961@trunk;user=phone`,
`+44 1632 960961`, `00441632960961` or `01632 960961`, and e-mail addresses with any capitalisation,
inside `mailto:`, URL-encoded or embedded in free text (a wrap-up note, a callback name). Matching is
therefore done on tokens extracted from the value, never on the raw string, and errs on the side of a
match: a false match sends a subject to manual review, a missed one leaves personal data behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

import phonenumbers

from genesys_erasure.identifiers import Identifier, IdentifierKind

_SCHEMES = re.compile(r"^\s*(?:tel|sips?|mailto|callto|wa|whatsapp|sms)\s*:\s*", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# a run of digits possibly broken by visual separators, optionally led by '+'
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().\-]*\d)*")
_MIN_PHONE_DIGITS = 7


def normalise_field_value(raw: object) -> str | None:
    """The canonical form of a whole field value, tolerant of junk: an e-mail address case-folded, a
    phone number in E.164 (when it can be told), otherwise the trimmed, case-folded text. None for
    values that are empty or not text/number."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    text = unquote(raw) if "%" in raw else raw
    text = _SCHEMES.sub("", text.strip()).split(";", 1)[0].strip()
    if not text:
        return None
    user, at, _host = text.partition("@")
    if at and _is_phone_like(user):  # sip:+4416…@trunk: the user part is the number
        text = user
    elif at:
        return text.casefold()
    if _is_phone_like(text):
        return _to_e164(text) or re.sub(r"\D", "", text)
    return text.casefold()


def _is_phone_like(text: str) -> bool:
    stripped = text.strip()
    return (
        bool(stripped)
        and bool(re.fullmatch(r"\+?[\d\s().\-/]+", stripped))
        and (sum(ch.isdigit() for ch in stripped) >= _MIN_PHONE_DIGITS)
    )


def _to_e164(text: str) -> str | None:
    candidate = text.strip()
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    if not candidate.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class IdentifierMatcher:
    """Built once per subject from its normalised identifiers; `matches(value)` per field value."""

    def __init__(self, identifiers: Iterable[Identifier]) -> None:
        self._emails: set[str] = set()
        self._phone_digits: set[str] = set()  # digit strings that identify one of the phones
        self._ids: set[str] = set()
        for identifier in identifiers:
            if identifier.kind == IdentifierKind.EMAIL:
                self._emails.add(identifier.value.strip().casefold())
            elif identifier.kind == IdentifierKind.PHONE:
                self._phone_digits.update(_phone_forms(identifier.value))
            else:
                self._ids.add(identifier.value.strip().casefold())
        self._ids.discard("")
        if not (self._emails or self._phone_digits or self._ids):
            raise ValueError("identifiers: nothing to match (empty or unusable)")

    def __repr__(self) -> str:
        return "IdentifierMatcher(<redacted>)"

    def matches(self, raw: object) -> bool:
        if isinstance(raw, bool) or raw is None:
            return False
        if isinstance(raw, int | float):
            raw = str(raw)
        if not isinstance(raw, str) or not raw.strip():
            return False
        texts = {raw, unquote(raw)} if "%" in raw else {raw}
        return any(self._text_matches(text) for text in texts)

    def _text_matches(self, text: str) -> bool:
        folded = text.casefold()
        if self._ids and any(_id_in(identifier, folded) for identifier in self._ids):
            return True
        if self._emails:
            whole = normalise_field_value(text)
            if whole in self._emails:
                return True
            if any(match.strip(".").casefold() in self._emails for match in _EMAIL.findall(text)):
                return True
        if self._phone_digits:
            for run in _DIGIT_RUN.findall(text):
                digits = re.sub(r"\D", "", run)
                if len(digits) >= _MIN_PHONE_DIGITS and any(p in digits for p in self._phone_digits):
                    return True
        return False

    def lookup_keys(self) -> frozenset[str]:
        """Keys under which `field_keys` files any value this matcher can match by an e-mail or a phone (a
        superset: a value filed under one of them still has to pass `matches`). Ids are keyed only as whole
        values."""
        keys = {f"e:{email}" for email in self._emails} | {f"id:{i}" for i in self._ids}
        keys |= {f"d:{digits[:_MIN_PHONE_DIGITS]}" for digits in self._phone_digits}
        return frozenset(keys)


def field_keys(raw: object) -> frozenset[str]:
    """The keys a field value is filed under so that every matcher whose `lookup_keys` could match it
    finds it: the e-mail addresses in it, every 7-digit window of its digit runs (a phone form found in a
    run starts at one of them), and the whole value (for ids)."""
    if isinstance(raw, bool) or raw is None:
        return frozenset()
    if isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip():
        return frozenset()
    keys: set[str] = set()
    for text in {raw, unquote(raw)} if "%" in raw else {raw}:
        keys.add(f"id:{text.strip().casefold()}")
        whole = normalise_field_value(text)
        if whole and "@" in whole:
            keys.add(f"e:{whole}")
        keys |= {f"e:{match.strip('.').casefold()}" for match in _EMAIL.findall(text)}
        for run in _DIGIT_RUN.findall(text):
            digits = re.sub(r"\D", "", run)
            keys |= {
                f"d:{digits[i : i + _MIN_PHONE_DIGITS]}" for i in range(len(digits) - _MIN_PHONE_DIGITS + 1)
            }
    return frozenset(keys)


def _id_in(identifier: str, folded_text: str) -> bool:
    # long ids (UUIDs) are distinctive enough to find inside text; short ones must match whole
    return identifier in folded_text if len(identifier) >= 8 else identifier == folded_text.strip()


def _phone_forms(value: str) -> set[str]:
    """Digit strings that, found in a field, mean this phone: E.164 digits, and the national forms."""
    digits = re.sub(r"\D", "", value)
    forms = {digits} if len(digits) >= _MIN_PHONE_DIGITS else set()
    try:
        number = phonenumbers.parse(value if value.startswith("+") else "+" + digits, None)
    except phonenumbers.NumberParseException:
        return forms
    national = re.sub(r"\D", "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    significant = phonenumbers.national_significant_number(number)
    forms.update(f for f in (national, significant) if len(f) >= _MIN_PHONE_DIGITS)
    return forms

"""How the sandbox decides that two written forms are the same identifier.

Analytics writes a caller as `tel:+14155550123`, a callback form as `+14155550123`, an e-mail header as
`Anna.Berg@Example.com`. GDPR requests and subject searches are matched on the normalised form, so
`+14155550123` finds `tel:+14155550123`. (Analytics *query predicates* do not normalise: see filters.py.)
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D")


def is_email(value: str) -> bool:
    return "@" in value and not value.lower().startswith(("sip:", "tel:"))


def normalize_phone(value: str) -> str:
    """`tel:+1 (415) 555-0123` / `sip:+14155550123@edge` -> `+14155550123`."""
    text = value.strip()
    lowered = text.lower()
    for prefix in ("tel:", "sip:", "sips:"):
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.split("@", 1)[0].split(";", 1)[0]
    digits = _NON_DIGITS.sub("", text)
    return "+" + digits if digits else ""


def normalize_email(value: str) -> str:
    text = value.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower()


def normalize_name(value: str) -> str:
    return " ".join(value.split()).casefold()


def normalize_value(value: str) -> str:
    """Normalise an e-mail or phone-like value; anything else (handles) is only trimmed and case-folded."""
    if is_email(value):
        return normalize_email(value)
    phone = normalize_phone(value)
    if phone and len(phone) >= 6 and not re.search(r"[A-Za-z]", value.split(":", 1)[-1].split("@")[0]):
        return phone
    return value.strip().casefold()


def tel_uri(e164: str) -> str:
    return f"tel:{e164}"

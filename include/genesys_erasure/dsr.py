"""A data-subject request (DSR) as the analyst's form gives it: ticket, date received, mode, and the
GDPR deadline derived from it; and the per-subject certificate issued for the ticket.

Art. 12(3) GDPR: the controller acts "within one month of receipt of the request". One month is counted
as the same day of the next month, or that month's last day when it has no such day (31 Jan -> 28/29 Feb).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from genesys_erasure.evidence import build_certificate
from genesys_erasure.ledger import LedgerRow

TICKET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{1,63}$"
_TICKET = re.compile(TICKET_PATTERN)
REPLACEMENT_MAX = 64
_REPLACEMENT = re.compile(r"[A-Za-z0-9 _.\-\[\]]{1,64}")


PSEUDONYMISATION_DISCLOSURE = {
    "topic": "Pseudonymisation (GDPR_UPDATE)",
    "text": (
        "E-mail addresses and phone numbers were replaced by the replacement text; recordings, "
        "transcripts and Genesys entity ids (external contact, user) were not deleted."
    ),
}


class DsrError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field '{field}': {reason}")
        self.field = field
        self.reason = reason


class ErasureMode(StrEnum):
    DELETE = "delete"
    PSEUDONYMISE = "pseudonymise"

    @property
    def request_type(self) -> str:
        return "GDPR_DELETE" if self is ErasureMode.DELETE else "GDPR_UPDATE"


def add_one_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DsrRequest:
    ticket: str
    received_on: date
    mode: ErasureMode = ErasureMode.DELETE
    replacement_text: str = "REDACTED"

    @property
    def due_date(self) -> date:
        return add_one_month(self.received_on)

    @property
    def request_type(self) -> str:
        return self.mode.request_type

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, today: date) -> DsrRequest:
        """Checks what the form's JSON schema checks too (a run triggered through the API or CLI may
        bypass the form), plus what a schema cannot: a receipt date in the future."""
        ticket = params.get("ticket")
        if not isinstance(ticket, str) or not _TICKET.fullmatch(ticket.strip()):
            raise DsrError("ticket", "required; 2-64 letters, digits or . _ : / # - (e.g. DSR-2026-0042)")
        received = params.get("received_on")
        try:
            received_on = date.fromisoformat(received) if isinstance(received, str) else None
        except ValueError:
            received_on = None
        if received_on is None:
            raise DsrError("received_on", "required; a date such as 2026-03-01")
        if received_on > today:
            raise DsrError("received_on", "is in the future")
        try:
            mode = ErasureMode(params.get("mode") or ErasureMode.DELETE.value)
        except ValueError:
            raise DsrError("mode", "must be 'delete' or 'pseudonymise'") from None
        replacement = params.get("replacement_text") or "REDACTED"
        if not isinstance(replacement, str) or not _REPLACEMENT.fullmatch(replacement):
            raise DsrError("replacement_text", f"1-{REPLACEMENT_MAX} letters, digits, spaces or _ . - [ ]")
        return cls(ticket.strip(), received_on, mode, replacement)


def build_dsr_certificate(
    row: LedgerRow,
    request: DsrRequest,
    *,
    run_id: str,
    input_identifier_hashes: Sequence[Mapping[str, str]],
    systems_covered: Sequence[str],
    issued_at: datetime,
) -> dict[str, Any]:
    """The certificate of one verified subject for this ticket. A subject erased earlier (by the nightly
    purge or another request) gets a certificate that says so and points to that erasure, rather than a
    second request at Genesys."""
    certificate = build_certificate(row, systems_covered=systems_covered, issued_at=issued_at)
    earlier = row.run_id != run_id
    certificate.update(
        ticket=request.ticket,
        received_on=request.received_on.isoformat(),
        due_date=request.due_date.isoformat(),
        completed_within_deadline=(
            row.final_at.date() <= request.due_date if row.final_at is not None else None
        ),
        requested_mode=request.mode.value,
        issued_for_run_id=run_id,
        input_identifier_hashes=[dict(h) for h in input_identifier_hashes],
        erasure={
            "run_id": row.run_id,
            "source": row.source.value,
            "ticket": row.ticket,
            "erased_before_this_request": earlier,
        },
    )
    if request.mode is ErasureMode.PSEUDONYMISE and not earlier:
        certificate["residual_data_disclosure"] = [
            *certificate["residual_data_disclosure"],
            PSEUDONYMISATION_DISCLOSURE,
        ]
    return certificate


def check_mode_allows(kinds: Sequence[str], mode: ErasureMode) -> None:
    """Pseudonymisation replaces e-mail addresses and phone numbers (Genesys replacement terms); a
    subject known only by a user or external contact id has nothing to replace."""
    if mode is not ErasureMode.PSEUDONYMISE:
        return
    opaque = sum(kind in ("user_id", "external_contact_id") for kind in kinds)
    if opaque:
        raise DsrError(
            "mode",
            f"pseudonymise replaces e-mail addresses and phone numbers only; {opaque} user_id / "
            "external_contact_id row(s) given (use mode delete, or list their e-mails and phones)",
        )

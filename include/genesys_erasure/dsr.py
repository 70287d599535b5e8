"""A data-subject request (DSR) as the analyst's form gives it: ticket, date received, mode, and the
GDPR deadline derived from it; and the per-subject certificate issued for the ticket.

Art. 12(3) GDPR: the controller acts "within one month of receipt of the request". One month is counted
as the same day of the next month, or that month's last day when it has no such day (31 Jan -> 28/29 Feb).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from genesys_erasure.config import PurgeConfig
from genesys_erasure.subject_input import Subjects, SubjectsFile

if TYPE_CHECKING:
    # The DAG files build their forms from this module when they are parsed: the ledger and the evidence
    # (SQLAlchemy, cryptography) are only needed to issue a certificate.
    from genesys_erasure.ledger import LedgerRow

TICKET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#-]{1,63}$"
REPLACEMENT_MAX = 64
REPLACEMENT_PATTERN = r"^[A-Za-z0-9 _.\-\[\]]+$"


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


# ---- the request's fields: one declaration each, for the validator and the form -----------------------

_FUTURE = "future"


def _iso_date(value: Any) -> Any:
    """The form sends a date as text; only an ISO date (2026-03-01) is read, never a timestamp number."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise PydanticCustomError("date_type", "not a date")


def _not_in_the_future(value: date, info: ValidationInfo) -> date:
    # `today` comes from the caller (the run's clock); a schema cannot check this, so the form does not.
    today = (info.context or {}).get("today")
    if today is not None and value > today:
        raise PydanticCustomError(_FUTURE, "is in the future")
    return value


Ticket = Annotated[
    str,
    StringConstraints(strict=True, strip_whitespace=True, pattern=TICKET_PATTERN),
    Field(
        title="DSR ticket",
        description=(
            "The data-subject request's ticket reference, e.g. DSR-2026-0042: 2-64 letters, digits or "
            ". _ : / # -, starting with a letter or digit."
        ),
    ),
]
ReceivedOn = Annotated[
    date,
    BeforeValidator(_iso_date),
    AfterValidator(_not_in_the_future),
    Field(
        title="Request received on",
        description="The date the request was received; the GDPR deadline is one month later.",
    ),
]
Mode = Annotated[
    ErasureMode,
    Field(
        title="Mode",
        description="delete = GDPR_DELETE; pseudonymise = GDPR_UPDATE replacing e-mails and phones.",
    ),
]
ReplacementText = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=REPLACEMENT_MAX, pattern=REPLACEMENT_PATTERN),
    Field(
        title="Replacement text (pseudonymise)",
        description="What a pseudonymised e-mail or phone number is replaced with.",
    ),
]

# What each field's error says: one reason per field, never the value given.
_REASONS = {
    "ticket": "required; 2-64 letters, digits or . _ : / # - (e.g. DSR-2026-0042)",
    "received_on": "required; a date such as 2026-03-01",
    "mode": "must be 'delete' or 'pseudonymise'",
    "replacement_text": f"1-{REPLACEMENT_MAX} letters, digits, spaces or _ . - [ ]",
    "subjects_file": "a URI such as file:///data/dsr/DSR-2026-0042.csv (no spaces; .csv or .json)",
    "subjects": "a list of e-mails, phone numbers or {type, value} objects",
    "dry_run": "true or false",
    "skip_invalid_rows": "true or false",
}
# The intake page shows the same reasons beside its fields (`genesys_erasure.evidence_ui.intake`).
FIELD_REASONS = _REASONS
_MODEL_CONFIG = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class DsrRequest(BaseModel):
    """The request as validated from the form: ticket, receipt date, mode and replacement text."""

    model_config = _MODEL_CONFIG

    ticket: Ticket
    received_on: ReceivedOn
    mode: Mode = ErasureMode.DELETE
    replacement_text: ReplacementText = "REDACTED"

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
        try:
            return cls.model_validate(_given(params, cls.model_fields), context={"today": today})
        except ValidationError as error:
            raise _dsr_error(error) from None


class DsrForm(BaseModel):
    """Every field of the ad-hoc erasure's trigger form, in the form's order; the DAG's Params are
    generated from this model (`genesys_erasure.params`). The subject list itself is read and checked
    row by row by `genesys_erasure.subject_input`, the request by `DsrRequest.from_params`."""

    model_config = _MODEL_CONFIG

    ticket: Ticket
    received_on: ReceivedOn
    subjects_file: SubjectsFile = None
    subjects: Subjects = None
    mode: Mode = ErasureMode.DELETE
    replacement_text: ReplacementText = "REDACTED"
    # The run's `dry_run` overrides the purge setting of that name (`PurgeConfig.with_overrides`); on by
    # default here, so the first run of a request only plans.
    dry_run: bool = Field(
        True,
        strict=True,
        title=PurgeConfig.__pydantic_fields__["dry_run"].title,
        description=PurgeConfig.__pydantic_fields__["dry_run"].description,
    )
    skip_invalid_rows: bool = Field(
        False,
        strict=True,
        title="Skip invalid rows",
        description="Skip (and report) bad rows instead of stopping the run.",
    )


def _given(params: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The named fields the form filled in: null is left out, and so is an empty mode or replacement text
    (a form field left blank means the default)."""
    return {
        name: params[name]
        for name in names
        if params.get(name) is not None and (params[name] or name not in ("mode", "replacement_text"))
    }


def check_form(params: Mapping[str, Any]) -> None:
    """Every form field checked as the form's JSON schema checks it (a run triggered through the API may
    carry values no form saw), raising `DsrError` with the field and a fixed reason, never the value. The
    subject list's rows are checked later, row by row (`subject_input`)."""
    try:
        DsrForm.model_validate(_given(params, DsrForm.model_fields))
    except ValidationError as error:
        raise _dsr_error(error) from None


def _dsr_error(error: ValidationError) -> DsrError:
    """The first problem in the fields' order, by field name and a fixed reason (never the value)."""
    order = list(_REASONS)
    problems = [p for p in error.errors(include_url=False) if p["loc"]]
    if not problems:
        return DsrError("request", "invalid")
    first = min(problems, key=lambda p: order.index(p["loc"][0]) if p["loc"][0] in order else len(order))
    name = str(first["loc"][0])
    if first["type"] == _FUTURE:
        return DsrError(name, "is in the future")
    return DsrError(name, _REASONS.get(name, "invalid"))


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
    from genesys_erasure.evidence import build_certificate

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

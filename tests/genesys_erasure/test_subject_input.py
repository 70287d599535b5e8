"""The analyst's subject list: every row checked before anything is submitted; problems name the row,
the field and the reason, never the value."""

from __future__ import annotations

import io
import json

import pytest

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.subject_input import (
    InputLimits,
    RowProblem,
    SubjectInputError,
    missing_file,
    parse_file,
    parse_inline,
)

K = IdentifierKind


def _problems(call) -> tuple[RowProblem, ...]:
    with pytest.raises(SubjectInputError) as caught:
        call()
    return caught.value.problems


def test_inline_values_are_typed_by_detection():
    parsed = parse_inline(["Jane.Doe@Example.org", "+44 20 7946 0958"])
    assert parsed.identifiers == (
        Identifier(K.EMAIL, "jane.doe@example.org"),
        Identifier(K.PHONE, "+442079460958"),
    )


def test_inline_objects_carry_their_type():
    parsed = parse_inline(
        [{"type": "user_id", "value": "u-1"}, {"type": "external_contact_id", "value": "c-9"}]
    )
    assert parsed.identifiers == (Identifier(K.USER, "u-1"), Identifier(K.EXTERNAL_CONTACT, "c-9"))


def test_malformed_email_names_row_field_and_reason_not_the_value():
    with pytest.raises(SubjectInputError) as caught:
        parse_inline(["ok@example.org", {"type": "email", "value": "broken@@example"}])
    assert caught.value.problems == (RowProblem(2, "value", "invalid_email: invalid_syntax"),)
    assert "broken" not in str(caught.value)


def test_malformed_phone_is_refused_with_its_row():
    problems = _problems(lambda: parse_inline(["+44 12"]))
    assert problems == (RowProblem(1, "value", "invalid_phone: too_short"),)


def test_unknown_identifier_type_is_refused():
    problems = _problems(lambda: parse_inline([{"type": "passport", "value": "X1"}]))
    assert (
        problems[0].row == 1 and problems[0].field == "type" and problems[0].reason.startswith("unknown_type")
    )


def test_undetectable_value_without_type_asks_for_the_type():
    problems = _problems(lambda: parse_inline(["Jane Doe"]))
    assert problems[0].field == "type" and problems[0].reason.startswith("cannot_detect")


def test_empty_list_is_refused():
    assert _problems(lambda: parse_inline([])) == (RowProblem(None, "subjects", "empty_list"),)


def test_duplicates_are_merged_and_reported_by_row():
    parsed = parse_inline(["a@example.org", "A@Example.org", "+442079460958", "tel:+442079460958"])
    assert len(parsed.identifiers) == 2
    assert [(d.row, d.same_as_row) for d in parsed.duplicates] == [(2, 1), (4, 3)]
    assert parsed.summary()["duplicate_rows"] == [2, 4]


def test_every_bad_row_is_reported_at_once():
    problems = _problems(lambda: parse_inline(["bad@@x", "ok@example.org", "+1", ""]))
    assert [p.row for p in problems] == [1, 3, 4]


def test_skip_invalid_rows_keeps_good_rows_and_reports_bad_ones():
    parsed = parse_inline(["bad@@x", "ok@example.org", "+1"], skip_invalid_rows=True)
    assert parsed.identifiers == (Identifier(K.EMAIL, "ok@example.org"),)
    summary = parsed.summary()
    assert summary["invalid_rows_skipped"] == 2
    assert [s["row"] for s in summary["skipped"]] == [1, 3]


def test_skip_invalid_rows_still_fails_when_no_row_is_valid():
    problems = _problems(lambda: parse_inline(["bad@@x"], skip_invalid_rows=True))
    assert problems[-1] == RowProblem(None, "subjects", "no_valid_rows")


def test_phone_given_as_a_json_number_is_refused():
    problems = _problems(lambda: parse_inline([447700900123]))
    assert problems[0].field == "value" and problems[0].reason.startswith("not_a_string")


def test_unexpected_key_in_an_object_is_refused_without_echoing_data_like_keys():
    problems = _problems(lambda: parse_inline([{"value": "a@example.org", "jane@example.org": "x"}]))
    assert problems == (RowProblem(1, "<unrecognised field>", "unexpected_field (only type and value)"),)


def test_csv_file_rows_are_numbered_like_a_spreadsheet():
    data = b"type,value\nemail,ok@example.org\nemail,nope\n"
    problems = _problems(lambda: parse_file(data, name="subjects.csv"))
    assert problems == (RowProblem(3, "value", "invalid_email: missing_at_sign"),)


def test_csv_file_without_type_column_detects_types():
    parsed = parse_file(io.BytesIO(b"value\r\nok@example.org\r\n\r\n+442079460958\r\n"), name="s.CSV")
    assert [i.kind for i in parsed.identifiers] == [K.EMAIL, K.PHONE]


def test_csv_with_a_utf8_byte_order_mark_is_read():
    parsed = parse_file("type,value\nemail,zoë@example.org\n".encode("utf-8-sig"), name="s.csv")
    assert parsed.identifiers[0].value == "zoë@example.org"


def test_csv_without_value_column_is_refused():
    problems = _problems(lambda: parse_file(b"kind,address\nemail,a@example.org\n", name="s.csv"))
    assert RowProblem(1, "value", "missing_column") in problems


def test_csv_with_an_extra_column_is_refused():
    problems = _problems(lambda: parse_file(b"type,value,name\nemail,a@example.org,Jane\n", name="s.csv"))
    assert problems[0].field == "name" and problems[0].reason.startswith("unexpected_column")


def test_csv_row_with_too_many_fields_is_refused():
    problems = _problems(lambda: parse_file(b"type,value\nemail,a@example.org,extra\n", name="s.csv"))
    assert problems == (RowProblem(2, "row", "too_many_fields"),)


def test_json_file_is_read_like_the_inline_list():
    data = json.dumps([{"type": "phone", "value": "+442079460958"}, "a@example.org"]).encode()
    parsed = parse_file(data, name="file:///tmp/dsr/subjects.json")
    assert [i.kind for i in parsed.identifiers] == [K.PHONE, K.EMAIL]


def test_json_file_that_is_not_a_list_is_refused():
    assert _problems(lambda: parse_file(b'{"value": "a@example.org"}', name="s.json")) == (
        RowProblem(None, "subjects_file", "not_a_json_list"),
    )


def test_invalid_json_names_the_line_without_quoting_it():
    with pytest.raises(SubjectInputError) as caught:
        parse_file(b'[\n"secret@example.org",\n"oops\n]', name="s.json")
    assert caught.value.problems[0].reason == "invalid_json"
    assert "secret" not in str(caught.value)


def test_file_that_is_not_csv_json_or_xlsx_is_refused():
    problems = _problems(lambda: parse_file(b"whatever", name="subjects.txt"))
    assert problems[0].field == "subjects_file" and problems[0].reason.startswith("not_csv_json_or_xlsx")


def test_file_over_the_size_limit_is_refused_without_reading_it_all():
    source = io.BytesIO(b"value\n" + b"a@example.org\n" * 100)
    problems = _problems(lambda: parse_file(source, name="s.csv", limits=InputLimits(max_bytes=64)))
    assert problems[0].reason.startswith("too_large")
    assert source.tell() == 65


def test_file_with_too_many_rows_is_refused():
    data = b"value\n" + b"".join(f"u{n}@example.org\n".encode() for n in range(5))
    problems = _problems(lambda: parse_file(data, name="s.csv", limits=InputLimits(max_rows=4)))
    assert problems[0].reason.startswith("too_many_rows")


def test_wrongly_encoded_file_names_the_line():
    data = "value\na@example.org\nzoë@example.org\n".encode("latin-1")
    problems = _problems(lambda: parse_file(data, name="s.csv"))
    assert problems == (RowProblem(3, "subjects_file", "not_utf8 (save the file as UTF-8)"),)


def test_empty_file_is_refused():
    assert _problems(lambda: parse_file(b"", name="s.csv"))[0].reason == "empty_list"


def test_header_only_csv_is_an_empty_list():
    assert _problems(lambda: parse_file(b"type,value\n", name="s.csv"))[0].reason == "empty_list"


def test_missing_file_error_names_the_field():
    assert missing_file().problems == (RowProblem(None, "subjects_file", "not_found"),)


def test_national_phone_number_uses_the_default_region():
    parsed = parse_inline(["020 7946 0958"], default_region="GB")
    assert parsed.identifiers == (Identifier(K.PHONE, "+442079460958"),)

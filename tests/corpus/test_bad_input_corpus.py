"""The bad-input corpus: every malformed subject list, trigger Param, purge config and warehouse mapping in
`subject_files.yaml` and `settings.yaml` is rejected (or normalised, where that is documented) with a
message naming where and why, never the value. A new case is one line in a YAML file."""

from __future__ import annotations

import codecs
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesys_erasure.config import ConfigError, PurgeConfig
from genesys_erasure.dsr import DsrError, DsrRequest, check_form
from genesys_erasure.steps.runtime import load_run_config
from genesys_erasure.subject_input import SubjectInputError, parse_file, parse_inline
from genesys_erasure.warehouse.mapping import MappingError, WarehouseMapping

HERE = Path(__file__).parent
TODAY = date(2026, 12, 7)


def _cases(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


def _ids(cases):
    return [case["id"] for case in cases]


SUBJECT_CASES = _cases("subject_files.yaml")
SETTINGS_CASES = _cases("settings.yaml")


def test_the_corpus_holds_at_least_sixty_distinct_cases():
    ids = _ids(SUBJECT_CASES) + _ids(SETTINGS_CASES)
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


# ---- subject lists ---------------------------------------------------------------------------------------


def _text(case: dict[str, Any]) -> str:
    # YAML has decoded the escapes already (double-quoted scalars); `repeat` grows the body
    text = case["content"].replace("LONG", "a" * case.get("long", 0)) if "long" in case else case["content"]
    if case.get("repeat"):
        head, _, body = text.partition("\n")
        text = head + "\n" + body * case["repeat"]
    return text


def _secrets(case: dict[str, Any], text: str) -> list[str]:
    if "secret" in case:
        return [str(case["secret"])]
    cells = [cell.strip() for line in text.splitlines()[1:] for cell in line.split(",")]
    return [cell for cell in cells if len(cell) >= 6][:50]


def _parse(case: dict[str, Any], text: str):
    if case["target"] == "inline":
        try:
            entries = json.loads(text)
        except json.JSONDecodeError:
            entries = text
        return parse_inline(entries)
    data = codecs.encode(text, case.get("encoding", "utf-8"))
    return parse_file(data, name=case["name"])


@pytest.mark.parametrize("case", SUBJECT_CASES, ids=_ids(SUBJECT_CASES))
def test_subject_list_case(case):
    text = _text(case)
    verb, _, rest = case["expect"].partition(" ")
    if verb == "accept":
        parsed = _parse(case, text)
        assert len(parsed.identifiers) == int(rest), "distinct identifiers after normalisation"
        return
    with pytest.raises(SubjectInputError) as caught:
        _parse(case, text)
    message = str(caught.value)
    where, field, reason = _expected_problem(rest)
    problem = caught.value.problems[0]
    assert (problem.row, problem.field) == (where, field), message
    assert problem.reason.startswith(reason), message
    for secret in _secrets(case, text):
        assert secret not in message, f"the error repeats a value of the input: {message[:200]}"


def _expected_problem(rest: str) -> tuple[int | None, str, str]:
    """ "row 2 value invalid_email" or "input subjects_file too_large" -> (row, field, reason prefix)."""
    if rest.startswith("row "):
        _, number, rest = rest.split(" ", 2)
        row: int | None = int(number)
    else:
        row, rest = None, rest.removeprefix("input ")
    if rest.startswith("<unrecognised field>"):
        return row, "<unrecognised field>", rest.removeprefix("<unrecognised field> ")
    field, _, reason = rest.partition(" ")
    return row, field, reason


# ---- trigger Params, purge config, warehouse mapping ---------------------------------------------------

PARAMS_BASE = {"ticket": "DSR-2026-0042", "received_on": "2026-12-01", "subjects_file": "file:///d/DSR-1.csv"}
MAPPING_BASE = {
    "version": 1,
    "connections": [
        {
            "name": "events",
            "type": "snowflake",
            "airflow_conn_id": "genesys_snowflake",
            "database": "ANALYTICS",
            "schema": "GENESYS",
            "tables": [
                {
                    "name": "EVENTS",
                    "action": "delete",
                    "columns": [{"name": "EMAIL", "identifier": "email", "form": "raw"}],
                }
            ],
        }
    ],
}


def _mapping_with(change: dict[str, Any]) -> dict[str, Any]:
    mapping = json.loads(json.dumps(MAPPING_BASE))
    connection = mapping["connections"][0]
    table = connection["tables"][0]
    column = table["columns"][0]
    for key, value in change.items():
        if key == "table":
            table["name"] = value
        elif key == "column":
            column["name"] = value
        elif key == "identifier":
            column["identifier"] = value
        elif key == "action":
            table["action"] = value
        elif key == "type":
            connection["type"] = value
    return mapping


def _reject_settings(case: dict[str, Any]) -> str:
    target, change = case["target"], case["input"]
    if target == "params":
        params = {**PARAMS_BASE, **change}
        with pytest.raises(DsrError) as caught:  # as validate_subject_request checks them
            DsrRequest.from_params(params, today=TODAY)
            check_form(params)
        return str(caught.value)
    if target == "config":
        with pytest.raises(ConfigError) as caught:
            PurgeConfig.from_dict(change)
        return str(caught.value)
    if target == "nightly":
        with pytest.raises(ConfigError) as caught:  # as validate_settings reads the run's Params
            load_run_config(change)
        return str(caught.value)
    with pytest.raises(MappingError) as caught:
        WarehouseMapping.from_dict(_mapping_with(change), source="mapping.yaml")
    return str(caught.value)


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=_ids(SETTINGS_CASES))
def test_settings_case(case):
    message = _reject_settings(case)
    field = case["expect"].split(" ", 2)[1]
    if case["target"] == "mapping":
        assert "mapping.yaml" in message, message
        named = {
            "table": "table",
            "column": "column",
            "identifier": "column",
            "action": "table",
            "type": "connection",
        }
        assert named[field] in message, message
    else:
        assert f"'{field}'" in message or f"'{field}[" in message, message
    if "secret" in case:
        assert str(case["secret"]) not in message, f"the error repeats the value: {message}"

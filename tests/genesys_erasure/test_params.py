"""The DAGs' trigger-form Params are generated from the models that validate the same values: the form and
the validator accept and refuse the same examples, and every form field explains itself."""

from __future__ import annotations

from datetime import date

import pytest
from airflow.sdk import Param
from airflow.sdk.exceptions import ParamValidationError
from pydantic import ValidationError

from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig
from genesys_erasure.dsr import DsrError, DsrForm, DsrRequest
from genesys_erasure.params import (
    RETENTION_PURGE_FORM,
    param_specs,
    retention_purge_params,
    subject_erasure_params,
)

TODAY = date(2026, 11, 26)
REQUEST = {"ticket": "DSR-2026-0042", "received_on": "2026-11-01"}


def _form_accepts(specs, name, value) -> bool:
    try:
        Param(**specs[name]).resolve(value)
    except ParamValidationError:
        return False
    return True


def _dsr_accepts(name, value) -> bool:
    try:
        DsrForm.model_validate({**REQUEST, name: value})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("specs", [retention_purge_params(), subject_erasure_params()], ids=["purge", "dsr"])
def test_every_form_field_has_a_title_and_a_description(specs):
    for name, spec in specs.items():
        assert spec["title"] and spec["description"], name
        Param(**spec)  # a valid Param: JSON-serialisable default, schema keywords only


def test_nightly_form_offers_the_overridable_settings_each_nullable():
    specs = retention_purge_params()
    assert tuple(specs) == RETENTION_PURGE_FORM
    assert set(specs) <= OVERRIDABLE_FIELDS
    for name, spec in specs.items():
        assert spec["default"] is None and spec["type"][0] == "null", name
        assert _form_accepts(specs, name, None)
    assert specs["retention_days"]["minimum"] == 1
    assert specs["max_subjects_per_run"]["minimum"] == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("retention_days", 1826),
        ("retention_days", 0),
        ("retention_days", "1826"),
        ("retention_days", True),
        ("max_subjects_per_run", 10),
        ("max_subjects_per_run", 0),
        ("max_subjects_per_run", 2.5),
        ("dry_run", True),
        ("dry_run", "yes"),
        ("backfill", 1),
    ],
)
def test_nightly_form_and_config_accept_and_refuse_the_same_values(name, value):
    specs = retention_purge_params()
    try:
        PurgeConfig.from_dict({name: value, "allow_retention_below_minimum": True})
        model_accepts = True
    except ConfigError as error:
        assert error.field == name
        model_accepts = False
    assert _form_accepts(specs, name, value) is model_accepts


def test_retention_below_the_floor_passes_the_form_and_is_refused_at_validation_by_name():
    assert _form_accepts(retention_purge_params(), "retention_days", 30)
    with pytest.raises(ConfigError) as caught:
        PurgeConfig().with_overrides({"retention_days": 30})
    assert caught.value.field == "retention_days"
    assert "below the floor of 365 days" in caught.value.reason


def test_subject_form_offers_no_inline_subjects_field_unless_the_config_allows_it():
    assert "subjects" not in subject_erasure_params()
    assert "intake page" in subject_erasure_params()["subjects_file"]["description"]
    assert "subjects" in subject_erasure_params(allow_inline=True)


def test_inline_subjects_are_allowed_only_by_the_config_file(tmp_path, monkeypatch):
    from genesys_erasure.params import inline_subjects_allowed

    config = tmp_path / "purge.yaml"
    monkeypatch.setenv("GENESYS_ERASURE_CONFIG", str(config))
    config.write_text("retention_days: 1826\n", encoding="utf-8")
    assert inline_subjects_allowed() is False
    config.write_text("allow_inline_subjects: true\n", encoding="utf-8")
    assert inline_subjects_allowed() is True
    config.write_text("allow_inline_subjects: maybe\n", encoding="utf-8")
    assert inline_subjects_allowed() is False  # unreadable: off (the run names the config error)
    with pytest.raises(ConfigError, match="allow_inline_subjects"):
        PurgeConfig().with_overrides({"allow_inline_subjects": True})


def test_subject_form_lists_the_request_fields_in_order_and_requires_ticket_and_date():
    specs = subject_erasure_params(allow_inline=True)
    assert list(specs) == [
        "ticket",
        "received_on",
        "subjects_file",
        "subjects",
        "mode",
        "replacement_text",
        "dry_run",
        "skip_invalid_rows",
    ]
    assert "default" not in specs["ticket"] and "default" not in specs["received_on"]
    assert specs["dry_run"]["default"] is True and specs["mode"]["default"] == "delete"
    assert specs["received_on"]["format"] == "date"
    assert "$ref" not in str(specs) and "anyOf" not in str(
        {k: v for k, v in specs.items() if k != "subjects"}
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ticket", "DSR-2026-0042"),
        ("ticket", "X"),
        ("ticket", "-DSR-1"),
        ("ticket", "DSR 42"),
        ("ticket", "A" * 65),
        ("received_on", "2026-11-01"),
        ("received_on", "1 Nov"),
        ("received_on", 20261101),
        ("mode", "pseudonymise"),
        ("mode", "erase"),
        ("replacement_text", "[ERASED]"),
        ("replacement_text", "<b>x</b>"),
        ("replacement_text", "x" * 65),
        ("replacement_text", ""),
        ("subjects_file", "file:///data/dsr/DSR-2026-0042.csv"),
        ("subjects_file", "s3://bucket/list.JSON"),
        ("subjects_file", "/data/dsr/list.csv"),
        ("subjects_file", "file:///data/dsr/list.xlsx"),
        ("subjects", ["jane.doe@example.com", {"type": "phone", "value": "+447700900123"}]),
        ("subjects", [{"value": "jane.doe@example.com"}]),
        ("subjects", [""]),
        ("subjects", [{"type": "fax", "value": "+447700900123"}]),
        ("subjects", [{"type": "email", "value": "a@example.com", "name": "Jane"}]),
        ("subjects", [{"type": "email"}]),
        ("subjects", [7700900123]),
        ("subjects", "jane.doe@example.com"),
        ("subjects", ["x@example.com"] * 10_001),
        ("dry_run", False),
        ("dry_run", "false"),
        ("skip_invalid_rows", True),
        ("skip_invalid_rows", 0),
    ],
)
def test_subject_form_and_model_accept_and_refuse_the_same_values(name, value):
    specs = subject_erasure_params(allow_inline=True)
    assert _form_accepts(specs, name, value) is _dsr_accepts(name, value)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ticket": "-bad"}, "ticket"),
        ({"received_on": "2026-13-01"}, "received_on"),
        ({"mode": "erase"}, "mode"),
        ({"replacement_text": "<b>x</b>"}, "replacement_text"),
    ],
)
def test_a_value_the_form_refuses_is_refused_by_the_request_too_by_field_name(params, field):
    specs = subject_erasure_params()
    ((name, value),) = params.items()
    assert not _form_accepts(specs, name, value)
    with pytest.raises(DsrError) as caught:
        DsrRequest.from_params({**REQUEST, **params}, today=TODAY)
    assert caught.value.field == field
    assert str(value) not in str(caught.value)


def test_a_field_without_a_description_cannot_become_a_form_field():
    schema = {"type": "object", "properties": {"x": {"type": "integer", "title": "X"}}}
    with pytest.raises(ValueError, match="'x' needs a title and a description"):
        param_specs(schema, ["x"])

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
    FORM_CHOICES,
    RETENTION_PURGE_FORM,
    choice_overrides,
    param_specs,
    retention_purge_params,
    subject_erasure_params,
)
from genesys_erasure.steps.runtime import load_run_config

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


def _form_key(setting: str) -> str:
    return next((key for key, choice in FORM_CHOICES.items() if choice.setting == setting), setting)


def test_nightly_form_offers_the_overridable_settings_each_nullable():
    specs = retention_purge_params()
    assert tuple(specs) == tuple(_form_key(name) for name in RETENTION_PURGE_FORM)
    assert {choice.setting for choice in FORM_CHOICES.values()} | (set(specs) - set(FORM_CHOICES)) <= (
        OVERRIDABLE_FIELDS
    )
    for name, spec in specs.items():
        assert spec["default"] is None and spec["type"][0] == "null", name
        assert _form_accepts(specs, name, None)
    assert specs["retention_days"]["minimum"] == 1
    assert specs["max_subjects_per_run"]["minimum"] == 1


def test_nightly_on_off_settings_are_dropdowns_whose_empty_choice_says_use_the_configuration():
    specs = retention_purge_params()
    for key in ("run_mode", "scan"):
        # a string type with an enum is what Airflow's form renders as a dropdown (a boolean: a switch)
        assert specs[key]["type"] == ["null", "string"] and None in specs[key]["enum"], key
        assert specs[key]["values_display"]["null"] == "As in the configuration file"
        assert all(isinstance(option, str) for option in specs[key]["enum"] if option is not None)


@pytest.mark.parametrize(
    ("params", "dry_run", "backfill"),
    [
        ({}, False, False),
        ({"run_mode": "dry run"}, True, False),
        ({"run_mode": "real run", "scan": "backfill"}, False, True),
        ({"dry_run": True, "run_mode": None}, True, False),  # the API's key, the form left empty
        ({"dry_run": True, "run_mode": "dry run"}, True, False),
    ],
)
def test_nightly_form_choices_set_the_settings_they_name(params, dry_run, backfill):
    config = load_run_config(params)
    assert (config.dry_run, config.backfill) == (dry_run, backfill)


def test_a_form_choice_disagreeing_with_its_setting_is_refused_naming_the_choice():
    with pytest.raises(ConfigError) as caught:
        choice_overrides({"run_mode": "real run", "dry_run": True})
    assert caught.value.field == "run_mode" and "dry_run" in caught.value.reason


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


@pytest.mark.parametrize("value", ["dry run", "real run", None, "yes", True, 1])
def test_nightly_run_mode_form_and_run_accept_and_refuse_the_same_values(value):
    try:
        choice_overrides({"run_mode": value})
        run_accepts = True
    except ConfigError as error:
        assert error.field == "run_mode"
        run_accepts = False
    assert _form_accepts(retention_purge_params(), "run_mode", value) is run_accepts


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

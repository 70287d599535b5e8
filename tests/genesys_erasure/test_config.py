from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig, load_config
from genesys_erasure.identifiers import Identifier, IdentifierKind

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_example_config_file_is_valid():
    config = load_config(REPO_ROOT / "config" / "purge.example.yaml")
    assert config.retention_days == 1826
    assert config.own_numbers == ("+442079460000", "+447700900999")


def test_empty_config_gives_the_defaults():
    assert PurgeConfig.from_dict({}) == PurgeConfig()


def test_config_error_names_the_field_and_reason():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"max_subjects_per_run": "lots"})
    assert (caught.value.field, caught.value.reason) == (
        "max_subjects_per_run",
        "expected an integer, got str",
    )
    assert str(caught.value) == "config field 'max_subjects_per_run': expected an integer, got str"


def test_unknown_key_suggests_the_closest_setting():
    with pytest.raises(
        ConfigError, match=r"'retension_days': unknown setting; did you mean 'retention_days'\?"
    ):
        PurgeConfig.from_dict({"retension_days": 1826})


def test_value_out_of_range_reports_the_bounds():
    with pytest.raises(ConfigError, match=r"'resolution_depth': must be between 0 and 5, got 9"):
        PurgeConfig.from_dict({"resolution_depth": 9})


def test_boolean_is_not_accepted_as_a_number():
    with pytest.raises(ConfigError, match="max_purge_fraction"):
        PurgeConfig.from_dict({"max_purge_fraction": True})


def test_purge_fraction_above_one_is_refused():
    with pytest.raises(ConfigError, match="max_purge_fraction"):
        PurgeConfig.from_dict({"max_purge_fraction": 1.5})


def test_retention_below_the_floor_is_refused_at_load():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"retention_days": 18})
    assert caught.value.field == "retention_days"
    assert "18 days" in caught.value.reason and "365 days" in caught.value.reason


def test_retention_below_the_floor_loads_with_the_explicit_override():
    config = PurgeConfig.from_dict({"retention_days": 90, "allow_retention_below_minimum": True})
    assert config.retention_days == 90


def test_invalid_exclusion_reports_index_not_value():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"exclusions": ["+44 7700 900123", "jane.doe@example.com", "+44 7700 9"]})
    assert caught.value.field == "exclusions[2]"
    assert caught.value.reason == "invalid phone: too_short"
    assert "7700" not in str(caught.value)


def test_invalid_own_address_reports_index_not_value():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"own_addresses": ["billing@acme-energy"]})
    assert str(caught.value) == "config field 'own_addresses[0]': invalid email: invalid_syntax"


def test_own_numbers_and_exclusions_are_normalised_with_the_default_region():
    config = PurgeConfig.from_dict(
        {
            "default_phone_region": "gb",
            "own_numbers": ["020 7946 0000"],
            "exclusions": ["07700 900123", "A@Example.com"],
        }
    )
    assert config.own_numbers == ("+442079460000",)
    assert config.exclusions == (
        Identifier(IdentifierKind.PHONE, "+447700900123"),
        Identifier(IdentifierKind.EMAIL, "a@example.com"),
    )


def test_unknown_phone_region_is_refused():
    with pytest.raises(ConfigError, match="default_phone_region"):
        PurgeConfig.from_dict({"default_phone_region": "UK"})


def test_list_given_as_a_single_string_is_refused():
    with pytest.raises(ConfigError, match=r"'exclusions': expected a list, got str"):
        PurgeConfig.from_dict({"exclusions": "+447700900123"})


def test_own_identifiers_combine_numbers_and_addresses():
    config = PurgeConfig.from_dict({"own_numbers": ["+442079460000"], "own_addresses": ["help@acme.example"]})
    assert {i.kind for i in config.own_identifiers} == {IdentifierKind.PHONE, IdentifierKind.EMAIL}


def test_per_run_override_is_applied_and_validated():
    base = PurgeConfig.from_dict({"exclusions": ["+447700900123"], "own_numbers": ["+442079460000"]})
    run = base.with_overrides({"dry_run": True, "max_subjects_per_run": 10})
    assert (run.dry_run, run.max_subjects_per_run) == (True, 10)
    assert (run.exclusions, run.own_numbers) == (base.exclusions, base.own_numbers)
    with pytest.raises(ConfigError, match="max_subjects_per_run"):
        base.with_overrides({"max_subjects_per_run": 0})


def test_per_run_override_cannot_bypass_the_retention_floor():
    with pytest.raises(ConfigError, match="retention_days"):
        PurgeConfig().with_overrides({"retention_days": 7})


def test_ledger_and_key_settings_cannot_be_overridden_per_run():
    with pytest.raises(ConfigError, match=r"'ledger_path': cannot be overridden per run"):
        PurgeConfig().with_overrides({"ledger_path": "/tmp/other.sqlite"})


def test_null_param_leaves_the_setting_unchanged():
    base = PurgeConfig.from_dict({"approval_threshold": 50})
    assert base.with_overrides({"approval_threshold": None, "dry_run": None}) == base


def test_invalid_yaml_reports_the_position_without_the_content(tmp_path):
    path = tmp_path / "purge.yaml"
    path.write_text('retention_days: 1826\nexclusions: ["+447700900123"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "line" in str(caught.value) and "7700" not in str(caught.value)


def test_value_at_the_wrong_level_is_not_echoed():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"+447700900123": None})
    assert "7700" not in str(caught.value)


def test_retention_cutoff_is_retention_days_before_now():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert PurgeConfig(retention_days=365).retention_cutoff(now) == datetime(2025, 1, 1, tzinfo=UTC)


def test_every_setting_is_described_and_overridability_is_explicit():
    names = {f.name for f in dataclasses.fields(PurgeConfig)}
    schema = PurgeConfig.json_schema()
    assert set(schema["properties"]) == names and schema["additionalProperties"] is False
    for name, field in PurgeConfig.__pydantic_fields__.items():
        assert field.title and field.description, name
    assert "dry_run" in OVERRIDABLE_FIELDS and "minimum_retention_days" not in OVERRIDABLE_FIELDS
    assert names > OVERRIDABLE_FIELDS


def test_accepting_a_role_covering_only_some_divisions_is_a_config_file_setting_not_a_run_parameter():
    assert PurgeConfig().allow_partial_divisions is False
    assert "allow_partial_divisions" not in OVERRIDABLE_FIELDS


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PurgeConfig().retention_days = 7  # type: ignore[misc]


def test_null_is_named_when_a_setting_may_be_null():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"approval_threshold": "many"})
    assert str(caught.value) == "config field 'approval_threshold': expected an integer or null, got str"


def test_invalid_own_number_reports_index_not_value():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"own_numbers": ["+442079460000", 7700900123]})
    assert str(caught.value) == "config field 'own_numbers[1]': expected a string, got int"


def test_scalar_problems_are_reported_before_list_problems():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"exclusions": "+447700900123", "wait_deadline_days": 91})
    assert str(caught.value) == "config field 'wait_deadline_days': must be between 1 and 90, got 91"


def test_blank_text_setting_is_refused():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"report_dir": "   "})
    assert str(caught.value) == "config field 'report_dir': expected a non-empty string"


def test_fraction_bounds_are_reported():
    with pytest.raises(ConfigError) as caught:
        PurgeConfig.from_dict({"max_purge_fraction": 0})
    assert (
        str(caught.value) == "config field 'max_purge_fraction': must be greater than 0 and at most 1, got 0"
    )


def test_config_repr_does_not_show_exclusions():
    config = PurgeConfig.from_dict({"exclusions": ["+447700900123"]})
    assert "7700" not in repr(config)

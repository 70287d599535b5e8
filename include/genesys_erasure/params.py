"""The DAGs' trigger-form Params, generated from the pydantic models that validate the same values.

Each form field is a plain dict of `airflow.sdk.Param` keyword arguments (default, title, description and
the JSON-schema rules: type, minimum/maximum, pattern, enum, ...), taken from the model's JSON schema, so
the form and the validator cannot drift apart. This module does not import Airflow: the DAG file wraps
each dict into a `Param`.

- `retention_purge_params()`: the nightly purge's per-run overrides of `PurgeConfig`; every one may be
  left empty (null), which means "use the configuration file". Its on/off settings are offered as
  three-way choices under their own keys (`FORM_CHOICES`), which `choice_overrides` turns back into the
  settings when the run reads its Params.
- `as_of_param()`: the nightly purge's `as_of`, the instant a manual run is "as of" (not a setting).
- `subject_erasure_params()`: the ad-hoc data-subject request form (`DsrForm`), without the inline
  `subjects` field unless the config's `allow_inline_subjects` is on (`inline_subjects_allowed()`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig, load_config
from genesys_erasure.dsr import DsrForm

# The settings an operator may sensibly change for one nightly run from the trigger form.
RETENTION_PURGE_FORM = ("dry_run", "backfill", "retention_days", "max_subjects_per_run")
USE_THE_CONFIG = "Empty: the value in the configuration file."


@dataclass(frozen=True)
class FormChoice:
    """An on/off setting offered in the trigger form as a three-way choice: empty (the configuration
    file), or one of two named options. Airflow's form shows a boolean Param as a switch, which cannot show
    "empty" (it reads "off"), and shows a chosen `true`/`false` in a dropdown as blank; named options in a
    dropdown show what was chosen. The setting's own key (`dry_run: true` in a REST call's conf) still
    works; a run given both, disagreeing, is refused naming both."""

    setting: str
    title: str
    description: str
    on: tuple[str, str]  # (option, what it does)
    off: tuple[str, str]

    def spec(self) -> dict[str, Any]:
        return {
            "default": None,
            "type": ["null", "string"],
            "enum": [None, self.on[0], self.off[0]],
            "values_display": {
                "null": "As in the configuration file",
                self.on[0]: self.on[1],
                self.off[0]: self.off[1],
            },
            "title": self.title,
            "description": (
                f"{self.description} Empty: the configuration file's {self.setting}. "
                f"(An API call may pass {self.setting}: true or false instead.)"
            ),
        }

    def value(self, option: str) -> bool:
        return option == self.on[0]


# form key -> the on/off setting it chooses
FORM_CHOICES = {
    "run_mode": FormChoice(
        "dry_run",
        "Dry run or real run",
        "Whether this run only plans and reports, or submits GDPR requests.",
        on=("dry run", "Dry run: plan and report, submit nothing"),
        off=("real run", "Real run: submit GDPR requests (after any approval)"),
    ),
    "scan": FormChoice(
        "backfill",
        "Incremental scan or backfill",
        "Whether this run reads only what is new since the last run, or all history before the cutoff.",
        on=("backfill", "Backfill: scan all history and rebuild the last-contact index"),
        off=("incremental", "Incremental: continue from the last run"),
    ),
}
_CHOICE_OF_SETTING = {choice.setting: key for key, choice in FORM_CHOICES.items()}


def choice_overrides(params: Mapping[str, Any]) -> dict[str, Any]:
    """The run's Params with each form choice turned into its setting (`run_mode: "dry run"` ->
    `dry_run: true`). Raises ConfigError naming both keys when a choice and its setting disagree."""
    result = {key: value for key, value in params.items() if key not in FORM_CHOICES}
    for key, choice in FORM_CHOICES.items():
        option = params.get(key)
        if option is None:
            continue
        if option not in (choice.on[0], choice.off[0]):
            raise ConfigError(key, f"must be empty, '{choice.on[0]}' or '{choice.off[0]}'")
        chosen = choice.value(option)
        given = result.get(choice.setting)
        if given is not None and given != chosen:
            raise ConfigError(key, f"disagrees with {choice.setting}; give one of the two")
        result[choice.setting] = chosen
    return result


DEFAULT_CONFIG = "config/purge.yaml"  # under the erasure home, as `steps.runtime.DEFAULT_CONFIG`


def retention_purge_params() -> dict[str, dict[str, Any]]:
    """Nullable overrides of the nightly purge's settings (`PurgeConfig.with_overrides` ignores a null).
    Rules the schema cannot express, such as the retention floor, are enforced when the run validates
    its settings, naming the setting."""
    missing = set(RETENTION_PURGE_FORM) - OVERRIDABLE_FIELDS
    if missing:
        raise ValueError(f"not overridable per run: {sorted(missing)}")
    specs = {}
    for name, spec in param_specs(PurgeConfig.json_schema(), RETENTION_PURGE_FORM).items():
        if name in _CHOICE_OF_SETTING:
            key = _CHOICE_OF_SETTING[name]
            specs[key] = FORM_CHOICES[key].spec()
            continue
        spec["default"] = None
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        spec["type"] = ["null", *(t for t in types if t != "null")]
        spec["description"] = f"{spec['description']} {USE_THE_CONFIG}"
        specs[name] = spec
    return specs


def as_of_param() -> dict[str, Any]:
    """The instant a manual run is "as of": its `now` and, through the retention, its cutoff. Not a
    setting of `PurgeConfig`: the run's clock is fixed in the ledger by `validate_settings`, which refuses
    a future one and a past one unless dry run or `allow_past_as_of_erasure`."""
    return {
        "default": None,
        "type": ["null", "string"],
        "title": "As of",
        "description": (
            "ISO-8601 instant with a UTC offset (e.g. 2026-03-01T02:00:00+00:00) the run is as of: its "
            "retention cutoff is this instant minus the retention. A past instant only for a dry run, "
            "unless the configuration sets allow_past_as_of_erasure. Empty: a scheduled run's data "
            "interval end, a manual run's trigger time."
        ),
    }


def subject_erasure_params(*, allow_inline: bool = False) -> dict[str, dict[str, Any]]:
    """The data-subject request form, every field of `DsrForm` in its declared order; the inline
    `subjects` field only with `allow_inline` (its values would be kept in the run's conf and audit log)."""
    schema = DsrForm.model_json_schema()
    specs = param_specs(schema, [n for n in schema["properties"] if allow_inline or n != "subjects"])
    if not allow_inline:
        specs["subjects_file"]["description"] = specs["subjects_file"]["description"].replace(
            "Empty: the subjects are typed inline below.", SEALED_LISTS
        )
    return specs


SEALED_LISTS = (
    "Lists submitted on the intake page (Browse, Erasure request intake) arrive here sealed. Empty: "
    "refused, as inline subjects are switched off (allow_inline_subjects)."
)


def inline_subjects_allowed() -> bool:
    """`allow_inline_subjects` of the purge config, read when the DAG file is parsed (the form offers the
    field only when it is on). The file is found as `genesys_erasure.steps.runtime.config_path` finds it,
    repeated here because that module is too heavy to import at parse time; an unreadable config counts
    as off (the run then reports the config error itself)."""
    raw = os.environ.get("GENESYS_ERASURE_CONFIG")
    path = Path(raw) if raw else Path(os.environ.get("GENESYS_ERASURE_HOME") or os.getcwd()) / DEFAULT_CONFIG
    try:
        return path.is_file() and load_config(path).allow_inline_subjects
    except (ConfigError, OSError):
        return False


def param_specs(schema: Mapping[str, Any], names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`Param` keyword arguments for the named properties of an object's JSON schema. A required property
    gets no default (the form then demands a value)."""
    required = set(schema.get("required", ()))
    defs = schema.get("$defs", {})
    specs = {}
    for name in names:
        node = _simplify(_inline(schema["properties"][name], defs))
        spec: dict[str, Any] = {}
        if name not in required:
            spec["default"] = node.pop("default", None)
        node.pop("default", None)
        spec.update(node)
        if not spec.get("title") or not spec.get("description"):
            raise ValueError(f"form field {name!r} needs a title and a description in its model")
        specs[name] = spec
    return specs


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with every `$ref` to `$defs` replaced by its target: a Param's schema stands alone."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        target = _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        # The referencing field's own title and description win over the referenced type's.
        return {**target, **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
    return {key: _inline(value, defs) for key, value in node.items()}


def _simplify(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [{type: X, ...rules}, {type: null}]` (pydantic's optional field) as `type: [null, X]` with
    the rules, the shape Airflow's form renders as an optional input."""
    options = node.get("anyOf")
    if not options:
        return dict(node)
    nulls = [o for o in options if o == {"type": "null"}]
    others = [o for o in options if o != {"type": "null"}]
    if len(nulls) != 1 or len(others) != 1 or not isinstance(others[0].get("type"), str):
        return dict(node)
    merged = {**others[0], **{key: value for key, value in node.items() if key != "anyOf"}}
    merged["type"] = ["null", others[0]["type"]]
    return merged

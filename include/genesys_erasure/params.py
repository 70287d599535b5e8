"""The DAGs' trigger-form Params, generated from the pydantic models that validate the same values.

Each form field is a plain dict of `airflow.sdk.Param` keyword arguments (default, title, description and
the JSON-schema rules: type, minimum/maximum, pattern, enum, ...), taken from the model's JSON schema, so
the form and the validator cannot drift apart. This module does not import Airflow: the DAG file wraps
each dict into a `Param`.

- `retention_purge_params()`: the nightly purge's per-run overrides of `PurgeConfig`; every one may be
  left empty (null), which means "use the configuration file".
- `as_of_param()`: the nightly purge's `as_of`, the instant a manual run is "as of" (not a setting).
- `subject_erasure_params()`: the ad-hoc data-subject request form (`DsrForm`), without the inline
  `subjects` field unless the config's `allow_inline_subjects` is on (`inline_subjects_allowed()`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig, load_config
from genesys_erasure.dsr import DsrForm

# The settings an operator may sensibly change for one nightly run from the trigger form.
RETENTION_PURGE_FORM = ("dry_run", "backfill", "retention_days", "max_subjects_per_run")
USE_THE_CONFIG = "Empty: the value in the configuration file."
DEFAULT_CONFIG = "config/purge.yaml"  # under the erasure home, as `steps.runtime.DEFAULT_CONFIG`


def retention_purge_params() -> dict[str, dict[str, Any]]:
    """Nullable overrides of the nightly purge's settings (`PurgeConfig.with_overrides` ignores a null).
    Rules the schema cannot express, such as the retention floor, are enforced when the run validates
    its settings, naming the setting."""
    missing = set(RETENTION_PURGE_FORM) - OVERRIDABLE_FIELDS
    if missing:
        raise ValueError(f"not overridable per run: {sorted(missing)}")
    specs = param_specs(PurgeConfig.json_schema(), RETENTION_PURGE_FORM)
    for spec in specs.values():
        spec["default"] = None
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        spec["type"] = ["null", *(t for t in types if t != "null")]
        spec["description"] = f"{spec['description']} {USE_THE_CONFIG}"
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

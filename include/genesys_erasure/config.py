"""Settings of the nightly purge: one YAML file, validated when a run starts, overridable per run.

Every problem is reported as a `ConfigError` naming the field and the reason, before anything is read from
or deleted in Genesys Cloud. Own numbers and exclusions are personal data: an invalid one is reported by
its list position (`exclusions[3]`), never by its value.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

from genesys_erasure.guards import GuardError, check_retention
from genesys_erasure.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    normalise_email,
    normalise_phone,
    parse_contact_point,
)


class ConfigError(ValueError):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"config field '{field}': {reason}" if field else f"config: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class PurgeConfig:
    """Build with `from_dict` / `load_config` (which validate); values are already normalised."""

    retention_days: int = 1826
    minimum_retention_days: int = 365
    allow_retention_below_minimum: bool = False
    max_subjects_per_run: int = 1000
    quarantine_conversation_threshold: int = 200
    quarantine_subject_threshold: int = 5
    max_purge_fraction: float = 0.5
    approval_threshold: int | None = None
    own_numbers: tuple[str, ...] = field(default=(), repr=False)
    own_addresses: tuple[str, ...] = field(default=(), repr=False)
    exclusions: tuple[Identifier, ...] = ()
    default_phone_region: str | None = "GB"
    resolution_depth: int = 2
    conversation_ids_per_identifier: int = 50
    dry_run: bool = False
    backfill: bool = False
    scan_overlap_days: int = 2
    poll_interval_seconds: int = 60
    wait_deadline_days: int = 7
    resubmit_backoff_minutes: int = 30
    disconnect_idle_active_after_days: int | None = None
    genesys_conn_id: str = "genesys_cloud_default"
    ledger_conn_id: str | None = None
    ledger_path: str = "var/ledger.sqlite"
    hmac_key_conn_id: str = "genesys_erasure_hmac"
    report_dir: str = "var/reports"
    warehouse_mapping_path: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PurgeConfig:
        if not isinstance(data, Mapping):
            raise ConfigError(None, "the configuration must be a mapping of setting names to values")
        _reject_unknown_keys(data, FIELD_NAMES)
        values: dict[str, Any] = {}
        for name, check in _SCALAR_CHECKS.items():
            if name in data:
                values[name] = check(name, data[name])
        region = values.get("default_phone_region", cls.default_phone_region)
        for name, parse in _LIST_PARSERS.items():
            if name in data:
                values[name] = _parse_list(name, data[name], lambda raw, p=parse: p(raw, region))
        config = cls(**values)
        try:
            check_retention(
                config.retention_days,
                config.minimum_retention_days,
                allow_below_minimum=config.allow_retention_below_minimum,
            )
        except GuardError as error:
            raise ConfigError("retention_days", str(error)) from None
        return config

    def with_overrides(self, params: Mapping[str, Any]) -> PurgeConfig:
        """This config with per-run values (Airflow Params) applied and validated again. `None` means
        "not given"; fields that would break evidence or idempotence across runs cannot be overridden."""
        given = {key: value for key, value in params.items() if value is not None}
        _reject_unknown_keys(given, FIELD_NAMES)
        for key in given:
            if key not in OVERRIDABLE_FIELDS:
                raise ConfigError(key, "cannot be overridden per run; change the configuration file")
        return PurgeConfig.from_dict({**self._as_input(), **given})

    @property
    def own_identifiers(self) -> tuple[Identifier, ...]:
        """The org's own numbers and addresses, which are never customers."""
        return tuple(Identifier(IdentifierKind.PHONE, n) for n in self.own_numbers) + tuple(
            Identifier(IdentifierKind.EMAIL, a) for a in self.own_addresses
        )

    def retention_cutoff(self, now: datetime) -> datetime:
        """Contacts strictly before this instant are past retention."""
        return now - timedelta(days=self.retention_days)

    def _as_input(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["own_numbers"] = list(self.own_numbers)
        data["own_addresses"] = list(self.own_addresses)
        data["exclusions"] = [identifier.value for identifier in self.exclusions]
        return data


def load_config(path: str | Path) -> PurgeConfig:
    """Read and validate a YAML configuration file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(None, f"cannot read {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        # The parser's own message quotes the offending line, which may hold a phone number.
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(None, f"{path} is not valid YAML{where}") from None
    return PurgeConfig.from_dict(data if data is not None else {})


# ---- field checks ------------------------------------------------------------------------------------

FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(PurgeConfig))
OVERRIDABLE_FIELDS = FIELD_NAMES - {
    "minimum_retention_days",  # the floor is a deliberate, reviewed change to the file
    "hmac_key_conn_id",  # a different key makes earlier evidence unverifiable
    "ledger_conn_id",  # a different ledger forgets what was already submitted
    "ledger_path",
}
_KEY_SHAPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _reject_unknown_keys(data: Mapping[Any, Any], known: frozenset[str]) -> None:
    for key in data:
        if key in known:
            continue
        if not isinstance(key, str) or not _KEY_SHAPE.fullmatch(key):
            raise ConfigError("<unrecognised key>", "not a setting name (is a value at the wrong level?)")
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(key, f"unknown setting{hint}")


def _integer(low: int, high: int | None = None, *, optional: bool = False) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            wanted = "an integer or null" if optional else "an integer"
            raise ConfigError(name, f"expected {wanted}, got {type(value).__name__}")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ConfigError(name, f"must be {bound}, got {value}")
        return value

    return check


def _fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, f"expected a number, got {type(value).__name__}")
    if not 0 < value <= 1:
        raise ConfigError(name, f"must be greater than 0 and at most 1, got {value}")
    return float(value)


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, f"expected true or false, got {type(value).__name__}")
    return value


def _text(*, optional: bool = False) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(name, "expected a non-empty string" + (" or null" if optional else ""))
        return value.strip()

    return check


def _region(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(name, "expected a two-letter ISO 3166 region code such as GB, or null")
    return value.strip().upper()


def _parse_list(name: str, value: Any, parse: Callable[[str], Any]) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(name, f"expected a list, got {type(value).__name__}")
    parsed = []
    for index, raw in enumerate(value):
        if not isinstance(raw, str):
            raise ConfigError(f"{name}[{index}]", f"expected a string, got {type(raw).__name__}")
        try:
            parsed.append(parse(raw))
        except InvalidIdentifier as error:
            raise ConfigError(f"{name}[{index}]", f"invalid {error.field}: {error.reason}") from None
    return tuple(dict.fromkeys(parsed))  # de-duplicated, order kept


_SCALAR_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "retention_days": _integer(1),
    "minimum_retention_days": _integer(1),
    "allow_retention_below_minimum": _boolean,
    "max_subjects_per_run": _integer(1),
    "quarantine_conversation_threshold": _integer(1),
    "quarantine_subject_threshold": _integer(1, 50),
    "max_purge_fraction": _fraction,
    "approval_threshold": _integer(0, optional=True),
    "default_phone_region": _region,
    "resolution_depth": _integer(0, 5),
    "conversation_ids_per_identifier": _integer(1, 1000),
    "dry_run": _boolean,
    "backfill": _boolean,
    "scan_overlap_days": _integer(0, 31),
    "poll_interval_seconds": _integer(1, 3600),
    "wait_deadline_days": _integer(1, 90),
    "resubmit_backoff_minutes": _integer(0, 7 * 24 * 60),
    "disconnect_idle_active_after_days": _integer(1, optional=True),
    "genesys_conn_id": _text(),
    "ledger_conn_id": _text(optional=True),
    "ledger_path": _text(),
    "hmac_key_conn_id": _text(),
    "report_dir": _text(),
    "warehouse_mapping_path": _text(optional=True),
}
_LIST_PARSERS: dict[str, Callable[[str, str | None], Any]] = {
    "own_numbers": normalise_phone,
    "own_addresses": lambda raw, _region: normalise_email(raw),
    "exclusions": parse_contact_point,
}

"""Settings of the nightly purge: one YAML file, validated when a run starts, overridable per run.

`PurgeConfig` is a frozen pydantic dataclass and the one source of truth for every setting: its type,
bounds, title and description. The file is validated against it, per-run overrides are validated against
it again, and the DAG's trigger form is generated from it (`genesys_erasure.params`).

Every problem is reported as a `ConfigError` naming the field and the reason, before anything is read from
or deleted in Genesys Cloud. Own numbers and exclusions are personal data: an invalid one is reported by
its list position (`exclusions[3]`), never by its value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

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


# The custom error type of this module's own checks; its message is the reason shown to the user as is.
_CONFIG_ERROR = "config"

Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
Fraction = Annotated[float, Field(strict=True)]  # strict: an int is a number, a bool is not


def _region(value: Any) -> Any:
    if value is None:
        return None
    import phonenumbers  # on first use: the DAG files import this module when they are parsed

    if not isinstance(value, str) or value.strip().upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise PydanticCustomError(
            _CONFIG_ERROR, "expected a two-letter ISO 3166 region code such as GB, or null"
        )
    return value.strip().upper()


Region = Annotated[str | None, BeforeValidator(_region)]

# The model's settings: a pydantic dataclass takes them as `config=`, not as a `model_config` attribute.
MODEL_CONFIG = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


# A pydantic *dataclass* rather than a BaseModel: callers list the settings with `dataclasses.fields`
# (the run report) and compare configs as plain dataclasses.
@dataclass(config=MODEL_CONFIG)
class PurgeConfig:
    """Build with `from_dict` / `load_config` (which report problems as `ConfigError`); values are already
    normalised."""

    retention_days: StrictInt = Field(
        1826,
        ge=1,
        title="Retention (days)",
        description="Customers whose last contact is older than this many days are erased.",
    )
    minimum_retention_days: StrictInt = Field(
        365,
        ge=1,
        title="Retention floor (days)",
        description="A retention below this floor is refused unless explicitly allowed.",
    )
    allow_retention_below_minimum: StrictBool = Field(
        False,
        title="Allow retention below the floor",
        description="Deliberately run with a retention below the floor (still at least 1 day).",
    )
    allow_partial_divisions: StrictBool = Field(
        False,
        title="Allow a role covering only some divisions",
        description=(
            "Run although the client's role does not cover every division of the org: a customer whose "
            "recent contact is in an uncovered division then looks expired and is erased."
        ),
    )
    allow_past_as_of_erasure: StrictBool = Field(
        False,
        title="Allow erasing as of a past instant",
        description=(
            "Let a manual run with an explicit past `as_of` submit erasures (otherwise it must be a dry "
            "run): a customer who made contact after that instant would look expired and be erased."
        ),
    )
    max_subjects_per_run: StrictInt = Field(
        1000,
        ge=1,
        title="Subject cap",
        description="A run that plans more subjects than this fails before submitting anything.",
    )
    quarantine_conversation_threshold: StrictInt = Field(
        200,
        ge=1,
        title="Quarantine: conversations per identifier",
        description="An identifier in more conversations than this is quarantined, never submitted.",
    )
    quarantine_subject_threshold: StrictInt = Field(
        5,
        ge=1,
        le=50,
        title="Quarantine: subjects per identifier",
        description="An identifier linked to more subjects than this is quarantined and merges nobody.",
    )
    max_purge_fraction: Fraction = Field(
        0.5,
        gt=0,
        le=1,
        title="Largest share of customers purged",
        description="A run that would erase more than this share of the customers seen is refused.",
    )
    approval_threshold: StrictInt | None = Field(
        500,
        ge=0,
        title="Approval threshold",
        description=(
            "Runs with more subjects than this wait for a person's approval; 0 = every run, null = only "
            "the first run that submits to an org (which always waits)."
        ),
    )
    own_numbers: tuple[str, ...] = Field(
        (),
        repr=False,
        title="Own phone numbers",
        description="The org's own phone numbers, never customers (normalised to E.164).",
    )
    own_addresses: tuple[str, ...] = Field(
        (),
        repr=False,
        title="Own e-mail addresses",
        description="The org's own e-mail addresses, never customers.",
    )
    exclusions: tuple[Identifier, ...] = Field(
        (),
        title="Exclusions",
        description="E-mail addresses or phone numbers never to erase (e.g. under legal hold).",
    )
    default_phone_region: Region = Field(
        "GB",
        title="Default phone region",
        description="ISO 3166 region for numbers without a +country code; null requires E.164.",
    )
    resolution_depth: StrictInt = Field(
        2,
        ge=0,
        le=5,
        title="Resolution depth",
        description="How many lookups away from an expired identifier links are followed.",
    )
    conversation_ids_per_identifier: StrictInt = Field(
        50,
        ge=1,
        le=1000,
        title="Conversation ids kept per identifier",
        description="Most recent conversation ids kept per identifier, for verification.",
    )
    dry_run: StrictBool = Field(False, title="Dry run", description="Plan and report, submit nothing.")
    backfill: StrictBool = Field(
        False,
        title="Backfill",
        description=(
            "Scan all history before the cutoff rather than continue from the last run, and rebuild the "
            "last-contact index."
        ),
    )
    scan_overlap_days: StrictInt = Field(
        2,
        ge=0,
        le=31,
        title="Scan overlap (days)",
        description="Days by which consecutive scans overlap, for conversations landing late.",
    )
    poll_interval_seconds: StrictInt = Field(
        60,
        ge=1,
        le=3600,
        title="Poll interval (seconds)",
        description="How often erasure requests are polled.",
    )
    wait_deadline_days: StrictInt = Field(
        7,
        ge=1,
        le=90,
        title="Wait deadline (days)",
        description="How long to wait for an erasure request before reporting it overdue.",
    )
    resubmit_backoff_minutes: StrictInt = Field(
        30,
        ge=0,
        le=7 * 24 * 60,
        title="Resubmission backoff (minutes)",
        description="Wait before re-submitting a request that ended in ERROR.",
    )
    quota_wait_max_seconds: StrictInt = Field(
        900,
        ge=0,
        le=3600,
        title="Longest wait for the GDPR quota (seconds)",
        description=(
            "When Genesys refuses a GDPR request with 429 and a Retry-After up to this long, submission "
            "waits and goes on; a longer one defers the rest of the batch to the next run."
        ),
    )
    verification_pending_days: StrictInt = Field(
        7,
        ge=0,
        le=90,
        title="Erasure pending for at most (days)",
        description=(
            "How long after Genesys reports COMPLETED a delete may still be showing (a recording's "
            "deleteDate, a lagging contact delete or search) before the subject is failed."
        ),
    )
    max_erasure_attempts: StrictInt = Field(
        3,
        ge=1,
        le=20,
        title="Erasure attempts before review",
        description="GDPR requests posted for one subject, over all runs, before a failure needs review.",
    )
    contact_scan_from_lookups: StrictInt | None = Field(
        100,
        ge=0,
        title="One external-contact scan from (lookups)",
        description=(
            "When a step would search external contacts for at least this many identifiers, it reads every "
            "contact once with the cursor scan (one call per 200 contacts of the org) and matches them "
            "locally instead; null = always search per identifier. Set it near the org's contacts / 200."
        ),
    )
    verify_participant_attributes: StrictBool = Field(
        True,
        title="Verify participant attributes",
        description=(
            "Read each conversation's live view for participant data (attributes) once the other checks "
            "pass; false = not read, and the report says so."
        ),
    )
    disconnect_idle_active_after_days: StrictInt | None = Field(
        None,
        ge=1,
        title="Disconnect idle active conversations after (days)",
        description="Active conversations older than this are disconnected; null = never.",
    )
    genesys_conn_id: Text = Field(
        "genesys_cloud_default",
        title="Genesys Cloud connection",
        description="Airflow connection id of the Genesys Cloud org.",
    )
    ledger_conn_id: Text | None = Field(
        None,
        title="Ledger connection",
        description="Airflow connection id of the ledger database; null = the SQLite file ledger_path.",
    )
    ledger_path: Text = Field(
        "var/ledger.sqlite", title="Ledger file", description="SQLite ledger file when no connection."
    )
    hmac_key_conn_id: Text = Field(
        "genesys_erasure_hmac",
        title="HMAC key connection",
        description="Airflow connection whose password is the key of hashes and signatures.",
    )
    report_dir: Text = Field(
        "var/reports", title="Report directory", description="Where signed reports are written."
    )
    intake_dir: Text = Field(
        "var/intake",
        title="Intake directory",
        description=(
            "Where the evidence UI's intake page writes sealed subject lists (Fernet, the sealing key); "
            "the ad-hoc DAG wipes a list there once its real run has issued the certificates."
        ),
    )
    allow_inline_subjects: StrictBool = Field(
        False,
        title="Allow inline subjects",
        description=(
            "Offer the ad-hoc DAG's `subjects` field, whose values Airflow keeps in the run configuration "
            "and the audit log; off: subject lists come as files (the intake page seals them)."
        ),
    )
    warehouse_mapping_path: Text | None = Field(
        None,
        title="Warehouse mapping",
        description="YAML file mapping warehouse tables holding copies of Genesys data; null = none.",
    )

    @field_validator(
        "own_numbers", "own_addresses", "exclusions", mode="plain", json_schema_input_type=list[str]
    )
    @classmethod
    def _string_list(cls, value: Any, info: ValidationInfo) -> tuple[Any, ...]:
        """The shape only; entries are normalised in `_normalise_lists`, once the region is known."""
        if value is None:
            return ()
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise PydanticCustomError(
                _CONFIG_ERROR, "expected a list, got {got}", {"got": type(value).__name__}
            )
        for index, raw in enumerate(value):
            # An Identifier is an exclusion already parsed (`with_overrides` of a validated config).
            if not isinstance(raw, str) and not (
                info.field_name == "exclusions" and isinstance(raw, Identifier)
            ):
                raise PydanticCustomError(
                    _CONFIG_ERROR, "expected a string, got {got}", {"got": type(raw).__name__, "index": index}
                )
        return tuple(value)

    @model_validator(mode="after")
    def _normalise_lists(self) -> PurgeConfig:
        # The lists are read with the default region, which is declared (and so validated) after them.
        region = self.default_phone_region
        parsers = {
            "own_numbers": lambda raw: normalise_phone(raw, region),
            "own_addresses": normalise_email,
            "exclusions": lambda raw: (
                raw if isinstance(raw, Identifier) else parse_contact_point(raw, region)
            ),
        }
        for name, parse in parsers.items():
            parsed = []
            for index, raw in enumerate(getattr(self, name)):
                try:
                    parsed.append(parse(raw))
                except InvalidIdentifier as error:
                    raise PydanticCustomError(
                        _CONFIG_ERROR,
                        "invalid {kind}: {reason}",
                        {"kind": error.field, "reason": error.reason, "field": name, "index": index},
                    ) from None
            object.__setattr__(self, name, tuple(dict.fromkeys(parsed)))  # de-duplicated, order kept
        return self

    @model_validator(mode="after")
    def _retention_floor(self) -> PurgeConfig:
        try:
            check_retention(
                self.retention_days,
                self.minimum_retention_days,
                allow_below_minimum=self.allow_retention_below_minimum,
            )
        except GuardError as error:
            raise PydanticCustomError(
                _CONFIG_ERROR, "{reason}", {"reason": str(error), "field": "retention_days"}
            ) from None
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PurgeConfig:
        if not isinstance(data, Mapping):
            raise ConfigError(None, "the configuration must be a mapping of setting names to values")
        _reject_unknown_keys(data, FIELD_NAMES)
        try:
            return _ADAPTER.validate_python(dict(data))
        except ValidationError as error:
            raise config_error(error) from None

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of the settings, with each field's title, description and bounds."""
        return _ADAPTER.json_schema()

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
        return {name: getattr(self, name) for name in FIELD_NAMES}


_ADAPTER = TypeAdapter(PurgeConfig)


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


FIELD_NAMES = frozenset(f.name for f in fields(PurgeConfig))
OVERRIDABLE_FIELDS = FIELD_NAMES - {
    "minimum_retention_days",  # the floor is a deliberate, reviewed change to the file
    "allow_partial_divisions",  # so is accepting customers the purge cannot see
    "allow_past_as_of_erasure",  # so is erasing as of an instant customers may have called since
    "hmac_key_conn_id",  # a different key makes earlier evidence unverifiable
    "ledger_conn_id",  # a different ledger forgets what was already submitted
    "ledger_path",
    "allow_inline_subjects",  # a run's conf must not be able to let identifiers into the conf
    "intake_dir",  # the wipe deletes sealed lists only there
}
_LIST_FIELDS = ("own_numbers", "own_addresses", "exclusions")
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


# ---- pydantic errors as ConfigError ---------------------------------------------------------------------


def config_error(error: ValidationError) -> ConfigError:
    """The first problem (in the order the settings are declared) as a `ConfigError`. Only the setting's
    name, the list position and the type of a wrong value are used: never the value itself, except the
    number that broke a numeric bound."""
    # Scalars before lists, as the settings were always checked: a list is read with the region.
    names = sorted((f.name for f in fields(PurgeConfig)), key=lambda n: n in _LIST_FIELDS)
    order = {name: position for position, name in enumerate(names)}
    problems = error.errors(include_url=False)
    first = min(problems, key=lambda p: order.get(_field_of(p), len(order)))
    return ConfigError(*_describe(first))


def _field_of(problem: Mapping[str, Any]) -> str:
    ctx = problem.get("ctx") or {}
    if "field" in ctx:
        return ctx["field"]
    return str(problem["loc"][0]) if problem["loc"] else ""


def _describe(problem: Mapping[str, Any]) -> tuple[str | None, str]:
    name = _field_of(problem) or None
    ctx = problem.get("ctx") or {}
    if problem["type"] == _CONFIG_ERROR:
        where = f"{name}[{ctx['index']}]" if "index" in ctx else name
        return where, problem["msg"]
    info = PurgeConfig.__pydantic_fields__.get(name or "")
    if info is None:
        return name, "invalid value"
    nullable = type(None) in get_args(info.annotation) or info.default is None
    or_null = " or null" if nullable else ""
    got = type(problem.get("input")).__name__
    kind = problem["type"]
    if kind.startswith("int_"):
        return name, f"expected an integer{or_null}, got {got}"
    if kind.startswith("float_"):
        return name, f"expected a number{or_null}, got {got}"
    if kind.startswith("bool_"):
        return name, f"expected true or false{or_null}, got {got}"
    if kind.startswith("string_"):
        return name, f"expected a non-empty string{or_null}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return name, f"must be {_bounds(info.metadata)}, got {problem['input']}"
    return name, "invalid value"


def _bounds(metadata: list[Any]) -> str:
    limits = {
        key: getattr(item, key) for item in metadata for key in ("ge", "gt", "le") if hasattr(item, key)
    }
    if "gt" in limits:
        low = f"greater than {limits['gt']}"
        return f"{low} and at most {limits['le']}" if "le" in limits else low
    if "le" in limits:
        return f"between {limits['ge']} and {limits['le']}"
    return f"at least {limits['ge']}"

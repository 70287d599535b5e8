"""`ErasureRuntime`: everything one erasure step needs, built from plain values (the settings, the two
keys, the ledger URL and a factory for the Genesys client), plus reading the settings file.

No Airflow here: where the keys and the ledger URL come from in a deployment (Airflow connections) is
`genesys_erasure.tasks.runtime`. The runtime owns ONE Genesys client and ONE database engine (the ledger
and the run workspace share it) and closes both when it is left:

    with ErasureRuntime(config=..., hmac_key=..., sealing_key=..., ledger_url=..., client_factory=...) as rt:
        find_expired_customers(rt, run_id, now)

The config file is read again by every task (it is small), so no task passes settings, and none passes
the exclusion list (personal data), through XCom.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from genesys_erasure.config import OVERRIDABLE_FIELDS, ConfigError, PurgeConfig, load_config
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.ledger import Ledger, create_ledger_engine
from genesys_erasure.ledger.client_state import LedgerClientState
from genesys_erasure.ledger.last_contact import LastContactIndex
from genesys_erasure.params import choice_overrides
from genesys_erasure.sealing import IdentifierSealer
from genesys_erasure.signing import Ed25519PrivateKey
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.workspace import RunWorkspace

log = logging.getLogger(__name__)

CONFIG_ENV = "GENESYS_ERASURE_CONFIG"
HOME_ENV = "GENESYS_ERASURE_HOME"
DEFAULT_CONFIG = "config/purge.yaml"

ClientFactory = Callable[[PurgeConfig], GenesysClient]
# The clients of the further OAuth clients a deployment has (none by default): see `submit_clients`.
ExtraClientsFactory = Callable[[PurgeConfig], list[GenesysClient]]


def project_home() -> Path:
    """Relative paths in the config (ledger file, reports) are resolved against this directory."""
    return Path(os.environ.get(HOME_ENV) or os.getcwd())


def config_path() -> Path | None:
    raw = os.environ.get(CONFIG_ENV)
    path = Path(raw) if raw else project_home() / DEFAULT_CONFIG
    if raw and not path.exists():
        raise ConfigError(None, f"{CONFIG_ENV} names a file that does not exist: {path}")
    return path if path.exists() else None


def load_run_config(params: Mapping[str, Any] | None) -> PurgeConfig:
    """The config file with the run's Params applied; only Params that name a setting are applied (a
    form choice, such as `run_mode`, names the setting it chooses)."""
    path = config_path()
    config = load_config(path) if path else PurgeConfig.from_dict({})
    overrides = {k: v for k, v in choice_overrides(params or {}).items() if k in OVERRIDABLE_FIELDS}
    return config.with_overrides(overrides)


def sqlite_ledger_url(config: PurgeConfig, home: Path | None = None) -> str:
    """The embedded ledger's URL (`ledger_path`, relative paths under the project home)."""
    path = Path(config.ledger_path)
    if not path.is_absolute():
        path = (home or project_home()) / path
    return f"sqlite:///{path}"


class ErasureRuntime:
    """The settings, the keyed hasher, the identifier sealer and the signing key of a run, and the two
    resources a step talks to: the Genesys client (`client`) and the ledger database (`ledger`,
    `workspace()`). Both resources are opened on first use and closed by `close()` / leaving `with`, so a
    step that never calls Genesys never makes a client."""

    def __init__(
        self,
        *,
        config: PurgeConfig,
        hmac_key: bytes,
        sealing_key: bytes,
        ledger_url: str,
        signing_key: Ed25519PrivateKey | None = None,
        client_factory: ClientFactory,
        home: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        extra_clients_factory: ExtraClientsFactory | None = None,
    ) -> None:
        self.config = config
        self.hasher = KeyedHasher(hmac_key)
        self.sealer = IdentifierSealer(sealing_key)
        # Ed25519 in a deployment (the signing connection); without one (step tests, benchmarks) the
        # documents are signed with the HMAC key, the format from before Ed25519.
        self.signing_key: Ed25519PrivateKey | bytes = signing_key if signing_key is not None else hmac_key
        self.ledger_url = ledger_url
        self.workspace_fernet = self.sealer.cipher  # the same keys: hand-offs are sealed identifiers too
        self.home = home
        # How a step waits (a GDPR quota's Retry-After); tests pass one that moves the sandbox clock.
        self.sleep = sleep
        self._client_factory = client_factory
        self._client: GenesysClient | None = None
        self._extra_clients_factory = extra_clients_factory
        self._extra_clients: list[GenesysClient] | None = None
        self._engine: Engine | None = None
        self._client_state: LedgerClientState | None = None
        self._ledger: Ledger | None = None
        self._last_contacts: LastContactIndex | None = None
        self._workspace: RunWorkspace | None = None

    def __repr__(self) -> str:
        return "ErasureRuntime(<keys hidden>)"

    def __enter__(self) -> ErasureRuntime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def client(self) -> GenesysClient:
        """The run's one Genesys client (one HTTP session and token for the whole task)."""
        if self._client is None:
            self._client = self._client_factory(self.config)
        return self._client

    @property
    def submit_clients(self) -> list[GenesysClient]:
        """The run's client followed by one per further OAuth client configured: each has its own token
        and rate limit at Genesys, so submitting round-robin across them runs up to K times faster."""
        if self._extra_clients is None:
            factory = self._extra_clients_factory
            self._extra_clients = factory(self.config) if factory is not None else []
        return [self.client, *self._extra_clients]

    def _database(self) -> Engine:
        if self._engine is None:
            self._engine = create_ledger_engine(self.ledger_url)
        return self._engine

    @property
    def client_state(self) -> LedgerClientState:
        """Where the Genesys clients of every worker process share their token and pacing (the ledger's
        database: every worker reaches it). The client factories hand it to their hooks."""
        if self._client_state is None:
            self._client_state = LedgerClientState(self._database())
        return self._client_state

    @property
    def ledger(self) -> Ledger:
        """The ledger, on the runtime's engine. Not to be closed by a step: the runtime closes it."""
        if self._ledger is None:
            self._ledger = Ledger.open(self._database())
        return self._ledger

    @property
    def last_contacts(self) -> LastContactIndex:
        """The last-contact index, in the ledger's database (its tables are the ledger's)."""
        if self._last_contacts is None:
            _ = self.ledger  # opened first: it creates (and upgrades) the ledger's tables
            self._last_contacts = LastContactIndex(self._database())
        return self._last_contacts

    def workspace(self) -> RunWorkspace:
        """The run workspace, on the same engine as the ledger."""
        if self._workspace is None:
            self._workspace = RunWorkspace(self._database(), self.workspace_fernet)
        return self._workspace

    def report_dir(self) -> Path:
        path = Path(self.config.report_dir)
        return path if path.is_absolute() else (self.home or project_home()) / path

    def close(self) -> None:
        """Close the client and dispose of the engine (both reopen on next use). The engine is disposed
        even when closing the client fails, so no database connection outlives the task."""
        clients = [self._client, *(self._extra_clients or [])]
        self._client, self._extra_clients = None, None
        engine, self._engine = self._engine, None
        self._ledger = self._workspace = self._last_contacts = self._client_state = None
        try:
            for client in clients:
                if client is not None:
                    client.close()
        finally:
            if engine is not None:
                engine.dispose()


def plain_utc(value: datetime) -> datetime:
    """`value` as a standard-library datetime in UTC. Airflow hands out pendulum DateTimes, and one with
    a standard `timezone.utc` loses its zone when a timedelta is subtracted (the cutoff came out naive)."""
    value = value.astimezone(UTC)
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC,
    )


@dataclass(frozen=True)
class RunClock:
    """The instant a run is "as of" (its `now`) and the retention cutoff derived from it, fixed once per
    run in the ledger: every task of the run, and every retry, uses these two and no wall clock."""

    as_of: datetime
    cutoff: datetime

    def describe(self) -> str:
        return f"as_of {self.as_of.isoformat()}, cutoff {self.cutoff.isoformat()}"


def fix_run_clock(runtime: ErasureRuntime, run_id: str, as_of: datetime) -> RunClock:
    """The run's clock: `as_of` and its cutoff recorded the first time the run asks, the recorded ones on
    every later call (whatever `as_of` the caller proposes then)."""
    as_of = plain_utc(as_of)
    recorded_as_of, cutoff = runtime.ledger.fix_run_clock(
        run_id, as_of, runtime.config.retention_cutoff(as_of)
    )
    return RunClock(recorded_as_of, cutoff)


class AsOfRefused(ValueError):
    """An `as_of` the run may not use; the message names `as_of` and says why (no personal data)."""


def parse_as_of(raw: str) -> datetime:
    """An explicit `as_of` Param: ISO-8601 with a UTC offset (a bare local time is ambiguous)."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except (AttributeError, ValueError):
        raise AsOfRefused("as_of: not an ISO-8601 instant (e.g. 2026-03-01T02:00:00+00:00)") from None
    if value.tzinfo is None:
        raise AsOfRefused("as_of: needs a UTC offset (e.g. +00:00 or Z)")
    return value.astimezone(UTC)


# How long after its own instant a scheduled run may start and still erase: the scan looks for later
# contacts only up to the run's as_of, so a night caught up a day late would miss a day of contacts.
LATE_RUN_TOLERANCE = timedelta(hours=6)


def check_as_of(
    as_of: datetime, *, explicit: bool, started: datetime, wall_now: datetime, config: PurgeConfig
) -> None:
    """Refuse an `as_of` in the future (nothing is known about it yet), and an explicit one from before
    the run was triggered unless the run is a dry run or the config says `allow_past_as_of_erasure`: the
    run sees contacts only up to its as_of, so erasing as of last week would erase a customer who made
    contact since. (A scheduled run that merely starts late is not refused: it only plans, see
    `starts_too_late`.)"""
    if as_of > wall_now:
        raise AsOfRefused(f"as_of: {as_of.isoformat()} is in the future (now {wall_now.isoformat()})")
    if explicit and as_of < started and not (config.dry_run or config.allow_past_as_of_erasure):
        raise AsOfRefused(
            f"as_of: {as_of.isoformat()}, the given as_of, is in the past; only a dry run may use it "
            "unless the configuration sets allow_past_as_of_erasure: true (contacts made since are not seen)"
        )


def starts_too_late(as_of: datetime, clock_fixed_at: datetime | None, config: PurgeConfig) -> bool:
    """Whether a run as of its own instant (a scheduled night) had its clock fixed more than
    `LATE_RUN_TOLERANCE` after that instant, so it only plans: a night caught up hours later (the
    scheduler was down, or the DAG was unpaused in the afternoon and Airflow started the night's run at
    once) would not see the contacts made since. Never for a dry run or with `allow_past_as_of_erasure`.
    Judged from the time recorded with the run's clock, so every task and retry of the run agrees."""
    if clock_fixed_at is None or config.dry_run or config.allow_past_as_of_erasure:
        return False
    return plain_utc(as_of) < plain_utc(clock_fixed_at) - LATE_RUN_TOLERANCE

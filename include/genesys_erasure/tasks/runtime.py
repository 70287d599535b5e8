"""The erasure runtime as an Airflow task gets it: keys from Airflow connections, the ledger URL from a
connection (or the embedded SQLite file), the Genesys client as a `GenesysCloudHook`; and `run_step`,
the one adapter that turns a step function into a task body.

A step knows nothing of Airflow (`genesys_erasure.steps.runtime`); only this module does.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from genesys_cloud.shared_state import SharedStateStore
    from genesys_erasure.config import PurgeConfig
    from genesys_erasure.steps.runtime import ErasureRuntime, RunClock

# Everything below imports the domain (pydantic, SQLAlchemy, cryptography) inside the functions: task
# modules import this one at the top, and the DAG files that import them must parse fast.

SEALING_KEY_CONN_ID = "genesys_erasure_sealing"

T = TypeVar("T")
log = logging.getLogger(__name__)

__all__ = [
    "SEALING_KEY_CONN_ID",
    "connection_secret",
    "extra_genesys_hooks",
    "genesys_hook",
    "ledger_url",
    "load_runtime",
    "open_runtime",
    "proposed_as_of",
    "run_clock",
    "run_step",
    "signing_key",
]


def connection_secret(conn_id: str, what: str) -> bytes:
    """The key held as the password of an Airflow connection."""
    from airflow.sdk import BaseHook

    from genesys_erasure.config import ConfigError
    from genesys_erasure.evidence import key_from_text

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:  # the SDK raises its own not-found type; the message must name the conn
        raise ConfigError(f"{what}", f"Airflow connection '{conn_id}' is not defined") from exc
    if not connection.password:
        raise ConfigError(f"{what}", f"Airflow connection '{conn_id}' has no password (the key)")
    return key_from_text(connection.password)


def signing_key():
    """The Ed25519 private key that signs reports and certificates (`genesys_erasure_signing`)."""
    from airflow.sdk import BaseHook

    from genesys_erasure.config import ConfigError
    from genesys_erasure.signing import SIGNING_KEY_CONN_ID, private_key_from_text

    what = "signing key connection"
    try:
        connection = BaseHook.get_connection(SIGNING_KEY_CONN_ID)
    except Exception as exc:  # the SDK raises its own not-found type; the message must name the conn
        raise ConfigError(what, f"Airflow connection '{SIGNING_KEY_CONN_ID}' is not defined") from exc
    if not connection.password:
        raise ConfigError(what, f"Airflow connection '{SIGNING_KEY_CONN_ID}' has no password (the key)")
    try:
        return private_key_from_text(connection.password)
    except ValueError as exc:
        raise ConfigError(what, str(exc)) from exc


def ledger_url(config: PurgeConfig) -> str:
    """The ledger's SQLAlchemy URL: the `ledger_conn_id` connection (PostgreSQL) or the SQLite file."""
    if config.ledger_conn_id:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(config.ledger_conn_id)
        uri = connection.get_uri()
        for prefix in ("postgres://", "postgresql://"):
            if uri.startswith(prefix):
                return "postgresql+psycopg2://" + uri[len(prefix) :]
        return uri
    from genesys_erasure.steps.runtime import sqlite_ledger_url

    return sqlite_ledger_url(config)


def genesys_hook(config: PurgeConfig, shared_state: SharedStateStore | None = None):
    """The client factory of a deployment: a `GenesysCloudHook` on the configured connection, sharing
    its token and pacing with the other worker processes through `shared_state` when given."""
    from genesys_cloud.hook import GenesysCloudHook

    return GenesysCloudHook(genesys_conn_id=config.genesys_conn_id, shared_state=shared_state)


def extra_genesys_hooks(config: PurgeConfig, shared_state: SharedStateStore | None = None) -> list:
    """One hook per further OAuth client of the connection (its `extra_clients`), for submitting."""
    from genesys_cloud.hook import GenesysCloudHook

    count = GenesysCloudHook(genesys_conn_id=config.genesys_conn_id).settings.client_count
    return [
        GenesysCloudHook(genesys_conn_id=config.genesys_conn_id, client_index=i, shared_state=shared_state)
        for i in range(1, count)
    ]


def load_runtime(params: Mapping[str, Any] | None) -> ErasureRuntime:
    """The runtime for the run's Params. Raises ConfigError for a bad setting or a missing key. Use it in
    a `with` block (or through `open_runtime` / `run_step`): it holds a client and a database engine."""
    from genesys_erasure.steps.runtime import ErasureRuntime, load_run_config

    config = load_run_config(params)
    # The hooks pace through the ledger's database: mapped submit tasks run in separate worker
    # processes, and only a store they all reach lets them share one token's budget without a 429.
    runtime = ErasureRuntime(
        config=config,
        hmac_key=connection_secret(config.hmac_key_conn_id, "hmac_key_conn_id"),
        sealing_key=connection_secret(SEALING_KEY_CONN_ID, "sealing key connection"),
        signing_key=signing_key(),
        ledger_url=ledger_url(config),
        client_factory=lambda cfg: genesys_hook(cfg, runtime.client_state),
        extra_clients_factory=lambda cfg: extra_genesys_hooks(cfg, runtime.client_state),
    )
    return runtime


@contextmanager
def open_runtime(params: Mapping[str, Any] | None) -> Iterator[ErasureRuntime]:
    with load_runtime(params) as runtime:
        yield runtime


def proposed_as_of(context: Mapping[str, Any]) -> tuple[datetime, bool]:
    """The instant this DAG run is "as of", from the run itself (never the wall clock), and whether it
    was given explicitly: the `as_of` Param, else a scheduled run's data interval end, else the logical
    date, else the time the run was triggered. Raises `AsOfRefused` for an unreadable `as_of`."""
    from genesys_erasure.steps.runtime import parse_as_of, plain_utc

    raw = (context.get("params") or {}).get("as_of")
    if raw:
        return parse_as_of(str(raw)), True
    dag_run = context["dag_run"]
    scheduled = str(getattr(dag_run, "run_type", "")).lower().endswith("scheduled")
    for candidate in (
        context.get("data_interval_end") if scheduled else None,
        context.get("logical_date"),
        getattr(dag_run, "run_after", None),
    ):
        if candidate is not None:
            return plain_utc(candidate), False
    raise RuntimeError("the DAG run has neither a data interval, a logical date nor a trigger time")


def run_clock(runtime: ErasureRuntime, context: Mapping[str, Any]) -> RunClock:
    """The run's clock, recorded in the ledger by the first task of the run that asks (see
    `genesys_erasure.steps.runtime.fix_run_clock`)."""
    from genesys_erasure.steps.runtime import fix_run_clock

    as_of, _explicit = proposed_as_of(context)
    return fix_run_clock(runtime, context["run_id"], as_of)


LATE_RUN_SENTENCE = (
    "This run only plans (dry run): it started over {hours} h after its own instant ({as_of}), and a run "
    "that late would not see the contacts made since. The next run on time submits; to submit now, "
    "trigger a run by hand."
)


def plans_only_when_late(runtime: ErasureRuntime, context: Mapping[str, Any]) -> bool:
    """Turn the runtime's run into a dry run when it is a run of the nightly purge (its DAG has the
    `as_of` Param), as of its own instant, whose clock was fixed too late after that instant
    (`genesys_erasure.steps.runtime.starts_too_late`). Returns whether it did; says so in the log."""
    from genesys_erasure.steps.runtime import LATE_RUN_TOLERANCE, starts_too_late

    params = context.get("params") or {}
    if "as_of" not in params or params.get("as_of"):
        return False  # not the nightly purge, or an explicit as_of (checked by validate_settings)
    as_of, _explicit = proposed_as_of(context)
    if not starts_too_late(as_of, runtime.ledger.run_clock_recorded_at(context["run_id"]), runtime.config):
        return False
    runtime.config = runtime.config.with_overrides({"dry_run": True})
    hours = int(LATE_RUN_TOLERANCE.total_seconds() // 3600)
    log.warning(LATE_RUN_SENTENCE.format(hours=hours, as_of=as_of.isoformat()))
    return True


def run_step(step: Callable[..., T], /, *, clock: str = "run", **kwargs: Any) -> T:
    """Run `step(runtime, ...)` as the body of the current task: the runtime is opened for the task's
    Params and closed afterwards, and `run_id` and `now` are passed when the step takes them. `now` is the
    run's recorded as_of (`clock="run"`: the same in every task and every retry), or the wall clock
    (`clock="wall"`) for a step that measures real elapsed time, such as verification deadlines. Every
    other argument is passed by keyword."""
    from airflow.sdk import get_current_context

    if clock not in ("run", "wall"):
        raise ValueError(f"clock: expected 'run' or 'wall', got {clock!r}")
    context = get_current_context()
    accepted = inspect.signature(step).parameters
    if "run_id" in accepted:
        kwargs.setdefault("run_id", context["run_id"])
    with load_runtime(context["params"]) as runtime:
        plans_only_when_late(runtime, context)
        if "now" in accepted and "now" not in kwargs:
            if clock == "run":
                fixed = run_clock(runtime, context)
                log.info("Run clock: %s", fixed.describe())
                kwargs["now"] = fixed.as_of
            else:
                kwargs["now"] = datetime.now(UTC)
        result = step(runtime, **kwargs)
    from genesys_erasure.task_summary import task_summary

    # the task log ends with a sentence and a table (Airflow's "Returned value" line is switched off)
    log.info("%s", task_summary(step.__name__, result))
    return result

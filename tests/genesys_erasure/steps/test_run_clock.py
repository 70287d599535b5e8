"""One "now" (as_of) and one cutoff per DAG run: fixed in the ledger by the first task that asks, read back
by every later task and retry, refused when in the future or (unless allowed) an explicit past instant.

The tasks run as Airflow runs them, through `run_step` and the task functions, under an Airflow task
context built here (the run's id, Params, run type and dates); the runtime they open talks to a sandbox
org over HTTP and writes the same SQLite ledger as the test's own runtime."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk.execution_time.context import set_current_context
from airflow.utils.types import DagRunType

from genesys_devtools.demo import DEMO_HMAC_KEY, DEMO_SEALING_KEY, DEMO_SIGNING_KEY, demo_config
from genesys_erasure.steps.evidence import write_run_evidence
from genesys_erasure.steps.plan_requests import plan_retention_purge
from genesys_erasure.steps.runtime import fix_run_clock
from genesys_erasure.steps.scan import find_expired_customers
from genesys_erasure.tasks.retention import validate_settings
from genesys_erasure.tasks.runtime import run_step
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS


@pytest.fixture
def task_env(world, monkeypatch: pytest.MonkeyPatch):
    """The Airflow environment a task of the nightly purge finds: the config file, the key connections."""

    def configure(**overrides: Any) -> None:
        config = demo_config(world.sandbox.org.summary(), world.home, retention_days=RETENTION_DAYS)
        path = world.home / "purge.yaml"
        path.write_text(yaml.safe_dump({**config, **overrides}), encoding="utf-8")
        monkeypatch.setenv("GENESYS_ERASURE_CONFIG", str(path))

    monkeypatch.setenv("GENESYS_ERASURE_HOME", str(world.home))
    for conn, key in (("HMAC", DEMO_HMAC_KEY), ("SEALING", DEMO_SEALING_KEY), ("SIGNING", DEMO_SIGNING_KEY)):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_GENESYS_ERASURE_{conn}", json.dumps({"conn_type": "generic", "password": key})
        )
    configure()
    return configure


def task_context(
    run_id: str,
    *,
    as_of: datetime | None = None,
    scheduled_for: datetime | None = None,
    triggered_at: datetime | None = None,
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """The Airflow context of one task of a run: a scheduled run for the night ending `scheduled_for`, or
    a manual run triggered at `triggered_at` (with an `as_of` Param when given)."""
    started = triggered_at or datetime.now(UTC)
    scheduled = scheduled_for is not None
    context = {
        "run_id": run_id,
        "params": {"as_of": as_of.isoformat() if as_of else None, **params},
        "dag_run": SimpleNamespace(
            run_type=DagRunType.SCHEDULED if scheduled else DagRunType.MANUAL, run_after=started
        ),
        "data_interval_end": scheduled_for,
        "logical_date": scheduled_for - timedelta(days=1) if scheduled else None,
        "ti": SimpleNamespace(try_number=1),
    }
    return set_current_context(context)


def _now_of_step(runtime, run_id: str, now: datetime) -> datetime:
    return now


def test_a_scheduled_runs_tasks_are_given_the_runs_data_interval_end_as_now(world, task_env):
    night = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(days=1)

    with task_context("scheduled__night", scheduled_for=night):
        now = run_step(_now_of_step)

    assert now == night


def test_a_retried_scan_uses_the_cutoff_its_first_try_recorded(world, task_env):
    world.customer("long.gone@example.org", days_ago=RETENTION_DAYS + 30)

    with task_context("manual__retried"):
        first = run_step(find_expired_customers)
    time.sleep(0.05)  # the retry comes later
    with task_context("manual__retried", triggered_at=datetime.now(UTC)):
        retried = run_step(find_expired_customers)

    assert retried["cutoff"] == first["cutoff"]


def test_the_recorded_run_clock_is_read_back_not_recomputed(world):
    as_of = world.now - timedelta(hours=3)
    first = fix_run_clock(world.runtime, "run-1", as_of)

    later = fix_run_clock(world.runtime, "run-1", as_of + timedelta(hours=1))

    assert later == first
    assert first.cutoff == as_of - timedelta(days=RETENTION_DAYS)


def test_two_runs_with_the_same_as_of_plan_the_same_subjects(world, task_env):
    world.customer("long.gone@example.org", days_ago=RETENTION_DAYS + 100)
    # expired today, not yet as of ten days ago
    world.customer("expired.since@example.org", days_ago=RETENTION_DAYS + 5)
    as_of = datetime.now(UTC) - timedelta(days=10)

    planned = []
    for run_id in ("manual__first", "manual__second"):
        with task_context(run_id, as_of=as_of, dry_run=True):
            scan = run_step(find_expired_customers)
            plan = run_step(plan_retention_purge, scan_counts=scan)
        planned.append((plan["to_submit"], scan["expired_identifiers"]))

    assert planned[0] == planned[1] == (1, 1)


def test_an_as_of_in_the_future_is_refused_naming_as_of(world, task_env):
    future = datetime.now(UTC) + timedelta(hours=1)
    with (
        task_context("manual__future", as_of=future, dry_run=True),
        pytest.raises(AirflowFailException, match="as_of"),
    ):
        validate_settings.function()


def test_a_past_as_of_is_refused_for_a_run_that_erases(world, task_env):
    past = datetime.now(UTC) - timedelta(days=7)
    with (
        task_context("manual__past", as_of=past),
        pytest.raises(AirflowFailException, match=r"as_of.*allow_past_as_of_erasure"),
    ):
        validate_settings.function()


def test_a_past_as_of_is_accepted_for_a_dry_run(world, task_env):
    as_of = datetime.now(UTC) - timedelta(days=7)
    with task_context("manual__past_dry", as_of=as_of, dry_run=True):
        settings = validate_settings.function()

    assert settings["as_of"] == as_of.isoformat()


def test_a_past_as_of_erases_when_the_config_allows_it(world, task_env):
    task_env(allow_past_as_of_erasure=True)
    as_of = datetime.now(UTC) - timedelta(days=7)
    with task_context("manual__past_allowed", as_of=as_of):
        settings = validate_settings.function()

    assert (settings["as_of"], settings["dry_run"]) == (as_of.isoformat(), False)


def test_the_run_report_states_the_runs_as_of_and_cutoff(world):
    as_of = world.now - timedelta(hours=2)
    clock = fix_run_clock(world.runtime, "run-reported", as_of)

    evidence = write_run_evidence(world.runtime, "run-reported", world.now)

    report = json.loads(Path(evidence["report_json"]).read_text(encoding="utf-8"))
    assert (report["parameters"]["as_of"], report["parameters"]["cutoff"]) == (
        clock.as_of.isoformat(),
        clock.cutoff.isoformat(),
    )


def test_a_scheduled_night_caught_up_a_day_late_only_plans_and_says_why(world, task_env, caplog):
    night = datetime.now(UTC) - timedelta(days=1)
    with task_context("scheduled__caught_up", scheduled_for=night):
        settings = validate_settings.function()

    assert (settings["dry_run"], settings["late_run_plans_only"]) == (True, True)
    assert "This run only plans (dry run): it started over 6 h after its own instant" in caplog.text


def _dry_run_of_step(runtime, run_id: str) -> bool:
    return runtime.config.dry_run


def test_every_later_task_of_a_late_night_is_a_dry_run_too(world, task_env):
    night = datetime.now(UTC) - timedelta(days=1)
    with task_context("scheduled__late_tasks", scheduled_for=night):
        validate_settings.function()
        assert run_step(_dry_run_of_step) is True


def _night_whose_first_task_ran_on_time_8_hours_ago(world, run_id: str) -> datetime:
    night = datetime.now(UTC) - timedelta(hours=8)
    cutoff = night - timedelta(days=RETENTION_DAYS)
    world.runtime.ledger.fix_run_clock(run_id, night, cutoff, now=night + timedelta(minutes=5))
    return night


def test_a_night_started_on_time_erases_even_when_a_later_task_is_retried_hours_afterwards(world, task_env):
    night = _night_whose_first_task_ran_on_time_8_hours_ago(world, "scheduled__on_time")
    with task_context("scheduled__on_time", scheduled_for=night):  # this task is a retry now
        assert run_step(_dry_run_of_step) is False


def test_a_night_started_on_time_and_cleared_hours_later_is_refused_not_run_as_of_its_night(world, task_env):
    night = _night_whose_first_task_ran_on_time_8_hours_ago(world, "scheduled__cleared")
    with (
        task_context("scheduled__cleared", scheduled_for=night),
        pytest.raises(AirflowFailException, match=r"as_of: .* being run again \(cleared\)"),
    ):
        validate_settings.function()


def test_a_late_night_erases_when_the_config_allows_past_as_of(world, task_env):
    task_env(allow_past_as_of_erasure=True)
    night = datetime.now(UTC) - timedelta(days=1)
    with task_context("scheduled__late_allowed", scheduled_for=night):
        settings = validate_settings.function()

    assert (settings["dry_run"], settings["late_run_plans_only"]) == (False, False)


def test_a_scheduled_night_caught_up_a_day_late_keeps_its_own_cutoff_in_a_dry_run(world, task_env):
    night = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    with task_context("scheduled__caught_up_dry", scheduled_for=night, dry_run=True):
        settings = validate_settings.function()

    assert settings["cutoff"] == (night - timedelta(days=RETENTION_DAYS)).isoformat()


def test_a_pendulum_logical_date_gives_an_aware_cutoff():
    """Airflow's logical date is a pendulum DateTime; with a standard `timezone.utc` it loses its zone
    when a timedelta is subtracted, and the ledger refuses a naive cutoff (every run failed its first
    task)."""
    import pendulum

    from genesys_erasure.steps.runtime import plain_utc

    logical = pendulum.now("UTC").astimezone(UTC)
    assert (plain_utc(logical) - timedelta(days=1826)).tzinfo is not None

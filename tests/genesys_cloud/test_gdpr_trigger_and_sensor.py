"""GdprRequestsTrigger and GdprRequestsSensor against the real sandbox."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred
from airflow.sdk.module_loading import import_string

from genesys_cloud.hook import GenesysCloudHook
from genesys_cloud.sensors import GdprRequestsSensor, parse_request_ids
from genesys_cloud.triggers import GdprRequestsTrigger
from tests.support.sandbox import CONN_ENV, an_email_subject, calls_to


def events_of(trigger: GdprRequestsTrigger) -> list[dict]:
    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def submit(sb, count: int, request_type: str = "GDPR_DELETE") -> list[str]:
    with GenesysCloudHook() as hook:
        return [hook.submit_gdpr_request(request_type, an_email_subject(sb))["id"] for _ in range(count)]


def trigger_for(
    request_ids: list[str], deadline_iso: str = "", poll_interval: float = 0.2
) -> GdprRequestsTrigger:
    return GdprRequestsTrigger(
        conn_id="genesys_cloud_default",
        request_ids=request_ids,
        deadline_iso=deadline_iso or (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        poll_interval=poll_interval,
    )


def test_trigger_serializes_every_argument_and_round_trips():
    trigger = trigger_for(["r1", "r2"], deadline_iso="2026-12-01T00:00:00+00:00", poll_interval=30)
    classpath, kwargs = trigger.serialize()
    assert classpath == "genesys_cloud.triggers.GdprRequestsTrigger"
    assert set(kwargs) == set(inspect.signature(GdprRequestsTrigger.__init__).parameters) - {"self"}
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert import_string(classpath)(**kwargs).serialize() == (classpath, kwargs)


def test_trigger_reports_done_once_requests_complete(sandbox):
    request_ids = submit(sandbox, 2)
    events = events_of(trigger_for(request_ids))
    assert len(events) == 1
    assert events[0]["status"] == "done"
    assert events[0]["requests"] == {request_id: "COMPLETED" for request_id in request_ids}


def test_trigger_counts_an_errored_request_as_final(sandbox):
    sandbox.control.fail_next_gdpr_requests(1)
    failed, completed = submit(sandbox, 2)
    events = events_of(trigger_for([failed, completed]))
    assert events == [
        {
            "status": "done",
            "requests": {failed: "ERROR", completed: "COMPLETED"},
            "message": "all 2 requests are final",
        }
    ]


def test_trigger_reports_deadline_with_the_statuses_it_saw(sandbox):
    request_ids = submit(sandbox, 1)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    events = events_of(trigger_for(request_ids, deadline_iso=past))
    assert [event["status"] for event in events] == ["deadline"]
    assert events[0]["requests"][request_ids[0]] not in ("COMPLETED", "ERROR")


def test_trigger_reports_a_bad_connection_as_an_error_event(sandbox, monkeypatch):
    connection = json.loads(os.environ[CONN_ENV])
    monkeypatch.setenv(CONN_ENV, json.dumps({**connection, "password": "wrong-secret"}))
    events = events_of(trigger_for(["r1"]))
    assert len(events) == 1
    assert events[0]["status"] == "error"
    assert events[0]["message"].startswith("GenesysAuthError HTTP 401 invalid_client correlation id ")
    assert "wrong-secret" not in events[0]["message"]


def test_trigger_reports_a_missing_connection_as_an_error_event(monkeypatch):
    monkeypatch.delenv(CONN_ENV, raising=False)
    events = events_of(trigger_for(["r1"]))
    assert [event["status"] for event in events] == ["error"]
    assert "genesys_cloud_default" in events[0]["message"]


def test_trigger_only_reads(sandbox):
    request_ids = submit(sandbox, 1)
    sandbox.control.reset_request_counts()
    events_of(trigger_for(request_ids))
    counts = sandbox.control.request_counts()["by_endpoint"]
    assert [endpoint for endpoint in counts if not endpoint.startswith("GET ")] == []


def sensor(request_ids, **kwargs) -> GdprRequestsSensor:
    return GdprRequestsSensor(task_id="wait_for_gdpr", request_ids=request_ids, **kwargs)


def test_sensor_returns_at_once_when_every_request_is_final(sandbox):
    request_ids = submit(sandbox, 2)
    sandbox.control.advance_clock(seconds=5)
    assert sensor(request_ids).execute(context={}) == {request_id: "COMPLETED" for request_id in request_ids}
    assert calls_to(sandbox, "GET /api/v2/gdpr/requests") == 1


def test_sensor_defers_open_requests_with_an_absolute_deadline(sandbox):
    request_ids = submit(sandbox, 1)
    before = datetime.now(UTC)
    with pytest.raises(TaskDeferred) as deferred:
        sensor(request_ids, poll_interval=60, timeout_days=2).execute(context={})
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["request_ids"] == request_ids
    assert kwargs["poll_interval"] == 60
    deadline = datetime.fromisoformat(kwargs["deadline_iso"])
    assert before + timedelta(days=2) <= deadline <= datetime.now(UTC) + timedelta(days=2)
    assert deferred.value.method_name == "execute_complete"


def a_run_started(ago: timedelta) -> dict:
    """The part of a task context the sensor reads: the DAG run and its start."""
    return {"dag_run": SimpleNamespace(start_date=datetime.now(UTC) - ago)}


def test_poke_is_false_until_the_sandbox_finishes_every_request(start_sandbox):
    sb = start_sandbox(gdpr_step_seconds=60)  # requests move only when the test moves the clock
    request_ids = submit(sb, 2)
    waiting = sensor(request_ids, deferrable=False)
    assert waiting.poke(context={}) is False
    sb.control.advance_clock(minutes=2)
    assert waiting.poke(context={}) is False
    sb.control.advance_clock(minutes=5)
    assert waiting.poke(context={}) is True


def test_sensor_that_does_not_defer_pokes_until_done_and_returns_the_statuses(sandbox):
    request_ids = submit(sandbox, 2)
    waiting = sensor(request_ids, deferrable=False, poll_interval=0.2)
    assert waiting.execute(context={}) == {request_id: "COMPLETED" for request_id in request_ids}
    assert calls_to(sandbox, "GET /api/v2/gdpr/requests") >= 2


def test_the_deadline_counts_from_the_start_of_the_run_so_a_retry_does_not_extend_it(start_sandbox):
    request_ids = submit(start_sandbox(gdpr_step_seconds=60), 1)
    context = a_run_started(ago=timedelta(hours=5))
    deadlines = []
    for _try in range(2):
        with pytest.raises(TaskDeferred) as deferred:
            sensor(request_ids, timeout_days=1).execute(context=context)
        deadlines.append(deferred.value.trigger.serialize()[1]["deadline_iso"])
    assert deadlines[0] == deadlines[1]
    assert datetime.fromisoformat(deadlines[0]) == context["dag_run"].start_date + timedelta(days=1)


def test_past_the_deadline_the_sensor_returns_the_open_statuses_without_waiting(start_sandbox):
    request_ids = submit(start_sandbox(gdpr_step_seconds=60), 1)
    late = a_run_started(ago=timedelta(days=3))
    for deferrable in (True, False):
        statuses = sensor(request_ids, timeout_days=2, deferrable=deferrable).execute(context=late)
        assert list(statuses) == request_ids
        assert statuses[request_ids[0]] not in ("COMPLETED", "ERROR")


def test_sensor_returns_statuses_at_the_deadline_instead_of_failing():
    event = {"status": "deadline", "requests": {"r1": "DELETING", "r2": "COMPLETED"}, "message": "…"}
    assert sensor(["r1", "r2"]).execute_complete(context={}, event=event) == {
        "r1": "DELETING",
        "r2": "COMPLETED",
    }


def test_sensor_fails_on_an_error_event_with_its_message():
    event = {"status": "error", "requests": {}, "message": "GenesysAuthError HTTP 401"}
    with pytest.raises(AirflowException, match="GenesysAuthError HTTP 401"):
        sensor(["r1"]).execute_complete(context={}, event=event)


def test_request_ids_rendered_from_xcom_as_text_are_understood():
    assert parse_request_ids("['a', 'b']") == ["a", "b"]
    assert parse_request_ids('["a", "b"]') == ["a", "b"]
    assert parse_request_ids("a, b") == ["a", "b"]
    assert parse_request_ids(("a",)) == ["a"]


def test_a_deadline_set_when_the_task_runs_also_moves_the_timeout_backstop(sandbox):
    """A subclass (the flow's) sets `timeout_days` from the run's config in execute: a wait longer than the
    30-day default must not be cut short by Airflow's timeout before the deadline."""
    request_ids = submit(sandbox, 1)
    sandbox.control.advance_clock(seconds=5)
    waiting = sensor(request_ids)
    waiting.timeout_days = 60
    waiting.execute(context={})
    assert waiting.timeout >= timedelta(days=60).total_seconds()

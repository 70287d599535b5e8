"""The distributed deployment, driven as an operator would: through the REST API only.

Airflow runs as separate processes with the CeleryExecutor (PostgreSQL, Redis, api-server, scheduler,
dag-processor, triggerer, two Celery workers) against the sandbox and the local warehouses. The nightly
purge and an ad-hoc request run side by side: the GDPR sensor waits in the triggerer, the mapped
submissions spread over both workers, the approval is answered through the HITL endpoint, and one worker
is stopped mid-run while both runs go on to succeed on the other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.deployment import CeleryDeployment, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.deployment, pytest.mark.timeout(900)]

NIGHTLY, ADHOC = "genesys_retention_purge", "genesys_subject_erasure"
SUBMIT, WAIT, APPROVE = "erasure.submit", "erasure.wait_for_genesys", "erasure.approve"
# a GDPR request walks at most 4 status steps; the sandbox moves one per gdpr_step_seconds
GDPR_WALK_STEPS = 5
RUN_TIMEOUT = 480.0


def _task(api, dag_id: str, run_id: str, task_id: str) -> dict:
    return api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")


def _in_state(api, dag_id: str, run_id: str, task_id: str, state: str):
    """Returns the task instance once it is in `state`; None while it is not (or does not exist yet)."""
    try:
        ti = _task(api, dag_id, run_id, task_id)
    except AssertionError:  # 404 until the scheduler creates it
        return None
    return ti if ti["state"] == state else None


def _finished(api, dag_id: str, run_id: str) -> str | None:
    state = api.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
    return state if state in ("success", "failed") else None


def _task_instances(api, dag_id: str, run_id: str) -> list[dict]:
    return api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)["task_instances"]


def test_nightly_and_adhoc_runs_finish_on_celery_workers_when_one_worker_stops_mid_run(
    celery_deployment: CeleryDeployment,
):
    deployment = celery_deployment
    admin, analyst, auditor = deployment.api("admin"), deployment.api("analyst"), deployment.api("auditor")
    alive = deployment.check_alive
    org = deployment.sandbox.org
    # the ad-hoc request's subject: a customer in recent contact, whom the nightly purge keeps
    customer = org.add_customer(emails=["dana.deploy@example.org"], phones=[], name="Dana Deploy")
    org.add_conversation(customer, media="email", start=datetime.now(UTC) - timedelta(days=40))

    for dag_id in (NIGHTLY, ADHOC):
        wait_for(f"{dag_id} to be parsed", lambda d=dag_id: admin.get("/dags", dag_id_pattern=d)["dags"], 120, alive)
        admin.patch(f"/dags/{dag_id}", {"is_paused": False})
    nightly = admin.post(f"/dags/{NIGHTLY}/dagRuns", {"logical_date": None, "conf": {"backfill": True}})["dag_run_id"]
    received = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    request = {"ticket": "DSR-IT-0001", "received_on": received, "dry_run": False, "subjects": ["dana.deploy@example.org"]}
    adhoc = analyst.post(f"/dags/{ADHOC}/dagRuns", {"logical_date": None, "conf": request})["dag_run_id"]  # fmt: skip

    # The analyst's real request waits for approval; the privacy officer (admin) answers through HITL.
    wait_for("the approval", lambda: _in_state(admin, ADHOC, adhoc, APPROVE, "awaiting_input"), RUN_TIMEOUT, alive)
    answer = admin.patch(f"/dags/{ADHOC}/dagRuns/{adhoc}/taskInstances/{APPROVE}/-1/hitlDetails",
                         {"chosen_options": ["Approve"]})  # fmt: skip
    assert answer["chosen_options"] == ["Approve"]

    # The sensor waits in the triggerer (a trigger assigned to the triggerer job), holding no worker slot.
    sensor = wait_for(
        "the GDPR sensor to be deferred to the triggerer",
        lambda: (ti := _in_state(admin, NIGHTLY, nightly, WAIT, "deferred")) and ti["triggerer_job"] and ti,
        RUN_TIMEOUT,
        alive,
    )
    assert sensor["trigger"]["classpath"].endswith("GdprRequestsTrigger")
    assert sensor["triggerer_job"]["job_type"] == "TriggererJob"

    submitted = admin.get(f"/dags/{NIGHTLY}/dagRuns/{nightly}/taskInstances/{SUBMIT}/listMapped")["task_instances"]
    assert len(submitted) >= 2 and {ti["state"] for ti in submitted} == {"success"}
    assert {ti["hostname"] for ti in submitted} == set(deployment.workers), "the batches ran on both workers"

    # Stop worker-b mid-run, as `docker compose stop` or a pod eviction would (SIGTERM: warm shutdown).
    stopped = deployment.workers[-1]
    assert deployment.components[stopped].terminate() == 0
    stopped_at = datetime.now(UTC)

    # Once the ad-hoc request is submitted too, Genesys completes every request (sandbox time moves).
    wait_for("the ad-hoc request's sensor", lambda: _in_state(admin, ADHOC, adhoc, WAIT, "deferred"), RUN_TIMEOUT, alive)
    deployment.sandbox.control.advance_clock(GDPR_WALK_STEPS * deployment.settings.gdpr_step_seconds)

    for dag_id, run_id in ((NIGHTLY, nightly), (ADHOC, adhoc)):
        state = wait_for(f"{dag_id} to finish", lambda d=dag_id, r=run_id: _finished(admin, d, r), RUN_TIMEOUT, alive)
        tis = _task_instances(admin, dag_id, run_id)
        assert state == "success", {ti["task_id"]: ti["state"] for ti in tis}
        later = [ti for ti in tis if ti["start_date"] and datetime.fromisoformat(ti["start_date"]) > stopped_at]
        assert later and {ti["hostname"] for ti in later} == {deployment.workers[0]}, "the rest ran on the other"

    # The auditor (viewer role) reads the plan task's log through the API.
    log = auditor.get(f"/dags/{NIGHTLY}/dagRuns/{nightly}/taskInstances/plan_retention_purge/logs/1")
    text = "\n".join(str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in log["content"])
    assert f"to submit in {len(submitted)} batches" in text

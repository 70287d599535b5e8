"""The distributed deployment, driven as an operator would: through the REST API only.

Airflow runs as separate processes with the CeleryExecutor (PostgreSQL, Redis, api-server, scheduler,
dag-processor, triggerer, two Celery workers) against the sandbox and the local warehouses. The nightly
purge and an ad-hoc request run side by side: the GDPR sensor waits in the triggerer, the mapped
submissions spread over both workers, the approval is answered through the HITL endpoint, and one worker
is stopped mid-run while both runs go on to succeed on the other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.browser import chromium_page, log_in
from tests.support.deployment import AirflowApi, CeleryDeployment, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.deployment, pytest.mark.timeout(900)]

NIGHTLY, ADHOC = "genesys_retention_purge", "genesys_subject_erasure"
SUBMIT, WAIT, APPROVE = "erasure.submit", "erasure.wait_for_genesys", "erasure.approve"
SUBJECT = "dana.deploy@example.org"
# a GDPR request walks at most 4 status steps; the sandbox moves one per gdpr_step_seconds
GDPR_WALK_STEPS = 5
TIMEOUT = 480.0


class Run:
    """One DAG run as the REST API shows it."""

    def __init__(self, api: AirflowApi, dag_id: str, conf: dict) -> None:
        self.api, self.dag_id = api, dag_id
        self.run_id = api.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})["dag_run_id"]
        self.path = f"/dags/{dag_id}/dagRuns/{self.run_id}"

    def task(self, task_id: str) -> dict | None:
        try:
            return self.api.get(f"{self.path}/taskInstances/{task_id}")
        except AssertionError:  # 404 until the scheduler creates it
            return None

    def task_in(self, task_id: str, state: str) -> dict | None:
        ti = self.task(task_id)
        return ti if ti and ti["state"] == state else None

    def tasks(self) -> list[dict]:
        return self.api.get(f"{self.path}/taskInstances", limit=500)["task_instances"]

    def finished(self) -> str | None:
        state = self.api.get(self.path)["state"]
        return state if state in ("success", "failed") else None


def _approve(api: AirflowApi, run: Run) -> None:
    answer = api.patch(f"{run.path}/taskInstances/{APPROVE}/-1/hitlDetails", {"chosen_options": ["Approve"]})
    assert answer["chosen_options"] == ["Approve"]


def _started_after(tis: list[dict], moment: datetime) -> list[dict]:
    return [ti for ti in tis if ti["start_date"] and datetime.fromisoformat(ti["start_date"]) > moment]


def _log_text(log: dict) -> str:
    return "\n".join(
        str(line.get("event")) if isinstance(line, dict) else str(line) for line in log["content"]
    )


def test_nightly_and_adhoc_runs_finish_on_celery_workers_when_one_worker_stops_mid_run(
    celery_deployment: CeleryDeployment, tmp_path: Path
):
    deployment = celery_deployment
    alive = deployment.check_alive
    admin, analyst, auditor = (deployment.api(user) for user in ("admin", "analyst", "auditor"))
    # the ad-hoc request's subject: a customer in recent contact, whom the nightly purge keeps
    org = deployment.sandbox.org
    customer = org.add_customer(emails=[SUBJECT], phones=[], name="Dana Deploy")
    org.add_conversation(customer, media="email", start=datetime.now(UTC) - timedelta(days=40))

    deployment.wait_for_dags(NIGHTLY, ADHOC)
    for dag_id in (NIGHTLY, ADHOC):
        admin.patch(f"/dags/{dag_id}", {"is_paused": False})
    nightly = Run(admin, NIGHTLY, {"backfill": True})
    received = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    # the analyst's list as a file (inline subjects are off by default: values in conf are readable by all)
    subjects_file = deployment.rehearsal.home / "dsr" / "DSR-IT-0001.csv"
    subjects_file.parent.mkdir(parents=True, exist_ok=True)
    subjects_file.write_text(f"type,value\nemail,{SUBJECT}\n", encoding="utf-8")
    conf = {"ticket": "DSR-IT-0001", "received_on": received, "dry_run": False}
    adhoc = Run(analyst, ADHOC, {**conf, "subjects_file": subjects_file.as_uri()})

    # The analyst's real request waits for approval, and so does the nightly purge: the first run that
    # submits to a fresh org waits for a person whatever its size. Nothing reaches Genesys before that.
    wait_for("the ad-hoc approval", lambda: adhoc.task_in(APPROVE, "awaiting_input"), TIMEOUT, alive)
    wait_for("the first-contact approval", lambda: nightly.task_in(APPROVE, "awaiting_input"), TIMEOUT, alive)
    posts = deployment.sandbox.control.request_counts()["by_endpoint"].get("POST /api/v2/gdpr/requests", 0)
    assert posts == 0, "nothing is submitted before a person approves"
    # The privacy officer (admin) answers through the HITL endpoint: the nightly plan first.
    _approve(admin, nightly)

    # The sensor waits in the triggerer (its trigger assigned to the triggerer job), holding no worker slot.
    sensor = wait_for(
        "the GDPR sensor deferred to the triggerer",
        lambda: (ti := nightly.task_in(WAIT, "deferred")) and ti["triggerer_job"] and ti,
        TIMEOUT,
        alive,
    )
    assert sensor["trigger"]["classpath"].endswith("GdprRequestsTrigger")
    assert sensor["triggerer_job"]["job_type"] == "TriggererJob"

    submitted = admin.get(f"{nightly.path}/taskInstances/{SUBMIT}/listMapped")["task_instances"]
    assert len(submitted) >= 2 and {ti["state"] for ti in submitted} == {"success"}
    assert {ti["hostname"] for ti in submitted} == set(deployment.workers), "the batches ran on both workers"

    _approve(admin, adhoc)

    # Stop a worker mid-run as `docker compose stop` or a pod eviction would (SIGTERM: warm shutdown).
    assert deployment.components[deployment.workers[1]].terminate() == 0
    stopped_at = datetime.now(UTC)

    # Once the ad-hoc request is submitted too, Genesys completes every request (sandbox time moves).
    wait_for("the ad-hoc request's sensor", lambda: adhoc.task_in(WAIT, "deferred"), TIMEOUT, alive)
    deployment.sandbox.control.advance_clock(GDPR_WALK_STEPS * deployment.settings.gdpr_step_seconds)

    for run in (nightly, adhoc):
        state = wait_for(f"{run.dag_id} to finish", run.finished, TIMEOUT, alive)
        tis = run.tasks()
        assert state == "success", {ti["task_id"]: ti["state"] for ti in tis}
        later = _started_after(tis, stopped_at)
        assert later and {ti["hostname"] for ti in later} == {deployment.workers[0]}, (
            "the rest ran on the other"
        )

    # The auditor (viewer role) reads the plan task's log through the API.
    log = auditor.get(f"{nightly.path}/taskInstances/plan_retention_purge/logs/1")
    assert f"to submit in {len(submitted)} batches" in _log_text(log)

    _auditor_in_a_browser(deployment, nightly, tmp_path)


def _auditor_in_a_browser(deployment: CeleryDeployment, nightly: Run, tmp_path: Path) -> None:
    """The same deployment's UI in Debian's chromium, as the read-only auditor: the evidence page lists the
    run with a valid signature, a task log reads as a sentence, and a trigger is refused."""
    base = deployment.base_url
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with chromium_page() as (context, page):
        log_in(page, base, "auditor", deployment.credentials["auditor"])

        assert page.goto(f"{base}/erasure-evidence/").status == 200
        row = page.locator("tr", has_text=nightly.run_id).filter(has_text="Ed25519").first
        assert "valid" in row.inner_text()
        page.screenshot(path=str(shots / "deployment-evidence.png"), full_page=True)

        run_path = quote(nightly.run_id, safe="")
        page.goto(f"{base}/dags/{NIGHTLY}/runs/{run_path}/tasks/plan_retention_purge")
        page.get_by_text("subject(s) for erasure", exact=False).first.wait_for(timeout=60_000)
        page.screenshot(path=str(shots / "deployment-task-log.png"))

        refused = context.request.post(f"{base}/api/v2/dags/{NIGHTLY}/dagRuns", data={"logical_date": None})
        assert refused.status == 403

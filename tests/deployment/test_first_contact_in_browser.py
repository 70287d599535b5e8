"""First contact with a fresh deployment, in Airflow's UI (Debian's chromium driven by Playwright).

One CeleryExecutor deployment of its own (tests/support/deployment.py), with the scheduler creating
scheduled runs, on the pessimistic org nobody has approved a run for yet:

1. the data engineer (admin) unpauses the nightly purge by clicking its toggle; Airflow starts the latest
   scheduled night at once (catchup=False), and that run waits for a person at `erasure.approve` without
   sending a single GDPR request, listed under Browse → Required Actions. It is left waiting;
2. the analyst types a bad ticket on the intake page and sees it flagged before submitting (no run is
   created), then submits a good ticket and three planted customers' identifiers as a real run;
3. the analyst approves that run by clicking Approve on its required action, the sandbox's GDPR requests
   complete (sandbox time is moved, not waited for) and the run finishes with the subjects erased, while
   the nightly still waits;
4. no planted value is in the metadata or ledger database, the Airflow home, the logs or the reports.

The scheduled run's own instant is the nightly slot (02:00 in the DAG's time zone); a run starting more
than six hours after it only plans, as a dry run (`genesys_erasure.steps.runtime.starts_too_late`, tested
in tests/genesys_erasure/steps/test_run_clock.py), so the deployment runs in the fixed-offset zone where
that slot was an hour or two ago: the data engineer unpauses early in the night's morning, whatever time
the test runs at, and the run that must wait for approval is the one Airflow starts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.deployment.conftest import DEPLOYMENT_ORG
from tests.support.browser import chromium_page, log_in
from tests.support.deployment import AirflowApi, CeleryDeployment, unavailable_reason, wait_for
from tests.support.invariants import no_raw_identifiers, sandbox_requests
from tests.support.sandbox import ApiClient

pytestmark = [pytest.mark.slow, pytest.mark.deployment, pytest.mark.timeout(900)]

NIGHTLY, ADHOC = "genesys_retention_purge", "genesys_subject_erasure"
APPROVE, WAIT = "erasure.approve", "erasure.wait_for_genesys"
GDPR_POSTS = "POST /api/v2/gdpr/requests"
APPROVAL_SUBJECT = "Approve the GDPR erasure plan"
TICKET = "DSR-2026-0113"
TIMEOUT = 480.0
# The analyst's request: three customers in recent contact (the nightly purge keeps them), by e-mail or phone
PLANTED = (
    ("Flora First", "flora.firstcontact.7311@example.org", None),
    ("Gus Gatekeeper", None, "+442079460931"),
    ("Hana Holdfast", "hana.holdfast.7313@example.org", None),
)


def _zone_just_past_the_nightly_slot(now: datetime) -> str:
    """A fixed-offset zone in which it is now between 03:00 and 04:00, so the nightly's latest 02:00 slot
    was one to two hours ago. (POSIX signs: Etc/GMT-3 is three hours east of UTC.)"""
    east = (3 - now.hour) % 24
    if east > 14:  # the zones run from UTC-12 to UTC+14
        east -= 24
    return "UTC" if east == 0 else f"Etc/GMT{-east:+d}"


@pytest.fixture(scope="module")
def first_contact_deployment(tmp_path_factory) -> Iterator[CeleryDeployment]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"the first-contact browser test needs local PostgreSQL and Redis servers: {reason}")
    overrides = {
        # unpausing is what starts the nightly here: the scheduler creates scheduled runs
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": _zone_just_past_the_nightly_slot(datetime.now(UTC)),
    }
    workdir = tmp_path_factory.mktemp("first-contact")
    with CeleryDeployment(workdir, DEPLOYMENT_ORG, airflow_overrides=overrides) as deployment:
        admin = deployment.api("admin")
        deployment.wait_for_dags(NIGHTLY, ADHOC)
        # the ad-hoc DAG has no schedule: unpaused, it runs what the intake page triggers
        admin.patch(f"/dags/{ADHOC}", {"is_paused": False})
        yield deployment


def _runs(api: AirflowApi, dag_id: str) -> list[dict]:
    return api.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]


def _task(api: AirflowApi, dag_id: str, run_id: str, task_id: str) -> dict | None:
    try:
        return api.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}")
    except AssertionError:  # 404 until the scheduler creates it
        return None


def _awaiting_approval(api: AirflowApi, dag_id: str, run_id: str) -> dict | None:
    ti = _task(api, dag_id, run_id, APPROVE)
    return ti if ti and ti["state"] == "awaiting_input" else None


def _gdpr_posts(deployment: CeleryDeployment) -> int:
    return deployment.sandbox.control.request_counts()["by_endpoint"].get(GDPR_POSTS, 0)


@contextmanager
def _screenshot_on_failure(page, path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        raise


def _plant_customers(deployment: CeleryDeployment) -> list:
    org = deployment.sandbox.org
    recent = datetime.now(UTC) - timedelta(days=40)
    customers = []
    for name, email, phone in PLANTED:
        customer = org.add_customer(
            emails=[email] if email else [], phones=[phone] if phone else [], name=name
        )
        org.add_conversation(customer, media="email" if email else "voice", start=recent)
        customers.append(customer)
    return customers


def _needles(customers: list) -> list[str]:
    """Every planted e-mail address (and its local part) and phone number."""
    values = {value for c in customers for value in (*c.emails, *c.phones)}
    return sorted(values | {email.split("@")[0] for c in customers for email in c.emails})


def test_first_contact_waits_for_a_person_and_an_intake_request_is_approved_in_the_ui(
    first_contact_deployment: CeleryDeployment, tmp_path: Path
):
    deployment = first_contact_deployment
    base, alive = deployment.base_url, deployment.check_alive

    def unanswered() -> None:  # while a plan waits for a person: a GDPR request sent now fails at once
        alive()
        assert _gdpr_posts(deployment) == 0, "a GDPR request was sent before anybody approved"

    admin, analyst = deployment.api("admin"), deployment.api("analyst")
    customers = _plant_customers(deployment)
    shots = tmp_path / "screenshots"
    started = time.monotonic()

    with chromium_page(height=1100) as (context, page):
        # 1. the data engineer unpauses the nightly purge in Airflow's UI
        log_in(page, base, "admin", deployment.credentials["admin"])
        with _screenshot_on_failure(page, shots / "unpause-failed.png"):
            page.goto(f"{base}/dags/{NIGHTLY}")
            toggle = page.get_by_test_id("toggle-pause")
            toggle.wait_for(timeout=60_000)
            assert not toggle.get_by_role("checkbox").is_checked(), "a fresh deployment's nightly is paused"
            toggle.click()
            wait_for(
                "the nightly unpaused", lambda: not admin.get(f"/dags/{NIGHTLY}")["is_paused"], 60, alive
            )

        scheduled = wait_for("the latest scheduled night", lambda: _runs(admin, NIGHTLY), 120, alive)
        assert [r["run_type"] for r in scheduled] == ["scheduled"]
        night = scheduled[0]["dag_run_id"]
        slot = datetime.fromisoformat(scheduled[0]["data_interval_end"])
        assert timedelta(0) < datetime.now(UTC) - slot < timedelta(hours=3), "the night that just passed"
        wait_for("the first-contact approval", lambda: _awaiting_approval(admin, NIGHTLY, night), TIMEOUT,
                 unanswered)  # fmt: skip
        assert _gdpr_posts(deployment) == 0, "nothing reaches Genesys before a person approves"

        with _screenshot_on_failure(page, shots / "required-actions-failed.png"):
            page.goto(f"{base}/required_actions?response_received=false")
            waiting = page.get_by_role("row").filter(has_text=NIGHTLY).filter(has_text=APPROVAL_SUBJECT)
            waiting.first.wait_for(timeout=60_000)
            page.screenshot(path=str(shots / "first-contact-waiting.png"), full_page=True)
            waiting.first.get_by_role("link", name=APPROVAL_SUBJECT).click()
            page.get_by_text("First contact", exact=False).first.wait_for(timeout=60_000)
            page.get_by_role("button", name="Approve").wait_for()  # offered, and left unanswered

        # 2. the analyst's ad-hoc request on the intake page
        analyst_context = context.browser.new_context(viewport={"width": 1400, "height": 1100})
        intake = analyst_context.new_page()
        log_in(intake, base, "analyst", deployment.credentials["analyst"])
        with _screenshot_on_failure(intake, shots / "intake-failed.png"):
            intake.goto(f"{base}/erasure-evidence/intake")
            submit = intake.get_by_role("button", name="Seal the list and trigger the erasure")
            intake.fill("#ticket", "-bad ticket")
            assert "2-64 letters" in intake.locator("#ticket-error").inner_text()
            assert intake.locator("#ticket").get_attribute("aria-invalid") == "true"
            submit.click()
            assert intake.locator("#ticket:invalid").count() == 1, "still the form: the browser refused"
            assert _runs(admin, ADHOC) == [], "a flagged form triggers nothing"

            intake.fill("#ticket", TICKET)
            assert intake.locator("#ticket-error").inner_text() == ""
            intake.fill("#received_on", (datetime.now(UTC).date() - timedelta(days=3)).isoformat())
            typed = [c.emails[0] if c.emails else c.phones[0] for c in customers]
            intake.fill("#subjects", "\n".join(typed))
            intake.locator("#dry_run").uncheck()  # the real run: it waits for approval
            submit.click()
            intake.locator("#intake-done", has_text="waits for approval").wait_for(timeout=60_000)
            request_run = intake.locator("#run-id").inner_text()
            assert not any(value in intake.content() for value in typed)

        wait_for("the ad-hoc approval", lambda: _awaiting_approval(admin, ADHOC, request_run), TIMEOUT,
                 unanswered)  # fmt: skip
        assert _gdpr_posts(deployment) == 0

        # 3. the analyst approves the request's plan by clicking Approve on its required action
        with _screenshot_on_failure(intake, shots / "approve-failed.png"):
            intake.goto(f"{base}/required_actions?response_received=false")
            row = intake.get_by_role("row").filter(has_text=ADHOC).filter(has_text=APPROVAL_SUBJECT)
            row.first.get_by_role("link", name=APPROVAL_SUBJECT).click()
            intake.get_by_role("button", name="Approve").click()
            intake.get_by_text("response successful", exact=False).first.wait_for(timeout=60_000)
            intake.screenshot(path=str(shots / "request-approved.png"), full_page=True)
        analyst_context.close()

    answer = analyst.get(
        f"/dags/{ADHOC}/dagRuns/{quote(request_run, safe='')}/taskInstances/{APPROVE}/-1/hitlDetails"
    )
    assert answer["chosen_options"] == ["Approve"] and answer["responded_by_user"]["name"] == "analyst"
    state = wait_for(
        "the request's run to finish", _see_through(deployment, admin, request_run), TIMEOUT, alive
    )
    print(f"[first-contact] browser steps and run: {time.monotonic() - started:.0f}s")
    assert state == "success", {ti["task_id"]: ti["state"] for ti in _run_tasks(admin, ADHOC, request_run)}

    # Genesys erased the three, once each; the nightly plan still waits for its own person
    _erased_at_the_sandbox(deployment, customers)
    assert _gdpr_posts(deployment) == len(customers)
    assert _awaiting_approval(admin, NIGHTLY, night), "approving one run does not release another"

    # 4. no planted value anywhere the deployment wrote (metadata DB, ledger DB, home, logs, reports)
    assert no_raw_identifiers(deployment, _needles(customers)) == []


def _run_tasks(api: AirflowApi, dag_id: str, run_id: str) -> list[dict]:
    return api.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances", limit=500)[
        "task_instances"
    ]


def _see_through(deployment: CeleryDeployment, api: AirflowApi, run_id: str):
    """A probe for `wait_for`: the run's final state once it ended; meanwhile, while a sensor waits for
    Genesys, sandbox time moves on (an hour per GDPR status step) instead of the test sleeping."""
    moved_at = [0.0]

    def probe() -> str | None:
        state = api.get(f"/dags/{ADHOC}/dagRuns/{quote(run_id, safe='')}")["state"]
        if state in ("success", "failed"):
            return state
        deferred = any(ti["state"] == "deferred" for ti in _run_tasks(api, ADHOC, run_id))
        if deferred and time.monotonic() - moved_at[0] > 2:
            deployment.sandbox.control.advance_clock(5 * deployment.settings.gdpr_step_seconds)
            moved_at[0] = time.monotonic()
        return None

    return probe


def _erased_at_the_sandbox(deployment: CeleryDeployment, customers: list) -> None:
    """Each planted customer's GDPR request completed, and their conversations no longer hold the values."""
    requests = sandbox_requests(deployment.sandbox)
    for customer in customers:
        values = {*customer.emails, *customer.phones}
        about = [r for r in requests if values & {*r.subject.get("emailAddresses", ()),
                                                  *r.subject.get("phoneNumbers", ())}]  # fmt: skip
        assert [r.status for r in about] == ["COMPLETED"], customer.name
    ids = [cid for c in customers for cid in c.conversation_ids]
    answer = ApiClient(deployment.sandbox).get(
        "/api/v2/analytics/conversations/details", params={"id": ",".join(ids)}
    )
    details = json.dumps(answer.json()).lower()
    assert not any(value.lower() in details for c in customers for value in (*c.emails, *c.phones))

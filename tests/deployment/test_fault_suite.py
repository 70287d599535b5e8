"""The fault suite: nightly runs of a CeleryExecutor deployment (tests/support/deployment.py) under the
faults a deployment meets, each followed by the invariants checked from outside the pipeline
(tests/support/invariants.py): every subject settled in one state, no subject posted twice, ledger,
Genesys (the sandbox) and the signed report in agreement, no raw identifier in any file or database.

One deployment for the module, on a small org of the sandbox's pessimistic profile: its deletes land up to
72 sandbox hours after Genesys says COMPLETED, so right after a run a subject is verified or
`erasure_pending`, and later runs re-check the pending ones. Each fault test stands alone: it adds a few
customers past retention (so its run has subjects to erase), answers an approval when asked (the org's
first run waits for a person), and leaves the sandbox healthy. The module's last test moves sandbox time
past every delete lag and runs once more: every subject must then be final. Sandbox time is advanced
instead of waited for. The only real waits are Airflow's own: processes picking up tasks, and a retry
after a worker is killed.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest

from genesys_sandbox import SandboxSettings
from tests.deployment.test_celery_deployment import Run
from tests.support.deployment import AirflowApi, CeleryDeployment, unavailable_reason
from tests.support.invariants import (
    FINAL_STATES,
    check_run,
    known_subjects,
    read_ledger,
    sandbox_requests,
    settling_time,
)

pytestmark = [pytest.mark.slow, pytest.mark.deployment, pytest.mark.timeout(900)]

NIGHTLY, ADHOC = "genesys_retention_purge", "genesys_subject_erasure"
APPROVE, SUBMIT, WAIT = "erasure.approve", "erasure.submit", "erasure.wait_for_genesys"
RUN_TIMEOUT = 300.0
NEW_PER_RUN = 3  # customers past retention added before each run: every run has subjects to erase
# The pessimistic profile (as tests/deployment/conftest.py's DEPLOYMENT_ORG: lagging deletes, tokenised
# search, real data shapes, a failed first analytics job, one job at a time, short-lived results, ...) on
# ~20 customers past retention, one submission batch. Relaxed only where no fault here is about it, so a
# fault is the only thing slowing a run: no rate limiting (the 429 storm brings its own 429s; a limiter
# would add ones no test places), and analytics jobs that queue no time (the profile's 5 s plus 0.02 s per
# day of 12 years of history is ~90 s of real time per job and run; the busy-org end-to-end test runs
# that). GDPR requests move only when the test moves sandbox time (an hour per status step).
FAULT_ORG = SandboxSettings.for_profile(
    "pessimistic",
    seed=12,
    customers=40,
    conversations=120,
    years=12,
    rate_limit_per_window=100_000,
    job_fulfil_seconds=0,
    job_seconds_per_day=0,
    gdpr_step_seconds=3600,
)
# A killed worker's task is declared dead after 15 s without a heartbeat, not Airflow's default 5 min. A
# live task heartbeats every 2 s (Airflow's default is 5 s), so on a busy machine several heartbeats must be
# late in a row before a healthy task is taken for dead and retried, which the tests asserting no retry
# would report as a failure.
FAST_DEATH = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
}
# ... and retried 5 to 10 s later, not the DAGs' one to two minutes: a cluster policy of this deployment
# (tests/support/deployment.py, `task_retry_delay`); the DAG files, their default_args (which fix the delay,
# so no Airflow setting could) and the backoff are production's. What the kill test checks (the retry
# adopts the orphaned request) does not depend on how long the retry waited.
RETRY_DELAY = timedelta(seconds=5)
_numbers = count(1)


@pytest.fixture(scope="module")
def fault_deployment(tmp_path_factory) -> Iterator[CeleryDeployment]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"the fault suite needs local PostgreSQL and Redis servers: {reason}")
    workdir = tmp_path_factory.mktemp("fault-suite")
    with CeleryDeployment(
        workdir, FAULT_ORG, airflow_overrides=FAST_DEATH, task_retry_delay=RETRY_DELAY
    ) as deployment:
        admin = deployment.api("admin")
        deployment.wait_for_dags(NIGHTLY, ADHOC)
        for dag_id in (NIGHTLY, ADHOC):
            admin.patch(f"/dags/{dag_id}", {"is_paused": False})
        yield deployment


@pytest.fixture(autouse=True)
def clean_faults(fault_deployment: CeleryDeployment) -> Iterator[None]:
    """Each test starts and ends with a healthy sandbox."""
    control = fault_deployment.sandbox.control
    control.reset_request_counts()
    yield
    control.apply({"error_rate_5xx": 0, "latency_ms": 0, "burst_429": 0, "fail_next_requests": 0,
                   "fail_next_gdpr_requests": 0, "reject_next_gdpr_requests": 0})  # fmt: skip


@pytest.fixture
def new_subjects(fault_deployment: CeleryDeployment) -> list:
    """A few new customers past retention: the test's run finds subjects to erase."""
    return _add_expired_customers(fault_deployment, NEW_PER_RUN)


def _add_expired_customers(deployment: CeleryDeployment, how_many: int) -> list:
    org = deployment.sandbox.org
    last_contact = datetime.now(UTC) - timedelta(days=7 * 365)
    added = []
    for _ in range(how_many):
        n = next(_numbers)
        customer = org.add_customer(
            emails=[f"fault.subject{n}@example.org"], phones=[f"+4420794{n:05d}"], name=f"Fault Subject {n}"
        )
        org.add_conversation(customer, media="voice", start=last_contact)
        added.append(customer)
    return added


def _needles(deployment: CeleryDeployment) -> list[str]:
    """Every e-mail address and phone number of every customer of the org: none may leave the sandbox."""
    customers = deployment.sandbox.org.customers.values()
    return sorted({value for c in customers for value in (*c.emails, *c.phones)})


def _identifiers_of(subject: dict) -> set[str]:
    return {*subject.get("emailAddresses", ()), *subject.get("phoneNumbers", ())}


def _report(deployment: CeleryDeployment, run_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
    return deployment.workdir / "erasure-home" / "reports" / f"erasure-report-{safe}.json"


def run_nightly(
    deployment: CeleryDeployment,
    api: AirflowApi,
    *,
    during: Callable[[Run, list[dict]], None] | None = None,
) -> Run:
    """Trigger the nightly purge and see it through (`see_through`). Returns the finished run, with the
    subjects the ledger knew before it (`known_before`)."""
    known_before = known_subjects(deployment.ledger_url)
    run = see_through(deployment, [Run(api, NIGHTLY, {"backfill": True})], during=during)[0]
    run.known_before = known_before
    return run


def see_through(
    deployment: CeleryDeployment,
    runs: list[Run],
    *,
    during: Callable[[Run, list[dict]], None] | None = None,
) -> list[Run]:
    """See runs through as their operator and Genesys would: approve when one asks, move sandbox time
    while a sensor waits for Genesys. `during(run, task_instances)` is called on every look, for a fault
    that needs a moment inside a run. Returns the runs, each with its final `state`."""
    deadline = time.monotonic() + RUN_TIMEOUT
    advanced_at = 0.0
    pending = list(runs)
    while pending:
        deployment.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs {[r.run_id for r in pending]} not finished after {RUN_TIMEOUT:.0f}s")
        for run in list(pending):
            if (state := run.finished()) is not None:
                run.state = state
                pending.remove(run)
                print(f"[fault-suite] {run.run_id}: {state}")
                continue
            tis = run.tasks()
            if during is not None:  # first: a fault placed at a moment must come before time moves on
                during(run, tis)
            states = {ti["task_id"]: ti["state"] for ti in tis}
            if states.get(APPROVE) == "awaiting_input":
                deployment.api("admin").patch(
                    f"{run.path}/taskInstances/{APPROVE}/-1/hitlDetails", {"chosen_options": ["Approve"]}
                )
            # a deferred sensor waits for Genesys: the sandbox walks its requests an hour per step. Only
            # while a request is unfinished: sandbox time running days ahead of the pipeline's clock would
            # make a recording's deleteDate (set when the delete completes) look like a retention date
            # past the pipeline's pending deadline (7 days), i.e. a delete that never reached it
            if (
                "deferred" in states.values()
                and time.monotonic() - advanced_at > 2
                and _unfinished(deployment)
            ):
                deployment.sandbox.control.advance_clock(hours=5)
                advanced_at = time.monotonic()
        time.sleep(0.5)  # the other processes' pace: there is no clock of theirs to advance
    return runs


def _unfinished(deployment: CeleryDeployment) -> bool:
    """Whether Genesys (the sandbox) holds a GDPR request that has not ended yet."""
    return any(not request.final for request in sandbox_requests(deployment.sandbox))


def _finished_and_sound(
    deployment: CeleryDeployment, run: Run, rechecked_from: datetime | None = None
) -> None:
    report = _report(deployment, run.run_id)
    check_run(deployment, run.run_id, report, _needles(deployment), rechecked_from=rechecked_from)
    tis = run.tasks()
    assert run.state == "success", {ti["task_id"]: ti["state"] for ti in tis}


def _of_run(deployment: CeleryDeployment, run: Run) -> dict:
    return {h: s for h, s in read_ledger(deployment.ledger_url).items() if s.run_id == run.run_id}


def _no_task_retried(run: Run) -> None:
    """The fault was absorbed where it struck: no task of the run needed a second try."""
    retried = {ti["task_id"] for ti in run.tasks() if ti["try_number"] > 1}
    assert not retried, f"retried: {sorted(retried)}"


def _erased_all_new(deployment: CeleryDeployment, run: Run) -> None:
    """The subjects the run planned for the first time were erased: verified, or `erasure_pending` while
    their deletes still land (the module's last test sees those final). The org's own customers, new to
    the first run, may also be `needs_review`: the profile's real data shapes put some of their data where
    no GDPR delete reaches (participant attributes, a header shared with somebody kept)."""
    new = [s for h, s in read_ledger(deployment.ledger_url).items() if h not in run.known_before]
    erased = [s for s in new if s.state in ("verified", "erasure_pending")]
    assert len(erased) >= NEW_PER_RUN, [s.name() for s in new]
    neither = [s.name() for s in new if s not in erased and s.state != "needs_review"]
    assert not neither, f"planned but not erased: {neither}"


# -- API faults, one per run --------------------------------------------------------------------------


class Storm429:
    """A storm of 429s over the whole run: bursts of `burst` answers (each a `Retry-After: 1`), the next
    armed only `pause` seconds after the last was spent, until `total` were served. Genesys lets a client
    through once it waited as told; the sandbox's burst answers whoever asks next, so a burst as long as a
    call's attempts (5), or bursts back to back, would be a sandbox that never lets anybody through."""

    def __init__(self, control, total: int, burst: int = 2, pause: float = 2.5) -> None:
        self.control, self.total, self.burst, self.pause = control, total, burst, pause
        self.armed = 0
        self.spent_seen_at: float | None = 0.0  # armed at once

    def __call__(self, run: Run, tis: list[dict]) -> None:
        if self.armed >= self.total:
            return
        now = time.monotonic()
        if self.spent_seen_at is None:
            if self.control.faults()["pending_429"] == 0:
                self.spent_seen_at = now
        elif now - self.spent_seen_at >= self.pause:
            self.control.burst_429(self.burst, retry_after=1)
            self.armed += self.burst
            self.spent_seen_at = None

    def served(self) -> int:
        return self.control.request_counts()["by_status"].get("429", 0)


def test_a_429_storm_is_waited_out(fault_deployment, new_subjects):
    storm = Storm429(fault_deployment.sandbox.control, total=20)
    run = run_nightly(fault_deployment, fault_deployment.api("admin"), during=storm)
    _finished_and_sound(fault_deployment, run)
    _erased_all_new(fault_deployment, run)
    assert storm.served() >= 10, "the storm hit the run"


def test_five_percent_5xx_are_retried(fault_deployment, new_subjects):
    fault_deployment.sandbox.control.set_error_rate_5xx(0.05)
    run = run_nightly(fault_deployment, fault_deployment.api("admin"))
    _finished_and_sound(fault_deployment, run)
    _erased_all_new(fault_deployment, run)
    served = fault_deployment.sandbox.control.request_counts()["by_status"]
    assert served.get("503", 0) + served.get("500", 0) > 0, "the fault hit the run"


class LatencySpike:
    """Every answer `base_ms` late, and `spike_ms` late for `spike_seconds` once a sensor waits (the
    trigger's polls and whatever else runs then)."""

    def __init__(self, control, base_ms: int = 100, spike_ms: int = 2000, spike_seconds: float = 6) -> None:
        self.control, self.base_ms, self.spike_ms = control, base_ms, spike_ms
        self.spike_seconds = spike_seconds
        self.spiked_at: float | None = None
        control.set_latency_ms(base_ms)

    def __call__(self, run: Run, tis: list[dict]) -> None:
        if self.spiked_at is None and any(ti["state"] == "deferred" for ti in tis):
            self.control.set_latency_ms(self.spike_ms)
            self.spiked_at = time.monotonic()
        elif self.spiked_at is not None and time.monotonic() - self.spiked_at > self.spike_seconds:
            self.control.set_latency_ms(self.base_ms)


def test_latency_spikes_slow_the_run_down_only(fault_deployment, new_subjects):
    spike = LatencySpike(fault_deployment.sandbox.control)
    run = run_nightly(fault_deployment, fault_deployment.api("admin"), during=spike)
    assert spike.spiked_at is not None
    _finished_and_sound(fault_deployment, run)
    _erased_all_new(fault_deployment, run)


def test_revoked_tokens_are_replaced(fault_deployment, new_subjects):
    control = fault_deployment.sandbox.control
    control.revoke_tokens()  # whatever a worker cached from the last run is dead

    def revoke_once_more(run: Run, tis: list[dict]) -> None:  # and again while the sensor waits
        if any(ti["state"] == "deferred" for ti in tis) and not revoked:
            revoked.append(control.revoke_tokens())

    revoked: list[int] = []
    run = run_nightly(fault_deployment, fault_deployment.api("admin"), during=revoke_once_more)
    _finished_and_sound(fault_deployment, run)
    _erased_all_new(fault_deployment, run)
    assert control.request_counts()["by_status"].get("401", 0) > 0, "a revoked token was used and refused"


def test_gdpr_requests_ending_in_error_are_resubmitted_once(fault_deployment, new_subjects):
    fault_deployment.sandbox.control.fail_next_gdpr_requests(2)
    run = run_nightly(fault_deployment, fault_deployment.api("admin"))
    _finished_and_sound(fault_deployment, run)
    resubmitted = [s for s in _of_run(fault_deployment, run).values() if len(s.request_ids) == 2]
    assert len(resubmitted) == 2, [s.name() for s in resubmitted]
    erased = [s for s in resubmitted if s.state in ("verified", "erasure_pending")]
    assert erased == resubmitted, [s.name() for s in resubmitted]


def test_every_api_fault_at_once(fault_deployment, new_subjects):
    control = fault_deployment.sandbox.control
    storm = Storm429(control, total=10)
    control.set_error_rate_5xx(0.05)
    control.set_latency_ms(100)
    control.revoke_tokens()
    control.fail_next_gdpr_requests(1)
    run = run_nightly(fault_deployment, fault_deployment.api("admin"), during=storm)
    _finished_and_sound(fault_deployment, run)
    _erased_all_new(fault_deployment, run)


# -- a worker killed between Genesys creating a request and the ledger hearing of it --------------------


def test_a_worker_killed_between_the_gdpr_post_and_the_ledger_write_posts_nothing_twice(
    fault_deployment, new_subjects
):
    deployment = fault_deployment
    hold = deployment.sandbox.control.hold_next_gdpr_post(max_hold_seconds=120)
    killed: list[str] = []
    running_on: list[str] = []

    def kill_the_poster(run: Run, tis: list[dict]) -> None:
        if killed:
            return
        try:
            request_id = hold.wait_until_held(timeout=0.1)
        except TimeoutError:
            return
        # the one submit task running now is the one waiting for the held answer
        running = [ti for ti in run.api.get(f"{run.path}/taskInstances/{SUBMIT}/listMapped")["task_instances"]
                   if ti["state"] == "running"]  # fmt: skip
        assert len(running) == 1, running
        worker = deployment.components[running[0]["hostname"]]
        running_on.append(worker.name)
        worker.signal_group(signal.SIGKILL)  # the node dies: no cleanup, no goodbye to the scheduler
        hold.release()  # the answer now goes to nobody
        killed.append(request_id)
        print(f"[fault-suite] killed {worker.name} holding request {request_id}")

    run = run_nightly(deployment, deployment.api("admin"), during=kill_the_poster)
    assert killed, "the submit task never posted"
    _finished_and_sound(deployment, run)
    _erased_all_new(deployment, run)
    # the orphaned request was adopted, not posted again
    owners = [s for s in read_ledger(deployment.ledger_url).values() if killed[0] in s.request_ids]
    assert len(owners) == 1 and owners[0].request_ids == (killed[0],), owners
    tries = run.api.get(f"{run.path}/taskInstances/{SUBMIT}/listMapped")["task_instances"]
    assert max(ti["try_number"] for ti in tries) == 2, "Airflow's retry took over"
    assert len([r for r in sandbox_requests(deployment.sandbox) if r.id == killed[0]]) == 1
    deployment.restart(running_on[0], sig=signal.SIGKILL)  # back to two workers for what follows


# -- the ledger's database connections dropped ----------------------------------------------------------


def test_ledger_connections_dropped_mid_run_lose_nothing(fault_deployment, new_subjects):
    deployment = fault_deployment
    hold = deployment.sandbox.control.hold_next_gdpr_post(max_hold_seconds=120)
    dropped: list[int] = []

    def drop_ledger_sessions(run: Run, tis: list[dict]) -> None:
        if not dropped:
            try:  # the submit task wrote its claim and waits for Genesys' answer: its session is idle
                hold.wait_until_held(timeout=0.1)
            except TimeoutError:
                return
            dropped.append(deployment.terminate_sessions(deployment.ledger_db))
            hold.release()
        elif len(dropped) == 1 and any(ti["state"] == "deferred" for ti in tis):
            dropped.append(deployment.terminate_sessions(deployment.ledger_db))

    run = run_nightly(deployment, deployment.api("admin"), during=drop_ledger_sessions)
    assert dropped and dropped[0] >= 1, "the submit task's ledger session was dropped"
    _finished_and_sound(deployment, run)
    _erased_all_new(deployment, run)
    _no_task_retried(run)  # a dropped idle session is replaced on its next use (pre-ping)


# -- Airflow's own processes restarted ------------------------------------------------------------------


def test_the_triggerer_restarted_while_the_sensor_waits(fault_deployment, new_subjects):
    deployment = fault_deployment
    before: list[dict] = []

    def restart_triggerer(run: Run, tis: list[dict]) -> None:
        sensor = next((ti for ti in tis if ti["task_id"] == WAIT), None)
        if not before and sensor and sensor["state"] == "deferred" and sensor["triggerer_job"]:
            before.append(sensor["triggerer_job"])
            deployment.restart("triggerer")

    run = run_nightly(deployment, deployment.api("admin"), during=restart_triggerer)
    assert before, "the sensor deferred"
    _finished_and_sound(deployment, run)
    _erased_all_new(deployment, run)
    _no_task_retried(run)  # the new triggerer took the trigger over: the sensor did not start again


def test_the_scheduler_restarted_mid_run(fault_deployment, new_subjects):
    deployment = fault_deployment
    restarted: list[bool] = []

    def restart_scheduler(run: Run, tis: list[dict]) -> None:
        submitted = [ti for ti in tis if ti["task_id"] == SUBMIT and ti["state"] == "success"]
        if not restarted and submitted:
            deployment.restart("scheduler")
            restarted.append(True)

    run = run_nightly(deployment, deployment.api("admin"), during=restart_scheduler)
    assert restarted
    _finished_and_sound(deployment, run)
    _erased_all_new(deployment, run)
    _no_task_retried(run)


# -- two runs planning one person -----------------------------------------------------------------------


def test_an_adhoc_run_and_the_nightly_planning_one_person_post_once(fault_deployment, tmp_path):
    deployment = fault_deployment
    person = _add_expired_customers(deployment, 1)[0]  # past retention: the nightly plans them too
    # the analyst's file lives outside the deployment (values typed into the form would be kept in the run
    # configuration: README, "Ad-hoc erasure")
    subjects_file = tmp_path / "DSR-FAULT-1.csv"
    subjects_file.write_text(f"type,value\nemail,{person.emails[0]}\n", encoding="utf-8")
    received = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    conf = {"ticket": "DSR-FAULT-1", "received_on": received, "dry_run": False,
            "subjects_file": subjects_file.as_uri()}  # fmt: skip
    adhoc = Run(deployment.api("analyst"), ADHOC, conf)
    nightly = Run(deployment.api("admin"), NIGHTLY, {"backfill": True})
    for run in see_through(deployment, [adhoc, nightly]):
        _finished_and_sound(deployment, run)
    identifiers = {*person.emails, *person.phones}
    about = [r for r in sandbox_requests(deployment.sandbox) if identifiers & _identifiers_of(r.subject)]
    assert len([r for r in about if r.status != "ERROR"]) == 1, [(r.id, r.status) for r in about]


# -- past every delete lag: every subject final ---------------------------------------------------------


def test_every_subject_is_final_once_its_deletes_have_landed(fault_deployment):
    """The module's catch-up: sandbox time moves past the longest delete lag, and one more nightly run
    (no new customers) re-checks every subject earlier runs left `erasure_pending`. Then every subject is
    final, none was posted twice, and ledger, Genesys and the signed report agree."""
    deployment = fault_deployment
    if not known_subjects(deployment.ledger_url):  # alone on a fresh deployment: first a run to catch up on
        _add_expired_customers(deployment, NEW_PER_RUN)
        run_nightly(deployment, deployment.api("admin"))
    pending = [s for s in read_ledger(deployment.ledger_url).values() if s.state == "erasure_pending"]
    print(f"[fault-suite] {len(pending)} subject(s) erasure_pending before the catch-up run")
    past_every_lag = settling_time(deployment.settings) + timedelta(hours=1)
    rechecked_from = deployment.sandbox.control.advance_clock(past_every_lag.total_seconds())
    run = run_nightly(deployment, deployment.api("admin"))
    _finished_and_sound(deployment, run, rechecked_from=rechecked_from)
    not_final = [s.name() for s in read_ledger(deployment.ledger_url).values() if s.state not in FINAL_STATES]
    assert not not_final, f"not final after the delete lag: {not_final}"

"""The erasure flow, built once and used by the nightly purge and the ad-hoc DAG alike, and its tail
(verify, warehouses, evidence, compliance), which the request listener uses on its own.

    plan ─► approval gate ─► [approve] ─► submit (mapped, ≤100 subjects each) ─► wait (deferred)
         ─► settle ─► back-off ─► resubmit errors ─► wait again ─► settle ─► verify
         ─► warehouse cleanup ─► evidence ─► compliance

The DAG supplies the `plan` task (how subjects are found differs); everything after it is here.
`build_erasure_flow` returns an `ErasureFlow`, whose named handles let a DAG wire more tasks to the flow
without spelling task ids. Each task is thin: `run_step` opens the runtime for the run's Params, calls one
step and closes the runtime. The step modules are imported inside the tasks: a DAG file must parse fast,
and they pull in the HTTP, database and crypto libraries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import Asset, TaskGroup, XComArg, get_current_context, task

from genesys_cloud.sensors import GdprRequestsSensor
from genesys_erasure.tasks.policy import WAREHOUSE_POOL
from genesys_erasure.tasks.runtime import run_step

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from genesys_erasure.steps.runtime import ErasureRuntime

ERASURES_ASSET = Asset(name="genesys_gdpr_erasures", uri="genesys-cloud://gdpr/erasures")


def _is_retry(context: Any) -> bool:
    """Airflow retries only after a failure: a try after the first finds its predecessor dead."""
    return context["ti"].try_number > 1


def _replacement(context: Any) -> str:
    """The text a GDPR_UPDATE writes over the subject's identifiers: the run's `replacement_text` Param
    (the ad-hoc DAG's form), else the default."""
    from genesys_erasure.steps import submit as submission

    return context["params"].get("replacement_text") or submission.DEFAULT_REPLACEMENT


def load_run_config(params: Any) -> Any:
    """`genesys_erasure.steps.runtime.load_run_config`, imported when a task runs, not when a DAG parses."""
    from genesys_erasure.steps.runtime import load_run_config as load

    return load(params)


class RunGdprRequestsSensor(GdprRequestsSensor):
    """The GDPR sensor with its poll interval and deadline taken from the run's configuration; the
    deadline is absolute, counted from the start of the DAG run (a retried sensor does not extend it)."""

    def execute(self, context: Any) -> dict[str, str]:
        config = load_run_config(context["params"])  # the settings only: no keys needed to wait
        self.poll_interval = self.poke_interval = float(config.poll_interval_seconds)
        self.timeout_days = float(config.wait_deadline_days)  # the base counts it from the run's start
        self.genesys_conn_id = config.genesys_conn_id
        return super().execute(context)


@task.branch
def approval_gate(plan: dict[str, Any], *, approve: str, proceed: str) -> str:
    """Large plans wait for a human (the task `approve`); the rest go straight on (the task `proceed`)."""
    return approve if plan["needs_approval"] else proceed


@task(trigger_rule="none_failed_min_one_success")
def submissions_ready(plan: dict[str, Any]) -> list[list[str]]:
    """The batches to submit (empty for a dry run), once approved or when no approval is needed."""
    from genesys_erasure.steps import plan as planning

    # wall clock: the ledger records when a person actually approved
    return run_step(planning.batches_once_approved, plan=plan, clock="wall")


@task(map_index_template="{{ batch_label }}", max_active_tis_per_dagrun=4)
def submit(batch: list[str]) -> dict[str, Any]:
    context = get_current_context()
    context["batch_label"] = f"{len(batch)} subjects from {batch[0][:10]}…" if batch else "empty"
    from genesys_erasure.steps import submit as submission

    return run_step(
        submission.submit_batch,
        subject_hashes=batch,
        is_retry=_is_retry(context),
        replacement=_replacement(context),
    )


@task(trigger_rule="none_failed")
def requests_in_flight() -> list[str]:
    from genesys_erasure.steps import submit as submission

    return run_step(submission.request_ids_in_flight)


@task
def settle(statuses: dict[str, str], *, allow_resubmit: bool) -> dict[str, Any]:
    from genesys_erasure.steps import settle as outcomes

    return run_step(outcomes.settle_requests, statuses=statuses or {}, allow_resubmit=allow_resubmit)


@task
def resubmit_errors() -> dict[str, Any]:
    context = get_current_context()
    return run_step(_resubmit_errors, is_retry=_is_retry(context), replacement=_replacement(context))


def _resubmit_errors(runtime: ErasureRuntime, run_id: str, *, is_retry: bool, replacement: str) -> dict:
    """The subjects Genesys answered ERROR for, submitted once more (same runtime, same claims)."""
    from genesys_erasure.steps import settle as outcomes
    from genesys_erasure.steps import submit as submission

    batch = outcomes.subjects_to_resubmit(runtime, run_id)
    return submission.submit_batch(runtime, run_id, batch, is_retry=is_retry, replacement=replacement)


@task
def verify() -> dict[str, Any]:
    from genesys_erasure.steps import verify as verifying

    # wall clock: verification deadlines count the real time elapsed since submission
    return run_step(verifying.verify_completed, clock="wall")


@task(pool=WAREHOUSE_POOL)
def clean_warehouses() -> dict[str, Any]:
    """Downstream copies (Snowflake, BigQuery): runs after Genesys erasure is verified and before the
    evidence is written, so the evidence covers both. A no-op without a warehouse mapping. The pool (one
    slot) serialises warehouse DML across runs and DAGs; a deployment must create it (docker-compose's
    airflow-init does), or the scheduler never starts the task."""
    return run_step(_clean_warehouses)


def _clean_warehouses(runtime: ErasureRuntime, run_id: str) -> dict[str, Any]:
    """The warehouse step, or `not_configured` without a warehouse mapping."""
    if not runtime.config.warehouse_mapping_path:
        return {"status": "not_configured"}
    from genesys_erasure.steps.warehouses import clean_warehouses_for_run

    return clean_warehouses_for_run(runtime, run_id)


@task(outlets=[ERASURES_ASSET], trigger_rule="all_done")
def write_evidence(plan: dict[str, Any] | None, warehouse: dict[str, Any] | None) -> dict[str, Any]:
    """Runs whatever happened upstream (all_done): a run that failed half-way still reports what it did,
    for subjects Genesys may already have erased. The run itself stays failed."""
    if plan is None:
        raise AirflowSkipException("no plan was made (the run stopped before planning): nothing to report")
    context = get_current_context()
    extra = {"plan": {k: v for k, v in plan.items() if k != "batches"}}
    warehouse = warehouse or {"status": "not_run", "tables": []}
    from genesys_erasure.steps import evidence as reporting

    # wall clock: `now` is when the report is generated; the report states the run's as_of and cutoff
    # separately, as recorded in the ledger
    evidence = run_step(reporting.write_run_evidence, clock="wall", extra=extra, warehouse=warehouse)
    context["outlet_events"][ERASURES_ASSET].extra = {
        "run_id": context["run_id"],
        "dry_run": evidence["dry_run"],
        "counts": evidence["counts"],
        "erased_subject_hashes": evidence["subject_hashes"],
    }
    return evidence


@task
def check_compliance(evidence: dict[str, Any]) -> dict[str, int]:
    """Fails the run loudly (no retries: the outcome is recorded and will not change)."""
    from genesys_erasure.steps import evidence as reporting
    from genesys_erasure.task_summary import task_summary

    try:
        counts = reporting.check_compliance(evidence)
    except reporting.ErasureNotCompliant as verdict:
        raise AirflowFailException(str(verdict)) from None
    log.info("%s", task_summary("check_compliance", counts))
    return counts


def default_approval_body(plan: XComArg) -> str:
    """What the approver sees: the plan's counts (never identifiers; hashes are in the plan task's log)."""
    return (
        "{% set p = ti.xcom_pull(task_ids='" + plan.operator.task_id + "') %}"
        "Run {{ run_id }} will submit a GDPR request for **{{ p.to_submit }}** subjects "
        "({{ p.carried_over }} carried over from earlier runs, {{ p.retried_failed | default(0) }} failed "
        "in an earlier run and tried again). Not submitted: "
        "{{ p.deferred_active_conversation }} deferred (active conversation), {{ p.quarantined }} "
        "quarantined, {{ p.held_recent_contact }} held for recent contact, {{ p.already_erased }} already "
        "erased. Subjects are keyed hashes only; the plan task's log lists them."
        "{% if p.approval_reason == 'first_contact' %}\n\n**First contact**: no person has approved a run "
        "that submits to this org yet, so this run waits whatever its size. Check the plan (and the dry "
        "run before it) first; once approved, later runs wait only when larger than the approval "
        "threshold.{% endif %}"
    )


@dataclass(frozen=True)
class ErasureTail:
    """The end of every erasure: independent verification, the warehouse copies, the signed evidence and
    the compliance verdict. Each handle is the task's XComArg; `.operator` is the task."""

    verified: XComArg
    warehouses: XComArg
    evidence: XComArg
    verdict: XComArg


@dataclass(frozen=True)
class ErasureFlow:
    """The wired flow: its task group and the segments a DAG may attach more tasks to."""

    group: TaskGroup
    plan: XComArg
    approve: ApprovalOperator
    submitted: XComArg
    settled: XComArg  # the last settle, after the resubmission of errors
    tail: ErasureTail

    @property
    def verified(self) -> XComArg:
        return self.tail.verified

    @property
    def evidence(self) -> XComArg:
        return self.tail.evidence

    @property
    def verdict(self) -> XComArg:
        return self.tail.verdict


def build_erasure_tail(report_on: XComArg) -> ErasureTail:
    """Wire verify ─► clean warehouses ─► evidence ─► compliance in the current DAG or task group.
    `report_on` (the plan summary, or the listener's counts) goes into the evidence; the caller puts
    whatever must come first upstream of `verified`."""
    verified = verify()
    warehouses = clean_warehouses()
    evidence = write_evidence(report_on, warehouses)
    verdict = check_compliance(evidence)
    verified >> warehouses
    # The evidence runs whatever happened (all_done); the verdict also waits on the main chain, so a
    # failure anywhere upstream leaves it upstream_failed and the run failed, never "success".
    warehouses >> verdict
    return ErasureTail(verified, warehouses, evidence, verdict)


def build_erasure_flow(
    plan: XComArg, *, group_id: str = "erasure", approval_body: str | XComArg | None = None
) -> ErasureFlow:
    """Wire the flow after `plan` (an XComArg of the plan summary) inside a task group. `approval_body`
    (a template, or an XComArg of the text) replaces the approver's default text."""
    with TaskGroup(group_id=group_id, tooltip="Submit, wait, verify and evidence the erasure") as group:
        approve = ApprovalOperator(
            task_id="approve",
            subject="Approve the GDPR erasure plan",
            body=approval_body if approval_body is not None else default_approval_body(plan),
            response_timeout=timedelta(days=2),
            defaults="Reject",
        )
        ready = submissions_ready(plan)
        gate = approval_gate(plan, approve=approve.task_id, proceed=ready.operator.task_id)
        submitted = submit.expand(batch=ready)
        first_ids = requests_in_flight.override(task_id="requests_in_flight")()
        first_wait = RunGdprRequestsSensor(task_id="wait_for_genesys", request_ids=first_ids)
        first_settle = settle.override(task_id="settle")(first_wait.output, allow_resubmit=True)
        backoff = DateTimeSensorAsync(task_id="resubmit_backoff", target_time=first_settle["resubmit_at"])
        resubmitted = resubmit_errors()
        retry_ids = requests_in_flight.override(task_id="resubmitted_in_flight")()
        second_wait = RunGdprRequestsSensor(task_id="wait_for_resubmitted", request_ids=retry_ids)
        second_settle = settle.override(task_id="settle_resubmitted")(
            second_wait.output, allow_resubmit=False
        )
        tail = build_erasure_tail(plan)

        gate >> [approve, ready]
        approve >> ready
        submitted >> first_ids
        first_settle >> backoff >> resubmitted >> retry_ids
        second_settle >> tail.verified
    return ErasureFlow(group, plan, approve, submitted, second_settle, tail)

"""
### Nightly GDPR retention purge (Genesys Cloud)

Every night, erases through the Genesys Cloud GDPR API the customers whose **last** contact is older
than the retention period, then proves it.

1. **validate_settings**: the config file (`GENESYS_ERASURE_CONFIG`, default `config/purge.yaml`) and
   this run's Params; a bad value fails here, naming the setting, before anything is read or erased.
2. **find_expired_customers**: analytics jobs over the newly expired window and everything after the
   cutoff, plus detail queries for the last ~48 h the jobs cannot see yet.
3. **plan_retention_purge**: identity resolution (GDPR subjects, external contacts), safety guards
   (subject cap, purge fraction, quarantine), the plan written to the erasure ledger.
4. **erasure** group: approval for large plans, submission (≤100 subjects per mapped task, exactly once
   per subject), a deferred wait that holds no worker slot, one resubmission of errors, independent
   verification, warehouse cleanup, and a signed report (JSON + HTML) under `report_dir`.

**Time is data.** The run's instant (`as_of`) and retention cutoff are fixed once per run, in the ledger,
by validate_settings: a scheduled run's data interval end (a missed night caught up later keeps its own
night's cutoff), a manual run's trigger time, or the `as_of` Param. Every task and every retry uses those
two, never its own clock; the report states them. An `as_of` in the future is refused, and an explicit
`as_of` before the trigger unless dry run or the config sets `allow_past_as_of_erasure: true`: the scan
looks for contacts only up to `as_of`, so erasing "as of" last week would erase a customer who made
contact since. For the same reason a run starting over 6 h after its own instant (a missed night caught
up, or this DAG unpaused in the afternoon) only plans, as a dry run, and says so.

**First steps on an org**: run the `genesys_preflight` DAG; trigger this DAG with "Dry run" and
"Backfill" chosen in the form (`{"dry_run": true, "backfill": true}` through the API) and read the report;
trigger it with "Real run" and "Backfill" and approve its plan under Browse → Required Actions; then
unpause the schedule. Until a person has approved one run
that submits (recorded in the erasure ledger), **every run that would submit waits for approval**, so
unpausing first cannot erase anybody unseen; later runs wait only when their plan is larger than
`approval_threshold` (500 by default).

Logs, XCom and reports hold keyed hashes and counts only. In the trigger form an empty field means "as
in the configuration file"; "Dry run" plans and reports without submitting anything.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from genesys_erasure.params import as_of_param, retention_purge_params
from genesys_erasure.tasks.flow import build_erasure_flow
from genesys_erasure.tasks.policy import DATA_ENGINEERING, default_args
from genesys_erasure.tasks.retention import (
    find_expired_customers,
    plan_retention_purge,
    validate_settings,
)

with DAG(
    dag_id="genesys_retention_purge",
    description="Erase Genesys Cloud customers past retention, verify, and report",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(DATA_ENGINEERING),
    tags=["gdpr", "genesys-cloud", "retention"],
    doc_md=__doc__,
    # The overridable settings, generated from PurgeConfig (null = use the configuration file), and the
    # run's `as_of` (null = the run's own instant).
    params={
        **{name: Param(**spec) for name, spec in retention_purge_params().items()},
        "as_of": Param(**as_of_param()),
    },
) as dag:
    settings = validate_settings()
    scanned = find_expired_customers(settings)
    plan = plan_retention_purge(scanned)
    build_erasure_flow(plan)

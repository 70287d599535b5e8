"""
### Genesys Cloud preflight: facts, not assumptions

Run once (by hand) against a real org before trusting the erasure pipelines with it. It calls each
endpoint the pipeline uses once and names every missing permission (403) with its endpoint; it reads the
token lifetime, the rate-limit headers per endpoint, the org limits, the GDPR request listing's order and
largest accepted `pageSize`, the analytics data retention and the visible divisions.

**Read-only** by default. `probe_write_permissions` also asks the write endpoints, in calls that cannot
succeed (a GDPR request without a body, a delete and a disconnect of a made-up id), whether the client
may use them. `canary_erasure` (with `canary_contact_id`) erases the test external contact
`canary_contact_id` with ONE GDPR_DELETE, and reports the STRUCTURE (keys and types, never values) of the
contact, its recent conversations' analytics details and recording metadata before and after, how long
the request took, and which sandbox settings the org appears to match. Use a contact created for the test,
with a conversation in the last 31 days (older ones are not looked at).

The signed JSON report goes to `report_dir/preflight/` (verify it with `python -m
genesys_erasure.evidence`); a readable summary is in the task log. The same from a terminal:
`python -m genesys_erasure.preflight --out DIR`.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from genesys_erasure.tasks.policy import DATA_ENGINEERING, default_args
from genesys_erasure.tasks.preflight import run_org_preflight

with DAG(
    dag_id="genesys_preflight",
    description="Read the facts of a Genesys Cloud org the erasure pipelines depend on",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(DATA_ENGINEERING),
    tags=["gdpr", "genesys-cloud", "preflight"],
    doc_md=__doc__,
    params={
        "probe_write_permissions": Param(
            False,
            type="boolean",
            title="Probe write permissions",
            description="Also probe submit, delete and disconnect with calls that cannot succeed.",
        ),
        "canary_erasure": Param(
            False,
            type="boolean",
            title="Canary erasure",
            description="ERASE the test contact below with one GDPR_DELETE and report what changed.",
        ),
        "canary_contact_id": Param(
            None,
            type=["null", "string"],
            maxLength=64,
            title="Canary contact id",
            description="External contact id of a contact made for the test. Empty: no canary.",
        ),
        "canary_timeout_seconds": Param(
            900,
            type="integer",
            minimum=10,
            title="Canary timeout (seconds)",
            description="How long to wait for the canary's request (at least 10).",
        ),
        "fail_on_missing_permissions": Param(
            True,
            type="boolean",
            title="Fail on a missing permission",
            description="Fail the run (after writing the report) on any 403.",
        ),
    },
) as dag:
    run_org_preflight()

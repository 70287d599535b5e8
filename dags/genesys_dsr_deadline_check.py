"""
### Daily GDPR deadline check for data-subject requests

Lists in the task log every erasure request (from `genesys_subject_erasure`) that is not yet erased and
whose due date (received + 1 month) is at most `days_before` days away, or already past: keyed subject
hash, ticket, due date, state. Nothing else leaves the ledger.

Optional notification through an Airflow notifier, off by default: set `notify` to `smtp` (with
`notify_to` and optionally `notify_conn_id`, the SMTP connection, whose extras name the sender as
`from_email`) or `webhook` (with `notify_conn_id`, an HTTP connection whose host is the webhook URL), as a
Param default here or per run. An incomplete setting fails every run, also one with nothing to report.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from genesys_erasure.tasks.deadline_check import NOTIFIERS, check_dsr_deadlines
from genesys_erasure.tasks.policy import PRIVACY_OFFICE, default_args

with DAG(
    dag_id="genesys_dsr_deadline_check",
    description="Flag data-subject requests near or past their GDPR due date",
    schedule="0 7 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(PRIVACY_OFFICE),
    tags=["gdpr", "genesys-cloud", "dsr"],
    doc_md=__doc__,
    params={
        "days_before": Param(
            5,
            type="integer",
            minimum=0,
            maximum=31,
            title="Days ahead",
            description="List data-subject requests due within this many days (0 to 31).",
        ),
        "notify": Param(
            "none",
            type="string",
            enum=list(NOTIFIERS),
            title="Notify",
            description="Also send the list (hashes, tickets and due dates only) by e-mail or webhook.",
        ),
        "notify_conn_id": Param(
            None,
            type=["null", "string"],
            title="Notification connection",
            description="The SMTP or HTTP connection to send through. Empty: no notification.",
        ),
        "notify_to": Param(
            None,
            type=["null", "string"],
            title="Recipients",
            description="E-mail recipients, comma-separated (SMTP only). Empty: the connection's default.",
        ),
    },
) as dag:
    check_dsr_deadlines()

"""
### Ad-hoc erasure for a data-subject request (Genesys Cloud, GDPR Art. 17)

Trigger this DAG from the form to erase (or pseudonymise) everything held on the people a data-subject
request names. **`dry_run` is on by default**: the first run only plans and shows what would be erased.

1. **validate_subject_request**: every row of the subject list is checked before anything is sent; a bad
   row fails the run naming its row, field and reason (or, with `skip_invalid_rows`, is skipped and
   reported). Duplicates are merged.
2. **plan_subject_erasure**: identifiers already erased by an earlier run (the nightly purge or another
   request) are not submitted again; the rest go through identity resolution (former staff by user id
   included), the safety guards and the ledger, with the ticket and its due date (received + 1 month).
3. **erasure** group (shared with the nightly purge): a real run **waits for approval** (Required
   Actions) showing the plan as keyed hashes and counts; rejecting submits nothing. Then submission,
   wait, verification and the signed run report.
4. **issue_certificates**: one signed certificate (JSON + HTML) per erased subject under
   `report_dir/certificates/<ticket>/`; verify with
   `python -m genesys_erasure.evidence verify FILE --public-key REPORT_DIR/signing-public-key.pem`.

**Personal data in the run configuration.** Subjects typed into `subjects` are stored by Airflow in this
run's configuration (the `dag_run.conf` column of the metadata database) and shown in the UI to anyone
who can see the run. Prefer `subjects_file`: a CSV (`type,value`) or JSON list at an object-storage URI
(`file:///…`, `s3://…`); delete that file once the certificates are issued (the DAG does not touch
it). Purge old run configuration regularly,
e.g. `airflow db clean --tables dag_run --clean-before-timestamp "$(date -d '-30 days' -I)" --yes`.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from genesys_erasure.params import subject_erasure_params
from genesys_erasure.tasks.flow import build_erasure_flow
from genesys_erasure.tasks.policy import PRIVACY_OFFICE, default_args
from genesys_erasure.tasks.subject_request import (
    issue_certificates,
    plan_subject_erasure,
    validate_subject_request,
)

with DAG(
    dag_id="genesys_subject_erasure",
    description="Erase the data subjects of a DSR ticket from Genesys Cloud, with approval and certificates",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # runs share the ledger's exactly-once claims; one request at a time is clearer
    default_args=default_args(PRIVACY_OFFICE),
    tags=["gdpr", "genesys-cloud", "dsr"],
    doc_md=__doc__,
    # The request form, generated from DsrForm: the model that validates the same values.
    params={name: Param(**spec) for name, spec in subject_erasure_params().items()},
) as dag:
    validated = validate_subject_request()
    plan = plan_subject_erasure(validated)
    flow = build_erasure_flow(plan, approval_body=plan["approval_text"])
    flow.evidence >> issue_certificates(validated)

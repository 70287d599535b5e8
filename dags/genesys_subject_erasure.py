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

**Submit subject lists on the intake page, not here.** Browse → *Erasure request intake* checks the
list as you type, seals it (encrypted with the sealing key) into a file under the intake directory and
triggers this DAG with only the file's URI and the ticket in the run configuration; a real run wipes the
file once the certificates are issued (a dry run keeps it: trigger again with the same `subjects_file` for
the real run). `subjects_file` also takes your own CSV (`type,value`) or JSON list at an object-storage URI
(`file:///…`, `s3://…`); delete that one yourself. The inline `subjects` field appears only when the
config sets `allow_inline_subjects: true`: its values are then kept by Airflow in the run configuration
(`dag_run`) and the audit log (`log`), readable by every viewer; clean both regularly, e.g.
`airflow db clean --tables dag_run,log --clean-before-timestamp "$(date -d '-30 days' -I)" --yes`.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from genesys_erasure.params import inline_subjects_allowed, subject_erasure_params
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
    # Without `allow_inline_subjects` the form has no inline `subjects` field.
    params={
        name: Param(**spec)
        for name, spec in subject_erasure_params(allow_inline=inline_subjects_allowed()).items()
    },
) as dag:
    validated = validate_subject_request()
    plan = plan_subject_erasure(validated)
    flow = build_erasure_flow(plan, approval_body=plan["approval_text"])
    flow.evidence >> issue_certificates(validated)

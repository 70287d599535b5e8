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
   `python -m genesys_erasure.evidence verify FILE --key-env GENESYS_ERASURE_HMAC_KEY`.

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

from genesys_erasure.dsr import TICKET_PATTERN
from genesys_erasure.tasks.flow import build_erasure_flow
from genesys_erasure.tasks.policy import PRIVACY_OFFICE, default_args
from genesys_erasure.tasks.subject_request import (
    issue_certificates,
    plan_subject_erasure,
    validate_subject_request,
)

SUBJECT_ITEM = {
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": 320},
        {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["email", "phone", "external_contact_id", "user_id"]},
                "value": {"type": "string", "minLength": 1, "maxLength": 320},
            },
            "required": ["value"],
            "additionalProperties": False,
        },
    ]
}
PRIVACY_NOTE = (
    "Values typed here are stored by Airflow in the run configuration (metadata database) and shown to "
    "anyone who can see this run: prefer subjects_file, and purge old runs with `airflow db clean`."
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
    params={
        "ticket": Param(
            type="string",
            pattern=TICKET_PATTERN,
            title="DSR ticket",
            description="The data-subject request's ticket reference, e.g. DSR-2026-0042.",
        ),
        "received_on": Param(
            type="string",
            format="date",
            title="Request received on",
            description="The date the request was received; the GDPR deadline is one month later.",
        ),
        "subjects_file": Param(
            None,
            type=["null", "string"],
            pattern=r"^[a-z][a-z0-9+.-]*://\S+\.(csv|json|CSV|JSON)$",
            title="Subject list file (recommended)",
            description=(
                "Object-storage URI of a CSV file with header `type,value` or a JSON list, e.g. "
                "file:///data/dsr/DSR-2026-0042.csv. Types: email, phone, external_contact_id, user_id "
                "(omit for e-mail/phone to detect). At most 5 MB / 10,000 rows."
            ),
        ),
        "subjects": Param(
            None,
            type=["null", "array"],
            items=SUBJECT_ITEM,
            maxItems=10_000,
            title="Subjects (inline)",
            description="E-mails, phone numbers (+country code), or {type, value} objects. " + PRIVACY_NOTE,
        ),
        "mode": Param(
            "delete",
            type="string",
            enum=["delete", "pseudonymise"],
            title="Mode",
            description="delete = GDPR_DELETE; pseudonymise = GDPR_UPDATE replacing e-mails and phones.",
        ),
        "replacement_text": Param(
            "REDACTED",
            type="string",
            minLength=1,
            maxLength=64,
            pattern=r"^[A-Za-z0-9 _.\-\[\]]+$",
            title="Replacement text (pseudonymise)",
            description="What a pseudonymised e-mail or phone number is replaced with.",
        ),
        "dry_run": Param(
            True, type="boolean", title="Dry run", description="Plan and report only; submit nothing."
        ),
        "skip_invalid_rows": Param(
            False,
            type="boolean",
            title="Skip invalid rows",
            description="Skip (and report) bad rows instead of stopping the run.",
        ),
    },
) as dag:
    validated = validate_subject_request()
    plan = plan_subject_erasure(validated)
    flow = build_erasure_flow(plan, approval_body=plan["approval_text"])
    flow.evidence >> issue_certificates(validated)

"""
### Hourly listener for GDPR erasures made outside this pipeline (Genesys Cloud)

An administrator in the Genesys UI or another script may erase a person directly. Genesys does not
touch copies outside it, so every hour this DAG:

1. **find_external_erasures**: reads Genesys' GDPR request list, and writes every `COMPLETED`
   `GDPR_DELETE` the erasure ledger does not know into it (source `external`, identifiers sealed).
2. **anything_to_do**: stops here when nothing new was found and no verified subject waits for the
   warehouses.
3. **verify**: the same independent verification as the pipeline's own erasures.
4. **clean_warehouses**: the same warehouse step (pool `genesys_warehouse_dml`), for these subjects and
   any still pending from earlier runs.
5. **write_evidence** and **check_compliance**: a signed report (JSON + HTML) under `report_dir`.

Logs, XCom and reports hold keyed hashes and counts only.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from genesys_erasure.tasks.flow import build_erasure_tail
from genesys_erasure.tasks.listener import anything_to_do, find_external_erasures
from genesys_erasure.tasks.policy import DATA_ENGINEERING, default_args

with DAG(
    dag_id="genesys_gdpr_request_listener",
    description="Record GDPR erasures made outside the pipeline, clean their warehouse copies, report",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(DATA_ENGINEERING),
    tags=["gdpr", "genesys-cloud", "warehouse"],
    doc_md=__doc__,
) as dag:
    found = find_external_erasures()
    # The flow's own tail: verify, warehouses, evidence (even after a failure) and the verdict.
    anything_to_do(found) >> build_erasure_tail(found).verified

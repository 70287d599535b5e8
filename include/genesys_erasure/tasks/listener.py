"""The request listener: erasures made outside this pipeline (an administrator in the Genesys UI,
another script) are found in Genesys' GDPR request list, written to the ledger, verified, and then go
through the same warehouse step and evidence as the pipeline's own (the flow's tasks, reused)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import task

from genesys_erasure.ledger import GDPR_DELETE, SubjectPlan, SubjectSource
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.subjects_api import subject_identifiers
from genesys_erasure.tasks.runtime import run_step

log = logging.getLogger(__name__)

RETRIES = {"retries": 2, "retry_delay": timedelta(minutes=5)}
COMPLETED = "COMPLETED"


def record_external_erasures(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    """Write every COMPLETED GDPR_DELETE the ledger does not know into it under `run_id`. Counts only."""
    client = runtime.client
    candidates = [
        entity
        for entity in client.iter_gdpr_requests()
        if entity.get("requestType") == GDPR_DELETE and entity.get("status") == COMPLETED and entity.get("id")
    ]
    counts = {"completed_deletes_listed": len(candidates), "recorded": 0, "subject_already_in_ledger": 0,
              "no_usable_identifier": 0}  # fmt: skip
    warehouse_pending = bool(runtime.config.warehouse_mapping_path)
    ledger = runtime.ledger
    known = ledger.known_request_ids(e["id"] for e in candidates)
    for entity in candidates:
        if entity["id"] in known:
            continue
        identifiers = subject_identifiers(entity.get("subject") or {})
        if not identifiers:  # e.g. a subject named by a dialer contact or social handle only
            counts["no_usable_identifier"] += 1
            continue
        plan = SubjectPlan.build(
            identifiers,
            hasher=runtime.hasher,
            sealer=runtime.sealer,
            source=SubjectSource.EXTERNAL,
            warehouse_pending=warehouse_pending,
        )
        if ledger.record_external_erasure(plan, entity["id"], run_id, now=now):
            counts["recorded"] += 1
        else:
            counts["subject_already_in_ledger"] += 1
    counts["unknown_requests"] = sum(counts[k] for k in ("recorded", "subject_already_in_ledger",
                                                          "no_usable_identifier"))  # fmt: skip
    log.info("External erasures: %s", counts)
    return counts


@task(**RETRIES)
def find_external_erasures() -> dict[str, Any]:
    return run_step(record_external_erasures)


@task.short_circuit(**RETRIES)
def anything_to_do(found: dict[str, Any]) -> bool:
    """Go on when external erasures were recorded, or verified subjects still wait for the warehouses
    (a streaming-buffer leftover is retried within the hour); otherwise skip the rest (no empty reports)."""
    if found["recorded"]:
        return True
    return run_step(warehouses_waiting)


def warehouses_waiting(runtime: ErasureRuntime) -> bool:
    """Verified subjects whose warehouse copies are still to be erased (a mapping is configured)."""
    if not runtime.config.warehouse_mapping_path:
        return False
    return bool(runtime.ledger.warehouse_pending_verified())

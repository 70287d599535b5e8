"""The request listener: erasures made outside this pipeline (an administrator in the Genesys UI,
another script) are found in Genesys' GDPR request list, written to the ledger, verified, and then go
through the same warehouse step and evidence as the pipeline's own (the flow's tail, reused).

The ledger and the runtime are imported inside the functions: a DAG file must parse fast."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import get_current_context, task

if TYPE_CHECKING:
    from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

COMPLETED = "COMPLETED"


def record_external_erasures(runtime: ErasureRuntime, run_id: str, now: datetime) -> dict[str, Any]:
    """Write every COMPLETED GDPR_DELETE the ledger does not know into it under `run_id`. Counts only."""
    from genesys_erasure.ledger import GDPR_DELETE, SubjectPlan, SubjectSource
    from genesys_erasure.steps.subjects_api import subject_identifiers

    hook = runtime.hook()
    candidates = [
        entity
        for entity in hook.iter_gdpr_requests()
        if entity.get("requestType") == GDPR_DELETE and entity.get("status") == COMPLETED and entity.get("id")
    ]
    counts = {"completed_deletes_listed": len(candidates), "recorded": 0, "subject_already_in_ledger": 0,
              "no_usable_identifier": 0}  # fmt: skip
    warehouse_pending = bool(runtime.config.warehouse_mapping_path)
    with runtime.open_ledger() as ledger:
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


@task
def find_external_erasures() -> dict[str, Any]:
    from genesys_erasure.steps.runtime import load_runtime

    context = get_current_context()
    runtime = load_runtime(context["params"])
    return record_external_erasures(runtime, context["run_id"], datetime.now(UTC))


@task.short_circuit
def anything_to_do(found: dict[str, Any]) -> bool:
    """Go on when external erasures were recorded, or verified subjects still wait for the warehouses
    (a streaming-buffer leftover is retried within the hour); otherwise skip the rest (no empty reports)."""
    if found["recorded"]:
        return True
    from genesys_erasure.steps.runtime import load_runtime

    runtime = load_runtime(get_current_context()["params"])
    if not runtime.config.warehouse_mapping_path:
        return False
    with runtime.open_ledger() as ledger:
        return bool(ledger.warehouse_pending_verified())

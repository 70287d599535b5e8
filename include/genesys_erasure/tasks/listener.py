"""The request listener's tasks: erasures made outside this pipeline are found and recorded
(`steps.external_erasures`), then go through the flow's tail (verify, warehouses, evidence) like the
pipeline's own. Steps are imported inside the tasks: a DAG file must parse fast."""

from __future__ import annotations

from typing import Any

from airflow.sdk import task

from genesys_erasure.tasks.runtime import run_step


@task
def find_external_erasures() -> dict[str, Any]:
    from genesys_erasure.steps.external_erasures import record_external_erasures

    return run_step(record_external_erasures)


@task.short_circuit
def anything_to_do(found: dict[str, Any]) -> bool:
    """Go on when external erasures were recorded or taken over from a dead listener run, or verified
    subjects still wait for the warehouses (a streaming-buffer leftover is retried within the hour);
    otherwise skip the rest (no empty reports)."""
    if found["recorded"] or found["adopted_from_earlier_runs"]:
        return True
    from genesys_erasure.steps.external_erasures import warehouses_waiting

    return run_step(warehouses_waiting)

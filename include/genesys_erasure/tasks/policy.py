"""The one retry and ownership policy of every DAG and task of the project: `default_args(owner)`, which
each DAG passes as its `default_args`; tasks inherit it and set no retry arguments of their own.

This module is imported when a DAG file is parsed: it must stay free of anything heavier than the
standard library.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

DATA_ENGINEERING = "data-engineering"
PRIVACY_OFFICE = "privacy-office"

# Retries absorb passing failures (a Genesys 5xx or rate limit outliving the client's own retries, a
# ledger or warehouse connection dropped); they cannot fix bad input or a failed verdict, which raise
# AirflowFailException and are never retried. Growing delays, capped, give an outage room to pass
# without holding a run for hours.
RETRY_POLICY: dict[str, Any] = {
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
}

# The pool that serialises warehouse DML across runs and DAGs (one slot; docker-compose's airflow-init and
# the demo create it). One slot: BigQuery allows 2 running and 20 queued DML statements per table, and two
# runs (nightly, ad-hoc, listener) erasing the same tables at once would race for the same pending subjects.
# An Airflow concept, so it lives here and not with the Airflow-free warehouse step.
WAREHOUSE_POOL = "genesys_warehouse_dml"


def default_args(owner: str) -> dict[str, Any]:
    """A DAG's `default_args`: the retry policy and the team that answers for the DAG's tasks. Python
    tasks do not print their return value (a dict for the next task, full of hashes): each task's log
    ends with a sentence and a short table instead (`genesys_erasure.task_summary`)."""
    return {"owner": owner, "show_return_value_in_logs": False, **RETRY_POLICY}

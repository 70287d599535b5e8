"""Fault suite: the warehouse connection drops in the middle of the erase statement.

`dag.test()` of the nightly purge with both warehouses behind a `DropProxy` (tests/support/drop_proxy.py):
the real Snowflake connector and BigQuery client talk to fakesnow / bqemulator through it, and it drops
the client's connection on the erase statement once, either after the engine ran it (done there, unknown
to the client) or before it arrived. Checked from outside: the warehouses' rows, the ledger (plain SQL),
the sandbox's GDPR requests, the signed report, and every file the run wrote.

The task retry that follows a failed warehouse task is Airflow's own (the project's one retry policy);
its delay is set to zero on the loaded DAG so `dag.test()` runs the retry at once instead of a minute
later.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from genesys_devtools import demo_warehouses as wh
from genesys_devtools.demo import load_dag
from genesys_erasure.tasks.runtime import load_runtime
from tests.support.drop_proxy import DropProxy, bigquery_query_containing, snowflake_statement
from tests.support.invariants import (
    ledger_agrees_with_sandbox,
    no_duplicate_requests,
    read_ledger,
    report_agrees_with_ledger,
    sandbox_requests,
    states_settled,
)
from tests.support.privacy_scan import scan_paths

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WAREHOUSE_TASK = "erasure.clean_warehouses"


class ProxiedWarehouses:
    def __init__(self, wh_stack, snowflake: DropProxy, bigquery: DropProxy) -> None:
        self.wh, self.stack = wh_stack, wh_stack.stack
        self.snowflake, self.bigquery = snowflake, bigquery

    def run_nightly(self):
        dag = load_dag("genesys_retention_purge")
        dag.get_task(WAREHOUSE_TASK).retry_delay = timedelta(0)
        return dag.test(run_conf={"backfill": True})

    def rows(self) -> dict[str, list[dict]]:
        return {
            "snowflake": wh.snowflake_rows(self.wh.fakesnow),
            "bigquery": wh.bigquery_rows(self.wh.bigquery),
        }

    def report_path(self, run):
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in run.run_id)
        return self.stack.home / "reports" / f"erasure-report-{safe}.json"

    def warehouse_tries(self, run) -> int:
        (ti,) = [ti for ti in run.get_task_instances() if ti.task_id == WAREHOUSE_TASK]
        return ti.try_number


@pytest.fixture
def proxied(wh_stack, monkeypatch):
    """`wh_stack` with both Airflow warehouse connections pointed at a DropProxy before its engine."""
    with DropProxy(wh_stack.fakesnow.port) as snowflake, DropProxy(wh_stack.bigquery.port) as bigquery:
        env = wh.warehouse_connections_env(wh_stack.fakesnow, wh_stack.bigquery)
        for name, value in env.items():
            connection = json.loads(value)
            if connection["conn_type"] == "snowflake":
                connection["extra"]["port"] = snowflake.port
            else:
                connection["extra"]["endpoint"] = bigquery.endpoint
            monkeypatch.setenv(name, json.dumps(connection))
        yield ProxiedWarehouses(wh_stack, snowflake, bigquery)


def _erased_conversations(ledger_url: str) -> set[str]:
    from genesys_erasure.ledger import Ledger, SubjectState

    with Ledger.open(ledger_url) as ledger:
        rows = ledger.rows_in_states([SubjectState.VERIFIED])
        return {cid for row in rows for cid in row.conversation_ids}


def _assert_run_kept_its_promises(env: ProxiedWarehouses, run, before: dict[str, list[dict]]) -> None:
    """The erased subjects' rows are gone, the evidence counts exactly the rows that left each table, every
    subject sits in one final state with its warehouse flag settled, nothing was posted to Genesys twice,
    and no file the run wrote holds an erased subject's identifier."""
    assert run.state == "success"
    ledger_url = load_runtime({}).ledger_url
    erased = _erased_conversations(ledger_url)
    after = env.rows()
    for system in ("snowflake", "bigquery"):
        held = {r["CONVERSATION_ID"] for r in before[system]}
        kept = {r["CONVERSATION_ID"] for r in after[system]}
        assert erased & held, f"{system} held the erased subjects' rows"
        assert not erased & kept, f"{system} still holds an erased subject's row"

    report_path = env.report_path(run)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["warehouse"]["status"] == "done"
    for system in ("snowflake", "bigquery"):
        (table,) = [t for t in report["warehouse"]["tables"] if t["system"] == system]
        removed = len(before[system]) - len(after[system])  # only the erasure removes rows here
        assert (table["rows_affected"], table["rows_matched_before"], table["rows_remaining"]) == (
            removed,
            removed,
            0,
        ), f"{system}: the evidence's counts differ from the rows that left the table"

    ledger = read_ledger(ledger_url)
    requests = sandbox_requests(env.stack.sandbox)
    problems = states_settled(ledger) + no_duplicate_requests(requests, ledger)
    problems += ledger_agrees_with_sandbox(ledger, requests)
    problems += report_agrees_with_ledger(report_path, run.run_id, ledger)
    assert not problems, "\n".join(problems)
    verified = [s for s in report["subjects"] if s["state"] == "verified"]
    assert verified and all(not s["warehouse_pending"] and s["warehouse_rows"] for s in verified)

    needles = {
        value
        for row in before["snowflake"]
        if row["CONVERSATION_ID"] in erased
        for value in (row["CUSTOMER_EMAIL"], row["CUSTOMER_PHONE"])
        if value
    }
    assert needles
    hits = scan_paths([os.environ["AIRFLOW_HOME"], env.stack.home], sorted(needles))
    assert hits == [], f"erased identifiers found in: {sorted({str(h.path) for h in hits})}"


def test_erase_statements_whose_answers_are_lost_after_they_ran_are_counted_once(proxied):
    before = proxied.rows()
    proxied.snowflake.drop(snowflake_statement("DELETE"), when="after")
    proxied.bigquery.drop(bigquery_query_containing("DELETE FROM"), when="after")

    run = proxied.run_nightly()

    assert proxied.snowflake.dropped.is_set() and proxied.bigquery.dropped.is_set()
    _assert_run_kept_its_promises(proxied, run, before)


def test_erase_statements_dropped_before_they_arrived_are_erased_by_the_retry(proxied):
    before = proxied.rows()
    proxied.snowflake.drop(snowflake_statement("DELETE"), when="before")
    proxied.bigquery.drop(bigquery_query_containing("DELETE FROM"), when="before")

    run = proxied.run_nightly()

    assert proxied.snowflake.dropped.is_set() and proxied.bigquery.dropped.is_set()
    assert proxied.warehouse_tries(run) >= 2  # a failed attempt, then Airflow's retry
    _assert_run_kept_its_promises(proxied, run, before)

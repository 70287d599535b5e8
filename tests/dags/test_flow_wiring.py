"""The erasure flow's wiring, read from the parsed DAGs (no run): named handles instead of task-id strings,
one tail shared by the flow and the request listener, the pool the deployment creates."""

from __future__ import annotations

import pytest

from genesys_erasure.tasks.flow import approval_gate

TAIL = ("verify", "clean_warehouses", "write_evidence", "check_compliance")


@pytest.fixture
def dags(dagbag):
    assert dagbag.import_errors == {}
    return dagbag.dags


def _upstream(dag, prefix: str = "") -> dict[str, set[str]]:
    """Each tail task's upstream tasks within the tail, by unprefixed task id."""
    upstream = {}
    for name in TAIL:
        ids = {task_id.removeprefix(prefix) for task_id in dag.get_task(prefix + name).upstream_task_ids}
        upstream[name] = ids & set(TAIL)
    return upstream


def test_the_listener_and_the_flow_share_one_tail(dags):
    flow_tail = _upstream(dags["genesys_retention_purge"], "erasure.")
    assert flow_tail == _upstream(dags["genesys_gdpr_request_listener"])
    assert flow_tail == {
        "verify": set(),
        "clean_warehouses": {"verify"},
        "write_evidence": {"clean_warehouses"},
        "check_compliance": {"clean_warehouses", "write_evidence"},
    }
    listener = dags["genesys_gdpr_request_listener"]
    assert listener.get_task("verify").upstream_task_ids == {"anything_to_do"}
    assert listener.get_task("write_evidence").upstream_task_ids == {
        "clean_warehouses",
        "find_external_erasures",
    }


@pytest.mark.parametrize("dag_id", ["genesys_retention_purge", "genesys_subject_erasure"])
def test_the_flow_names_no_task_ids_in_its_templates(dag_id, dags):
    dag = dags[dag_id]
    backoff = dag.get_task("erasure.resubmit_backoff")
    assert backoff.target_time.operator.task_id == "erasure.settle"
    assert backoff.target_time.key == "resubmit_at"
    assert dag.get_task("erasure.verify").upstream_task_ids == {"erasure.settle_resubmitted"}
    gate = dag.get_task("erasure.approval_gate")
    assert gate.op_kwargs == {"approve": "erasure.approve", "proceed": "erasure.submissions_ready"}
    assert gate.downstream_task_ids == {"erasure.approve", "erasure.submissions_ready"}


def test_the_approval_gate_follows_the_plan():
    choose = approval_gate.function
    assert choose({"needs_approval": True}, approve="g.approve", proceed="g.go") == "g.approve"
    assert choose({"needs_approval": False}, approve="g.approve", proceed="g.go") == "g.go"


def test_the_adhoc_approver_reads_the_plans_own_text(dags):
    dag = dags["genesys_subject_erasure"]
    body = dag.get_task("erasure.approve").body
    assert (body.operator.task_id, body.key) == ("plan_subject_erasure", "approval_text")
    assert dag.get_task("plan_subject_erasure").multiple_outputs  # pushes approval_text as its own XCom
    assert dag.get_task("issue_certificates").upstream_task_ids == {
        "erasure.write_evidence",
        "validate_subject_request",
    }


def test_the_nightly_approver_reads_the_plans_counts(dags):
    body = dags["genesys_retention_purge"].get_task("erasure.approve").body
    assert "ti.xcom_pull(task_ids='plan_retention_purge')" in body


def test_the_warehouse_task_runs_in_the_pool_the_deployment_creates(dags):
    from genesys_erasure.tasks.policy import WAREHOUSE_POOL

    for dag_id, task_id in [
        ("genesys_retention_purge", "erasure.clean_warehouses"),
        ("genesys_subject_erasure", "erasure.clean_warehouses"),
        ("genesys_gdpr_request_listener", "clean_warehouses"),
    ]:
        assert dags[dag_id].get_task(task_id).pool == WAREHOUSE_POOL

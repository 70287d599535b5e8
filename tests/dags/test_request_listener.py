"""The hourly request listener end to end: `dag.test()` of `genesys_gdpr_request_listener` against the
Genesys Cloud sandbox over HTTP, after an earlier listener run died between recording and verifying."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from genesys_erasure.evidence import verify_report
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import Ledger, SubjectSource, SubjectState
from genesys_erasure.steps.external_erasures import record_external_erasures
from genesys_erasure.steps.subjects_api import gdpr_subject_body
from genesys_erasure.tasks.runtime import load_runtime
from tests.dags.conftest import PAST_DELETE_LAG_HOURS
from tests.support.dag_runs import task_result

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
DAG_ID = "genesys_gdpr_request_listener"
DEAD_RUN = "scheduled__2026-01-01T00:00:00+00:00"


def _erased_in_the_genesys_ui(stack, email: str) -> str:
    """A GDPR_DELETE an administrator made outside the pipeline, polled until Genesys completes it (each
    poll of unfinished work moves the sandbox clock on; no real wait)."""
    org = stack.sandbox.org
    person = org.add_customer(emails=[email], phones=[], external_contact=False)
    org.add_conversation(person, media="email", direction="inbound")
    hook = stack.hook()
    request = hook.submit_gdpr_request(
        "GDPR_DELETE", gdpr_subject_body([Identifier(IdentifierKind.EMAIL, email)])
    )
    for _ in range(50):
        if hook.get_gdpr_request(request["id"])["status"] == "COMPLETED":
            return request["id"]
    raise AssertionError("the sandbox never completed the GDPR request")


def test_an_erasure_a_dead_listener_run_recorded_is_verified_and_evidenced_by_the_next_run(purge_stack):
    stack = purge_stack()
    request_id = _erased_in_the_genesys_ui(stack, "ursula.ui@example.org")
    # A first listener run records the erasure, then its worker is killed before `verify`.
    with load_runtime({}) as runtime:
        assert record_external_erasures(runtime, DEAD_RUN, datetime.now(UTC))["recorded"] == 1
        [recorded] = runtime.ledger.rows_for_run(DEAD_RUN)
    # An hour or two later (past the pessimistic org's lagging recording and contact deletes).
    stack.advance_clock(PAST_DELETE_LAG_HOURS)

    run = stack.run(DAG_ID)

    assert run.state == "success"
    with Ledger.open(load_runtime({}).ledger_url) as ledger:
        row = ledger.get(recorded.subject_hash)
    assert (row.source, row.state, row.run_id) == (SubjectSource.EXTERNAL, SubjectState.VERIFIED, run.run_id)
    assert row.request_ids == (request_id,)
    report = stack.report(run)
    assert verify_report(report, load_runtime({}).signing_key)
    assert [(s["subject_hash"], s["state"]) for s in report["subjects"]] == [
        (recorded.subject_hash, "verified")
    ]
    assert report["parameters"]["plan"]["adopted_from_earlier_runs"] == 1
    assert task_result(run, "find_external_erasures")["adopted_from_earlier_runs"] == 1

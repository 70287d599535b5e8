"""Exactly-once across runs: a retried submission never releases another run's claim."""

from __future__ import annotations

import pytest

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import Ledger, SubjectPlan, SubjectSource, SubjectState
from genesys_erasure.steps.submit import submit_batch
from genesys_erasure.tasks.runtime import load_runtime

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_retried_submission_does_not_release_and_repost_a_subject_another_run_is_posting(purge_stack):
    stack = purge_stack()
    runtime = load_runtime({})
    identifiers = [Identifier(IdentifierKind.EMAIL, "both.runs@example.org")]
    plan = SubjectPlan.build(
        identifiers, hasher=runtime.hasher, sealer=runtime.sealer, source=SubjectSource.RETENTION
    )
    with Ledger.open(runtime.ledger_url) as ledger:
        ledger.plan([plan], "nightly-run")
        ledger.mark_submitting(plan.subject_hash, "nightly-run")  # the nightly is posting right now

    with runtime:
        result = submit_batch(runtime, "adhoc-run", [plan.subject_hash], is_retry=True)

    assert (result["submitted"], result["skipped"]) == (0, 1)
    assert stack.gdpr_request_count() == 0
    with Ledger.open(runtime.ledger_url) as ledger:
        row = ledger.get(plan.subject_hash)
    assert (row.state, row.run_id) == (SubjectState.SUBMITTING, "nightly-run")

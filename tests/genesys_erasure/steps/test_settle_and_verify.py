"""After submission, against a sandbox org: what Genesys answered, and the independent verification."""

from __future__ import annotations

from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import plan_request

RUN = "erasure-run"


def _submitted(world, *emails: str) -> list[str]:
    """Plan and submit the customers; returns the request ids Genesys gave."""
    seeds = [world.expired_seed(email) for email in emails]
    summary = plan_erasure(world.runtime, RUN, plan_request(*seeds), world.now)
    submit_batch(world.runtime, RUN, [h for batch in summary["batches"] for h in batch])
    return request_ids_in_flight(world.runtime, RUN)


def _states(world) -> list[SubjectState]:
    return [row.state for row in world.runtime.ledger.rows_for_run(RUN)]


def test_settle_moves_a_completed_request_on_to_verification(world):
    statuses = world.wait_until_done(_submitted(world, "done@example.org"))

    counts = settle_requests(world.runtime, RUN, statuses, world.now, allow_resubmit=True)

    assert counts["completed"] == 1
    assert _states(world) == [SubjectState.COMPLETED]


def test_settle_marks_a_request_still_running_overdue(world):
    _submitted(world, "slow@example.org")

    counts = settle_requests(world.runtime, RUN, {}, world.now, allow_resubmit=True)

    assert counts["overdue"] == 1
    assert _states(world) == [SubjectState.OVERDUE]


def test_verify_passes_once_genesys_has_completed_the_delete(world):
    statuses = world.wait_until_done(_submitted(world, "erased@example.org"))
    settle_requests(world.runtime, RUN, statuses, world.now, allow_resubmit=True)

    counts = verify_completed(world.runtime, RUN, world.now)

    assert (counts["verified"], counts["failed"]) == (1, 0)
    assert _states(world) == [SubjectState.VERIFIED]

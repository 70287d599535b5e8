"""A GDPR request still running when a run's wait deadline passes (Genesys takes hours to days): the run
reports it overdue, and the next run polls that same request again, never posting a second one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from genesys_erasure.ledger import SubjectSource, SubjectState
from genesys_erasure.steps.plan import PlanRequest, plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import TINY_ORG, plan_request

FIRST, NEXT = "night-1", "night-2"


@pytest.fixture
def sandbox_settings():
    # a delete takes four hours of sandbox time
    return replace(TINY_ORG, gdpr_step_seconds=3600)


def _state(world, run_id: str) -> SubjectState:
    (row,) = world.runtime.ledger.rows_for_run(run_id)
    return row.state


def test_request_running_at_the_deadline_is_polled_again_by_the_next_run_and_verified(world):
    summary = plan_erasure(
        world.runtime, FIRST, plan_request(world.expired_seed("slow@example.org")), world.now
    )
    submit_batch(world.runtime, FIRST, [h for batch in summary["batches"] for h in batch])
    (request_id,) = request_ids_in_flight(world.runtime, FIRST)
    with world.hook() as hook:
        at_deadline = hook.get_gdpr_request_statuses([request_id])
    assert at_deadline == {request_id: "INITIATED"}

    counts = settle_requests(world.runtime, FIRST, at_deadline, world.now, allow_resubmit=True)
    assert counts["overdue"] == 1 and _state(world, FIRST) is SubjectState.OVERDUE

    world.sandbox.control.advance_clock(hours=24)  # the next night: Genesys has finished meanwhile
    carry = PlanRequest(seeds=(), source=SubjectSource.RETENTION, carry_over=True)
    plan_erasure(world.runtime, NEXT, carry, world.now)
    assert request_ids_in_flight(world.runtime, NEXT) == [request_id]
    with world.hook() as hook:
        statuses = hook.get_gdpr_request_statuses([request_id])
    settle_requests(world.runtime, NEXT, statuses, world.now, allow_resubmit=True)
    verify_completed(world.runtime, NEXT, world.now)

    assert _state(world, NEXT) is SubjectState.VERIFIED
    assert [r["id"] for r in world.gdpr_requests()] == [request_id]

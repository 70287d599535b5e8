"""Planning against a sandbox org: the ledger rows it writes, the subjects it defers."""

from __future__ import annotations

from dataclasses import replace

from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import plan_erasure, screen
from tests.genesys_erasure.steps.conftest import plan_request


def _states(world, run_id: str) -> dict[str, SubjectState]:
    return {row.subject_hash: row.state for row in world.runtime.ledger.rows_for_run(run_id)}


def test_plan_writes_one_planned_row_per_expired_subject(world):
    seeds = [world.expired_seed("first@example.org"), world.expired_seed("second@example.org")]

    summary = plan_erasure(world.runtime, "plan-run", plan_request(*seeds), world.now)

    assert list(_states(world, "plan-run").values()) == [SubjectState.PLANNED] * 2
    assert summary["to_submit"] == 2
    assert sorted(h for batch in summary["batches"] for h in batch) == sorted(_states(world, "plan-run"))


def test_plan_defers_a_subject_whose_conversation_is_still_active(world):
    seed = world.expired_seed("still.talking@example.org", active=True)

    summary = plan_erasure(world.runtime, "plan-run", plan_request(seed), world.now)

    assert list(_states(world, "plan-run").values()) == [SubjectState.DEFERRED]
    assert (summary["deferred_active_conversation"], summary["to_submit"]) == (1, 0)


def test_plan_quarantines_a_seed_with_implausibly_many_conversations(world):
    threshold = world.runtime.config.quarantine_conversation_threshold
    seed = replace(world.expired_seed("switchboard@example.org"), conversation_count=threshold + 1)

    summary = plan_erasure(world.runtime, "plan-run", plan_request(seed), world.now)

    assert list(_states(world, "plan-run").values()) == [SubjectState.QUARANTINED]
    assert (summary["quarantined"], summary["to_submit"]) == (1, 0)


def test_screening_keeps_our_own_numbers_and_addresses_out_of_identity_resolution(world):
    seed = world.expired_seed("customer@example.org")

    screened = screen(world.runtime.config, {seed.identifier: seed})

    assert screened.kept == (seed.identifier,)
    assert set(world.runtime.config.own_identifiers) <= screened.excluded


def test_plan_summary_holds_no_personal_data(world):
    seed = world.expired_seed("private.person@example.org")

    summary = plan_erasure(world.runtime, "plan-run", plan_request(seed), world.now)

    assert "private.person" not in repr(summary)

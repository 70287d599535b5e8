"""Submission against a sandbox org: one GDPR request per subject, and never a second one."""

from __future__ import annotations

from collections import Counter

from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import plan_erasure
from genesys_erasure.steps.submit import submit_batch
from tests.genesys_erasure.steps.conftest import plan_request

EMAILS = ("first@example.org", "second@example.org")


def _planned(world, run_id: str) -> list[str]:
    seeds = [world.expired_seed(email) for email in EMAILS]
    summary = plan_erasure(world.runtime, run_id, plan_request(*seeds), world.now)
    return [h for batch in summary["batches"] for h in batch]


def _requests_per_email(world) -> Counter[str]:
    return Counter(e for r in world.gdpr_requests() for e in r.get("subject", {}).get("emailAddresses", []))


def test_submit_posts_exactly_one_request_per_subject(world):
    batch = _planned(world, "submit-run")

    result = submit_batch(world.runtime, "submit-run", batch)

    assert result["submitted"] == 2
    assert _requests_per_email(world) == Counter(EMAILS)
    states = {row.state for row in world.runtime.ledger.rows_for_run("submit-run")}
    assert states == {SubjectState.SUBMITTED}


def test_submitting_the_same_batch_again_posts_nothing(world):
    batch = _planned(world, "submit-run")
    submit_batch(world.runtime, "submit-run", batch)

    again = submit_batch(world.runtime, "submit-run", batch)

    assert (again["submitted"], again["skipped"]) == (0, 2)
    assert _requests_per_email(world) == Counter(EMAILS)


def test_a_retried_submission_posts_nothing_already_posted(world):
    batch = _planned(world, "submit-run")
    submit_batch(world.runtime, "submit-run", batch)

    retried = submit_batch(world.runtime, "submit-run", batch, is_retry=True)

    assert retried["submitted"] == 0
    assert _requests_per_email(world) == Counter(EMAILS)


def test_a_dry_run_posts_nothing(world):
    world.runtime.config = world.runtime.config.with_overrides({"dry_run": True})
    batch = _planned(world, "dry-run")

    result = submit_batch(world.runtime, "dry-run", batch)

    assert result["submitted"] == 0
    assert world.gdpr_requests() == []

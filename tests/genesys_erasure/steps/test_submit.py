"""Submission against a sandbox org: one GDPR request per subject, and never a second one."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

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


def test_a_pseudonymisation_submitted_by_another_run_writes_the_text_its_analyst_chose(world):
    # planned by an ad-hoc run whose analyst chose "[erased on request]"; carried over (an active
    # conversation) and submitted by the nightly purge, whose own Params have no replacement text
    seed = world.expired_seed("pia.pseudo@example.org")
    request = replace(plan_request(seed), request_type="GDPR_UPDATE", replacement="[erased on request]")
    summary = plan_erasure(world.runtime, "adhoc-run", request, world.now)
    batch = [h for b in summary["batches"] for h in b]

    submit_batch(world.runtime, "adhoc-run", batch)  # the nightly's default replacement

    [posted] = world.gdpr_requests()
    assert {t["updatedValue"] for t in posted["replacementTerms"]} == {"[erased on request]"}

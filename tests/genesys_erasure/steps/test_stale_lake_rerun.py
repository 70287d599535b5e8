"""Two nightly retention runs on a sandbox whose analytics lake is stale (`analytics_snapshot_hours` at
its pessimistic value): the second run still sees the customers the first one erased, with their old
values, and must neither plan them again nor count them in the purge-fraction guard."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from genesys_erasure.steps.plan_requests import plan_retention_purge
from genesys_erasure.steps.scan import find_expired_customers
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG

SNAPSHOT_HOURS = 24  # the pessimistic value: the lake shows an erasure a day later


@pytest.fixture
def sandbox_settings():
    return replace(TINY_ORG, analytics_snapshot_hours=SNAPSHOT_HOURS)


def _expired_customer(world, email: str, phone: str) -> None:
    """A customer with an external contact linking an e-mail and a phone, each in an old conversation."""
    org = world.sandbox.org
    person = org.add_customer(emails=[email], phones=[phone])
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    org.add_conversation(person, media="email", direction="inbound", start=start)
    org.add_conversation(person, media="voice", direction="inbound", start=start + timedelta(days=1))


def _nightly_run(world, run_id: str, *, verify: bool = False) -> dict:
    """Scan, plan, submit, wait for Genesys and settle (subjects end `completed`), then verify if asked,
    as the retention DAG does. Verification is left out by default, so the scan's own memory of what it
    erased is tested alone; with it, the subject is `erasure_pending` while the lake still shows it."""
    runtime = world.runtime
    counts = find_expired_customers(runtime, run_id, world.now)
    summary = plan_retention_purge(runtime, run_id, world.now, scan_counts=counts)
    submit_batch(runtime, run_id, [h for batch in summary["batches"] for h in batch])
    in_flight = request_ids_in_flight(runtime, run_id)
    if in_flight:
        settle_requests(runtime, run_id, world.wait_until_done(in_flight), world.now, allow_resubmit=False)
        if verify:
            verify_completed(runtime, run_id, world.now)
    return counts


def _lake_shows(world, email: str) -> bool:
    """Whether an analytics job over all history still shows `email` (the stale lake)."""
    with world.hook() as hook:
        job_id = hook.submit_conversation_details_job(
            {"interval": f"2000-01-01T00:00:00.000Z/{world.now.strftime('%Y-%m-%dT%H:%M:%S.000Z')}"}
        )
        hook.wait_for_conversation_details_job(job_id, poll_seconds=0.05)
        pages = hook.iter_job_results(job_id, page_size=1000)
        return email in repr([c for page in pages for c in page.conversations])


def test_second_run_on_a_stale_lake_submits_nothing_for_customers_already_erased(world):
    _expired_customer(world, "erased.once@example.org", "+4930123456701")
    world.customer("still.here@example.org", days_ago=10)
    _nightly_run(world, "night-1")
    submitted_after_first_run = len(world.gdpr_requests())

    _nightly_run(world, "night-2")

    assert submitted_after_first_run >= 1
    assert _lake_shows(world, "erased.once@example.org")
    assert len(world.gdpr_requests()) == submitted_after_first_run


def test_second_run_after_verification_on_a_stale_lake_submits_nothing_for_customers_already_erased(world):
    _expired_customer(world, "erased.once@example.org", "+4930123456701")
    world.customer("still.here@example.org", days_ago=10)
    _nightly_run(world, "night-1", verify=True)
    submitted_after_first_run = len(world.gdpr_requests())

    _nightly_run(world, "night-2", verify=True)

    assert len(world.gdpr_requests()) == submitted_after_first_run


def test_purge_fraction_guard_does_not_count_customers_already_erased(world):
    # Night 1: the erased customer's 3 identifiers (e-mail, phone, contact id) of 7 expire (43 %). Night 2:
    # the lake still shows those 3 next to 3 newly expired ones: 6 of 10 (60 %) would trip a 50 % guard;
    # the 3 fresh ones of the 7 customers not yet erased (43 %) do not.
    world.runtime.config = replace(world.runtime.config, max_purge_fraction=0.5)
    _expired_customer(world, "erased.once@example.org", "+4930123456701")
    for n in range(3):
        world.customer(f"still.here.{n}@example.org", days_ago=10)
    first = _nightly_run(world, "night-1")
    _expired_customer(world, "expired.later@example.org", "+4930123456702")

    second = _nightly_run(world, "night-2")

    assert _lake_shows(world, "erased.once@example.org")
    assert (second["expired_identifiers"], second["customers_seen"]) == (
        first["expired_identifiers"],
        first["customers_seen"],
    )

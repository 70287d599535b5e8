"""GDPR requests at volume, step by step against the sandbox: an org-wide GDPR quota (429 with a long
Retry-After) defers submission instead of failing it, and the listener and crash reconciliation read only
the part of the ever-growing request list that is new to them (oldest-first list, page size cut to 25)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from genesys_cloud.retry_policy import reset_shared_pacers
from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.external_erasures import (
    WATERMARK_OVERLAP,
    next_watermark,
    record_external_erasures,
)
from genesys_erasure.steps.plan import plan_erasure
from genesys_erasure.steps.reconcile import reconcile_stuck_submissions, sent_body
from genesys_erasure.steps.submit import QUOTA_REASON, submit_batch
from tests.genesys_erasure.steps.conftest import TINY_ORG, plan_request
from tests.support.sandbox import calls_to

S = SubjectState
LIST = "GET /api/v2/gdpr/requests"
EMAILS = ("one@example.org", "two@example.org", "three@example.org")
HISTORY = 200
STARTED_DAYS_AGO = 3


@pytest.fixture
def sandbox_settings():
    # The sandbox starts a few days back, so the org has an old request history before "now".
    return replace(
        TINY_ORG,
        now=datetime.now(UTC) - timedelta(days=STARTED_DAYS_AGO),
        gdpr_list_order="oldest_first",
        gdpr_list_page_size_cap=25,
        gdpr_quota_per_window=1,
        gdpr_quota_window_seconds=600,
    )


def _time_passes(world, seconds: float) -> None:
    """`seconds` pass: on the sandbox clock, and for the client, whose memory of a 429 (it holds the
    GDPR-create family back until the Retry-After is over) runs on the real clock."""
    world.sandbox.control.advance_clock(seconds=seconds)
    reset_shared_pacers()


def _catch_up(world) -> None:
    """Move the sandbox clock to the real now (the ledger's clock)."""
    world.sandbox.control.advance_clock(seconds=STARTED_DAYS_AGO * 86400)


def _planned(world, run_id: str) -> list[str]:
    seeds = [world.expired_seed(email) for email in EMAILS]
    summary = plan_erasure(world.runtime, run_id, plan_request(*seeds), world.now)
    return [h for batch in summary["batches"] for h in batch]


def _requests_per_email(world) -> Counter[str]:
    return Counter(e for r in world.gdpr_requests() for e in r.get("subject", {}).get("emailAddresses", []))


def _history(world, count: int) -> None:
    for n in range(count):
        world.sandbox.control.advance_clock(seconds=60)  # one a minute: older than the listener's overlap
        world.sandbox.state.gdpr.create(
            "GDPR_DELETE", {"emailAddresses": [f"old{n}@example.org"]}, None, None, "c"
        )


def _never_sleep(seconds: float) -> None:
    raise AssertionError(f"the step waited {seconds}s instead of deferring")


def test_a_long_quota_wait_defers_the_rest_of_the_batch_to_the_next_run(world):
    _catch_up(world)
    world.runtime.sleep = _never_sleep
    # the window's Retry-After is anything up to an hour: longer than this run is willing to wait
    world.runtime.config = world.runtime.config.with_overrides({"quota_wait_max_seconds": 0})
    batch = _planned(world, "night-1")

    result = submit_batch(world.runtime, "night-1", batch)

    assert (result["submitted"], result["deferred_gdpr_quota"]) == (1, 2)
    rows = world.runtime.ledger.rows_for_run("night-1")
    assert Counter(row.state for row in rows) == {S.SUBMITTED: 1, S.DEFERRED: 2}
    deferred = [row for row in rows if row.state is S.DEFERRED]
    assert {row.reason for row in deferred} == {QUOTA_REASON}
    assert {row.attempts for row in deferred} == {0}  # refused POSTs are not attempts
    assert sum(_requests_per_email(world).values()) == 1

    _time_passes(world, 600)  # the next night: the quota's window is over
    carried = world.runtime.ledger.carry_over_into("night-2")
    # one per window: the next night waits out each Retry-After
    world.runtime.sleep = lambda seconds: _time_passes(world, seconds)
    world.runtime.config = world.runtime.config.with_overrides({"quota_wait_max_seconds": 3600})
    again = submit_batch(world.runtime, "night-2", list(carried.planned))

    assert again["submitted"] == 2
    assert _requests_per_email(world) == Counter(EMAILS)  # every subject exactly once


def test_a_short_quota_wait_is_waited_out_and_every_subject_is_posted_once(world):
    _catch_up(world)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        _time_passes(world, seconds)

    world.runtime.sleep = sleep
    world.runtime.config = world.runtime.config.with_overrides({"quota_wait_max_seconds": 3600})
    batch = _planned(world, "night-1")

    result = submit_batch(world.runtime, "night-1", batch)

    assert result["submitted"] == 3
    assert "deferred_gdpr_quota" not in result
    assert len(waits) == 2 and all(0 < w <= 3600 for w in waits)
    assert _requests_per_email(world) == Counter(EMAILS)


def test_the_listener_reads_only_what_is_new_since_its_watermark(world):
    _history(world, HISTORY)
    _catch_up(world)  # every old request is done
    runtime = world.runtime

    first = record_external_erasures(runtime, "listener-1", world.now)
    assert first["recorded"] == HISTORY

    world.sandbox.control.advance_clock(seconds=3600)
    with world.hook() as hook:
        for n in range(3):
            world.sandbox.control.advance_clock(seconds=600)  # the quota: one per window
            hook.submit_gdpr_request("GDPR_DELETE", {"emailAddresses": [f"new{n}@example.org"]}, None)
    world.sandbox.control.advance_clock(seconds=60)
    world.sandbox.control.reset_request_counts()

    second = record_external_erasures(runtime, "listener-2", world.now)

    assert second["recorded"] == 3
    # the new ones and the few old ones within the overlap, not the history (200 requests, 8 pages)
    assert second["requests_read"] <= 3 + WATERMARK_OVERLAP.total_seconds() / 60 + 1
    assert calls_to(world.sandbox, LIST) <= 3


def test_the_listener_watermark_stays_at_a_request_still_running():
    def request(minutes: int, status: str) -> dict:
        when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
        return {"createdDate": when.isoformat().replace("+00:00", "Z"), "status": status}

    listed = [request(30, "COMPLETED"), request(10, "DELETING"), request(20, "ERROR")]
    assert next_watermark(listed, None) == datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    done = [request(30, "COMPLETED"), request(20, "ERROR")]
    assert next_watermark(done, None) == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert next_watermark([], datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 1, 1, tzinfo=UTC)


def test_crash_reconciliation_reads_only_the_requests_since_the_stuck_intent(world):
    _history(world, HISTORY)
    _catch_up(world)
    runtime = world.runtime
    [subject_hash, *_] = _planned(world, "crashed")
    row = runtime.ledger.mark_submitting(subject_hash, "crashed")
    token = runtime.ledger.sealed_identifiers(subject_hash)
    posted = runtime.client.submit_gdpr_request(
        row.request_type, sent_body(runtime, token, row.request_type), None
    )  # ... and the run died before recording the answer
    world.sandbox.control.reset_request_counts()

    reconcile_stuck_submissions(runtime, runtime.ledger, stale_after=timedelta(0))

    reconciled = runtime.ledger.get(subject_hash)
    assert (reconciled.state, reconciled.last_request_id) == (S.SUBMITTED, posted["id"])
    assert calls_to(world.sandbox, LIST) <= math.ceil(1 / 25) + 2

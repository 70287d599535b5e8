"""The retention scan and the subject search on a busy analytics service: jobs that queue and run for
minutes, fail and must be resubmitted, or answer pages too large to send, and detail queries limited by
the UTC days they touch. The scan must come to the same result as on an idle service; waits advance the
sandbox clock instead of sleeping."""

from __future__ import annotations

from dataclasses import replace

import pytest

from genesys_erasure.steps.scan import find_expired_customers, load_scan
from genesys_erasure.steps.subject_conversations import find_conversations
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG
from tests.support.sandbox import SandboxJobClock, calls_to

JOBS = "POST /api/v2/analytics/conversations/details/jobs"
# Enough history that a job's results take several pages of the sizes the client falls back to.
BUSY_ORG = replace(TINY_ORG, customers=30, conversations=400, details_query_counts_touched_days=True)
RESULT_FIELDS = ("cutoff", "expired", "stalled", "customers_seen")


@pytest.fixture
def sandbox_settings():
    return BUSY_ORG


def _result(world, run_id: str) -> dict:
    scan = load_scan(world.runtime, run_id)
    return {name: scan[name] for name in RESULT_FIELDS}


def test_scan_survives_a_pending_job_a_failed_job_and_pages_too_large_with_the_same_result(world):
    world.customer("long.gone@example.org", days_ago=RETENTION_DAYS + 30)
    world.customer("called.today@example.org", days_ago=0.1)  # only the detail queries see it yet
    now = world.now
    find_expired_customers(world.runtime, "idle", now)

    sb = world.sandbox
    jobs = sb.state.jobs
    jobs.timings = replace(jobs.timings, queued_seconds=30, seconds_per_day=0.05, concurrency_limit=1)
    sb.control.fail_next_analytics_jobs(1)
    sb.state.settings = replace(sb.state.settings, job_results_max_page_bytes=200_000)  # ~60 a page
    clock = SandboxJobClock(sb)
    world.runtime.client.job_polling = clock.polling()
    sb.control.reset_request_counts()
    find_expired_customers(world.runtime, "busy", now)

    assert _result(world, "busy") == _result(world, "idle")
    expired = {entry["value"] for entry in _result(world, "busy")["expired"]}
    assert "long.gone@example.org" in expired and "called.today@example.org" not in expired
    statuses = sb.control.request_counts()["by_status"]
    assert calls_to(sb, JOBS) == 3  # two jobs, one of them FAILED once and submitted again
    assert statuses.get("400", 0) >= 2  # pages refused as too large, asked again smaller
    assert sum(clock.waits) > 30 + 0.05 * 365  # the jobs queued, then ran PENDING for their years


def test_subject_search_reads_todays_conversations_when_the_query_limit_counts_touched_days(world):
    identifier, conversation_id = world.customer("called.today@example.org", days_ago=0.1)

    found = find_conversations(world.runtime.client, [identifier], world.now)

    assert conversation_id in found[identifier]

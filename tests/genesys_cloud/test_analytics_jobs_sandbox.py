"""The client runs analytics details jobs the way a busy org serves them: it polls with a back-off until a
long job is done, resubmits a FAILED job a bounded number of times, waits out the org's job cap per
Retry-After without creating a second job, shrinks a results page that is too large without losing or
repeating a row, and fails loudly (typed) when a job cannot be had. Waits advance the sandbox clock."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest

from genesys_cloud.analytics_jobs import JobPolling, interval_days
from genesys_cloud.errors import GenesysBadRequestError, GenesysJobError, GenesysJobFailedError
from genesys_cloud.hook import GenesysCloudHook
from tests.support.sandbox import ApiClient, SandboxJobClock, calls_to

JOBS = "POST /api/v2/analytics/conversations/details/jobs"
JOB_STATUS = "GET /api/v2/analytics/conversations/details/jobs/{jobId}"


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def history_body(sb, days: int = 6 * 365) -> dict:
    """A job over `days` ending a week ago: well before the data availability date, so every run of it
    (whenever the clock has got to) returns the same conversations."""
    end = sb.control.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    return {"interval": f"{iso(end - timedelta(days=days))}/{iso(end)}", "order": "asc"}


def job_rows(sb, body=None, page_size=1000, **polling) -> list[str]:
    clock = SandboxJobClock(sb)
    with GenesysCloudHook() as hook:
        hook.job_polling = clock.polling(**polling)
        pages = hook.run_conversation_details_job(body or history_body(sb), page_size=page_size)
        return [c["conversationId"] for page in pages for c in page.conversations]


def test_a_long_job_is_polled_with_growing_waits_until_it_is_fulfilled(start_sandbox):
    sb = start_sandbox(job_fulfil_seconds=20, job_seconds_per_day=0.1)
    clock = SandboxJobClock(sb)
    with GenesysCloudHook() as hook:
        hook.job_polling = clock.polling(first_poll_seconds=2, poll_backoff=2, max_poll_seconds=60)
        pages = hook.run_conversation_details_job(history_body(sb))
        rows = [c["conversationId"] for page in pages for c in page.conversations]
    assert rows and len(rows) == len(set(rows))
    assert clock.waits[:4] == [2, 4, 8, 16]
    assert max(clock.waits) == 60
    assert sum(clock.waits) >= 20 + 0.1 * 5 * 365  # queued, then PENDING for ~6 years of history
    assert calls_to(sb, JOB_STATUS) < 20  # backing off: far fewer reads than one per 2 s
    assert calls_to(sb, JOBS) == 1


def test_a_failed_job_is_resubmitted_and_returns_the_same_rows(start_sandbox):
    sb = start_sandbox(job_fulfil_seconds=5)
    expected = job_rows(sb)
    sb.control.fail_next_analytics_jobs(1)
    assert job_rows(sb) == expected
    assert calls_to(sb, JOBS) == 3  # one clean run, then a FAILED job and its resubmission


def test_a_job_failing_on_every_submission_fails_loudly_after_bounded_resubmissions(start_sandbox):
    sb = start_sandbox(job_fulfil_seconds=5)
    sb.control.fail_next_analytics_jobs(10)
    with pytest.raises(GenesysJobFailedError) as failed:
        job_rows(sb, max_resubmissions=2)
    assert failed.value.code == "job.failed"
    assert "3 submissions" in failed.value.message
    assert calls_to(sb, JOBS) == 3


def test_a_job_still_running_at_its_time_out_is_cancelled_and_reported(start_sandbox):
    sb = start_sandbox(job_fulfil_seconds=5000)
    with pytest.raises(GenesysJobError) as stuck:
        job_rows(sb, timeout_seconds=600, timeout_seconds_per_day=0)
    assert stuck.value.code == "job.timeout"
    (job,) = sb.state.jobs._jobs.values()
    assert job.cancelled  # it no longer holds one of the org's job slots


def test_the_time_out_grows_with_the_interval():
    polling = JobPolling(timeout_seconds=900, timeout_seconds_per_day=1)
    day = {"interval": "2025-01-01T00:00:00.000Z/2025-01-02T00:00:00.000Z"}
    years = {"interval": "2000-01-01T00:00:00.000Z/2025-01-01T00:00:00.000Z"}
    assert interval_days(years["interval"]) == 9132
    assert polling.timeout_for(day) == 901
    assert polling.timeout_for(years) == 900 + 9132


def test_the_org_job_cap_is_waited_out_per_retry_after_without_a_second_job(start_sandbox):
    sb = start_sandbox(job_fulfil_seconds=30, job_concurrency_limit=1)
    body = history_body(sb, days=30)
    blocker = ApiClient(sb).post("/api/v2/analytics/conversations/details/jobs", json=body)
    assert blocker.status_code == 202
    clock = SandboxJobClock(sb)
    started = time.monotonic()
    with GenesysCloudHook() as hook:
        hook.job_polling = clock.polling()
        rows = [c["conversationId"] for p in hook.run_conversation_details_job(body) for c in p.conversations]
    assert rows
    assert time.monotonic() - started < 20  # the wait was on the job clock: the client's pacer never stalled
    assert clock.waits[0] == 30  # the Retry-After: until the other job leaves its slot
    assert sb.control.request_counts()["by_status"].get("429") == 1
    assert len(sb.state.jobs._jobs) == 2  # the other client's job and ours: nothing submitted twice


def _page_budget(sb, max_bytes: int) -> None:
    """Turn the sandbox's results-page byte budget at run time (the routes read the settings per call)."""
    sb.state.settings = replace(sb.state.settings, job_results_max_page_bytes=max_bytes)


def test_a_results_page_too_large_is_asked_again_smaller_from_the_same_cursor(start_sandbox):
    sb = start_sandbox(conversations=300)
    expected = job_rows(sb, page_size=100)
    assert len(expected) > 100
    _page_budget(sb, 30 * 2_200)  # room for ~30 conversations of ~2 kB
    shrunk = job_rows(sb, page_size=100)
    assert shrunk == expected  # nothing lost, nothing twice, same order
    too_large = sb.control.request_counts()["by_status"]["400"]
    assert too_large == 2  # 100 -> 50 -> 25, then 25 for the rest


def test_a_page_too_large_even_at_the_floor_fails_loudly(start_sandbox):
    sb = start_sandbox()
    _page_budget(sb, 500)  # not even one conversation
    with pytest.raises(GenesysBadRequestError) as refused:
        job_rows(sb, page_size=100, min_page_size=25)
    assert refused.value.code == "response.entity.too.large"


def test_results_expiring_while_being_read_fail_loudly(start_sandbox):
    sb = start_sandbox(job_results_ttl_hours=1)
    clock = SandboxJobClock(sb)
    with GenesysCloudHook() as hook:
        hook.job_polling = clock.polling()
        pages = hook.run_conversation_details_job(history_body(sb), page_size=5)
        next(pages)
        sb.control.advance_clock(hours=1)
        with pytest.raises(GenesysJobError) as expired:
            next(pages)
    assert expired.value.code == "job.expired"


class LateFirstLook(SandboxJobClock):
    """The client's first wait lasts an hour longer than asked (a stalled worker)."""

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds + (0 if self.waits else 3600))


def test_results_expired_before_the_first_page_are_had_again_from_a_new_job(start_sandbox):
    sb = start_sandbox(job_fulfil_seconds=1, job_results_ttl_hours=1)
    expected = job_rows(sb)
    clock = LateFirstLook(sb)
    with GenesysCloudHook() as hook:
        hook.job_polling = clock.polling(max_resubmissions=1)
        pages = hook.run_conversation_details_job(history_body(sb))
        rows = [c["conversationId"] for page in pages for c in page.conversations]
    assert rows == expected
    assert calls_to(sb, JOBS) == 3  # the clean run; the job that expired unread and its resubmission


def test_a_details_query_deeper_than_genesys_pages_fails_loudly(start_sandbox):
    sb = start_sandbox(details_query_max_results=10)
    org = sb.org
    customer = next(iter(org.customers.values()))
    day = sb.control.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    for hour in range(12):
        org.add_conversation(customer, media="voice", start=day + timedelta(hours=hour))
    body = {"interval": f"{iso(day)}/{iso(day + timedelta(days=1))}"}
    with GenesysCloudHook() as hook, pytest.raises(GenesysBadRequestError) as refused:
        list(hook.iter_conversation_details(body, page_size=5))
    assert refused.value.code == "result.window.exceeded"

"""Analytics jobs and detail queries as a busy org serves them (each knob alone, at a test-sized value):
jobs that queue and run for a time that grows with their interval, fail, expire, are capped per org,
result pages too large to send, and detail queries limited by the UTC days they touch and by paging depth.
The sandbox clock is advanced, never slept on."""

from __future__ import annotations

from datetime import timedelta

from genesys_sandbox.clock import format_instant, parse_instant
from tests.support.sandbox import FIXED_NOW, ApiClient

QUERY = "/api/v2/analytics/conversations/details/query"
JOBS = "/api/v2/analytics/conversations/details/jobs"
MIDNIGHT = FIXED_NOW.replace(hour=0)
# Well before the jobs' dataAvailabilityDate (now - 36 h), so the lake holds every day of these intervals;
# at midnight, so an interval of N days touches N UTC days.
LAKE_END = MIDNIGHT - timedelta(days=5)


def _interval(start, end):
    return f"{format_instant(start)}/{format_instant(end)}"


def _submit(api, days, end=LAKE_END):
    response = api.post(JOBS, json={"interval": _interval(end - timedelta(days=days), end)})
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


def _state(api, job_id):
    return api.get(f"{JOBS}/{job_id}").json()["state"]


def test_a_job_queues_then_runs_longer_the_longer_its_interval(sandbox_factory):
    sb = sandbox_factory(job_fulfil_seconds=10, job_seconds_per_day=1)
    api = ApiClient(sb)
    short, long = _submit(api, days=2), _submit(api, days=30)
    assert (_state(api, short), _state(api, long)) == ("QUEUED", "QUEUED")
    sb.control.advance_clock(seconds=10.5)
    assert (_state(api, short), _state(api, long)) == ("PENDING", "PENDING")
    assert api.get(f"{JOBS}/{short}/results").status_code == 400
    sb.control.advance_clock(seconds=2)  # 10 s queued + 2 days x 1 s
    assert (_state(api, short), _state(api, long)) == ("FULFILLED", "PENDING")
    sb.control.advance_clock(seconds=28)  # 10 s queued + 30 days x 1 s
    status = api.get(f"{JOBS}/{long}").json()
    assert status["state"] == "FULFILLED"
    assert {"submissionDate", "completionDate", "expirationDate"} <= set(status)


def test_a_job_over_years_before_the_org_existed_runs_only_as_long_as_the_history_it_reads(sandbox_factory):
    sb = sandbox_factory(job_fulfil_seconds=0, job_seconds_per_day=1, years=1)
    api = ApiClient(sb)
    job_id = _submit(api, days=20 * 365, end=FIXED_NOW)
    sb.control.advance_clock(seconds=366)
    assert _state(api, job_id) == "FULFILLED"


def test_the_next_jobs_asked_to_fail_end_failed_with_an_error_message_and_no_results(sandbox_factory):
    sb = sandbox_factory(job_fulfil_seconds=5)
    api = ApiClient(sb)
    sb.control.apply({"fail_next_analytics_jobs": 1})
    failed, fine = _submit(api, days=1), _submit(api, days=1)
    sb.control.advance_clock(seconds=6)
    status = api.get(f"{JOBS}/{failed}").json()
    assert status["state"] == "FAILED"
    assert status["errorMessage"]
    assert "expirationDate" not in status
    assert api.get(f"{JOBS}/{failed}/results").status_code == 400
    assert _state(api, fine) == "FULFILLED"


def test_the_first_jobs_of_an_org_can_be_set_to_fail(sandbox_factory):
    sb = sandbox_factory(fail_first_analytics_jobs=1)
    api = ApiClient(sb)
    assert [_state(api, _submit(api, days=1)) for _ in range(2)] == ["FAILED", "FULFILLED"]


def test_results_answer_as_expired_once_the_expiration_date_passes(sandbox_factory):
    sb = sandbox_factory(job_results_ttl_hours=1)
    api = ApiClient(sb)
    job_id = _submit(api, days=1)
    status = api.get(f"{JOBS}/{job_id}").json()
    assert status["state"] == "FULFILLED"
    lifetime = parse_instant(status["expirationDate"]) - parse_instant(status["completionDate"])
    assert lifetime == timedelta(hours=1)
    assert api.get(f"{JOBS}/{job_id}/results").status_code == 200
    sb.control.advance_clock(hours=1)
    assert _state(api, job_id) == "EXPIRED"
    expired = api.get(f"{JOBS}/{job_id}/results")
    assert expired.status_code == 400
    assert "EXPIRED" in expired.json()["message"]


def test_more_concurrent_jobs_than_the_org_allows_is_a_429_until_one_finishes(sandbox_factory):
    sb = sandbox_factory(job_fulfil_seconds=30, job_concurrency_limit=1)
    api = ApiClient(sb)
    first = _submit(api, days=1)
    refused = api.post(JOBS, json={"interval": _interval(LAKE_END - timedelta(days=1), LAKE_END)})
    assert refused.status_code == 429
    assert refused.json()["code"] == "too.many.requests.retry.after"
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    sb.control.advance_clock(seconds=31)
    assert _state(api, first) == "FULFILLED"
    second = _submit(api, days=1)
    api.delete(f"{JOBS}/{second}")  # a cancelled job frees its slot at once
    _submit(api, days=1)


def test_a_results_page_over_the_byte_budget_is_a_400_entity_too_large(sandbox_factory):
    sb = sandbox_factory(job_results_max_page_bytes=40_000)
    api = ApiClient(sb)
    job_id = _submit(api, days=3 * 365)
    too_large = api.get(f"{JOBS}/{job_id}/results", params={"pageSize": 100})
    assert too_large.status_code == 400
    assert too_large.json()["code"] == "response.entity.too.large"
    assert "Reduce pageSize" in too_large.json()["message"]
    smaller = api.get(f"{JOBS}/{job_id}/results", params={"pageSize": 10})
    assert smaller.status_code == 200
    assert len(smaller.json()["conversations"]) == 10


def test_detail_query_limit_counts_the_utc_days_the_interval_touches(sandbox_factory):
    sb = sandbox_factory(details_query_counts_touched_days=True)
    api = ApiClient(sb)
    filters = [{"type": "or", "predicates": [{"dimension": "mediaType", "value": "voice"}]}]
    seven_days_from_noon = {"interval": _interval(FIXED_NOW - timedelta(days=7), FIXED_NOW)}
    seven_whole_days = {"interval": _interval(MIDNIGHT - timedelta(days=7), MIDNIGHT)}
    month_from_noon = {
        "interval": _interval(FIXED_NOW - timedelta(days=31), FIXED_NOW),
        "segmentFilters": filters,
    }
    month_of_whole_days = {
        "interval": _interval(MIDNIGHT - timedelta(days=30), FIXED_NOW),
        "segmentFilters": filters,
    }
    refused = api.post(QUERY, json=seven_days_from_noon)
    assert refused.status_code == 400
    assert refused.json()["details"][0]["fieldName"] == "interval"
    assert api.post(QUERY, json=seven_whole_days).status_code == 200
    assert api.post(QUERY, json=month_from_noon).status_code == 400
    assert api.post(QUERY, json=month_of_whole_days).status_code == 200


def test_detail_query_limit_counts_the_interval_length_by_default(shared_api):
    seven_days_from_noon = {"interval": _interval(FIXED_NOW - timedelta(days=7), FIXED_NOW)}
    assert shared_api.post(QUERY, json=seven_days_from_noon).status_code == 200


def test_detail_query_paging_deeper_than_the_cap_is_a_400(sandbox_factory):
    sb = sandbox_factory(details_query_max_results=50)
    api = ApiClient(sb)

    def page(number):
        interval = _interval(MIDNIGHT - timedelta(days=7), MIDNIGHT)
        return api.post(QUERY, json={"interval": interval, "paging": {"pageSize": 25, "pageNumber": number}})

    assert page(2).status_code == 200
    refused = page(3)
    assert refused.status_code == 400
    assert refused.json()["details"][0]["fieldName"] == "paging.pageNumber"

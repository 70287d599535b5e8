"""Simulated time: a sandbox clock that runs faster than the caller's, and polls that let a poller's wait
pass in sandbox time, so hours-long GDPR requests and real rate windows need no real sleep."""

from __future__ import annotations

from datetime import timedelta

import requests

from genesys_sandbox.clock import format_instant
from tests.support.sandbox import FIXED_NOW, ApiClient

REQUESTS = "/api/v2/gdpr/requests"
JOBS = "/api/v2/analytics/conversations/details/jobs"
HOUR = 3600


def _delete(api: ApiClient, phone: str) -> str:
    body = {"requestType": "GDPR_DELETE", "subject": {"phoneNumbers": [phone]}}
    return api.post(REQUESTS, params={"deleteConfirmed": "true"}, json=body).json()["id"]


def _hours_since(sb, started) -> float:
    """Sandbox hours since `started`, to the minute (the clock also runs while the test does)."""
    return round((sb.control.now() - started).total_seconds() / HOUR, 1)


def test_a_fast_clock_announces_the_real_rate_window_in_the_callers_seconds(sandbox_factory):
    # 300 per 60 sandbox seconds at 12 sandbox seconds per wall second: the window lasts 5 wall seconds
    sb = sandbox_factory(rate_limit_per_window=300, rate_limit_window_seconds=60, clock_rate=12)
    headers = ApiClient(sb).get(REQUESTS).headers
    assert headers["inin-ratelimit-allowed"] == "300"
    assert 1 <= int(headers["inin-ratelimit-reset"]) <= 5


def test_a_fast_clock_asks_a_client_over_the_limit_to_retry_after_the_window_in_its_own_seconds(
    sandbox_factory,
):
    sb = sandbox_factory(rate_limit_per_window=2, rate_limit_window_seconds=60, clock_rate=12)
    api = ApiClient(sb)
    statuses = [api.get(REQUESTS) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 5


def test_a_fast_clock_announces_the_token_lifetime_in_the_callers_seconds(sandbox_factory):
    sb = sandbox_factory(token_ttl_seconds=3600, clock_rate=12)
    answer = requests.post(
        f"{sb.base_url}/oauth/token",
        auth=(sb.client_id, sb.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert answer.json()["expires_in"] == 300


def test_each_poll_of_an_unfinished_request_lets_the_pollers_wait_pass_in_sandbox_time(sandbox_factory):
    # a delete takes four hours of sandbox time; each poll stands for two hours of waiting
    sb = sandbox_factory(gdpr_step_seconds=HOUR, gdpr_poll_advance_seconds=2 * HOUR)
    api = ApiClient(sb)
    request_id = _delete(api, "+442079460123")
    started = sb.control.now()
    seen = [api.get(f"{REQUESTS}/{request_id}").json()["status"] for _ in range(4)]
    assert seen == ["INITIATED", "DELETING", "COMPLETED", "COMPLETED"]
    # polls once every request is final stand for no waiting: the clock stayed where COMPLETED was seen
    assert _hours_since(sb, started) == 4


def test_one_poll_of_the_request_list_advances_the_clock_once_whatever_its_pages(sandbox_factory):
    sb = sandbox_factory(gdpr_step_seconds=HOUR, gdpr_poll_advance_seconds=HOUR)
    api = ApiClient(sb)
    for n in range(3):
        _delete(api, f"+44207946012{n}")
    started = sb.control.now()
    pages = [api.get(REQUESTS, params={"pageSize": 1, "pageNumber": page}).json() for page in (1, 2, 3)]
    assert sum(len(page["entities"]) for page in pages) == 3
    assert _hours_since(sb, started) == 1


def test_a_pass_over_an_oldest_first_list_advances_the_clock_once_on_the_page_with_the_newest_request(
    sandbox_factory,
):
    # a poller reads the list from its newest end: the probe page 1 (here the oldest request), then the
    # last page (the newest), then back; only the page holding the newest request stands for a poll
    sb = sandbox_factory(
        gdpr_step_seconds=HOUR, gdpr_poll_advance_seconds=HOUR, gdpr_list_order="oldest_first"
    )
    api = ApiClient(sb)
    newest = [_delete(api, f"+44207946013{n}") for n in range(3)][-1]
    started = sb.control.now()

    def read(page: int) -> list[dict]:
        return api.get(REQUESTS, params={"pageSize": 1, "pageNumber": page}).json()["entities"]

    assert _hours_since(sb, started) == 0 and read(1) and _hours_since(sb, started) == 0
    (seen,) = read(3)
    assert (seen["id"], seen["status"]) == (newest, "INITIATED")  # the poll sees it as it is: no head start
    assert _hours_since(sb, started) == 1
    read(2)
    assert _hours_since(sb, started) == 1


def test_a_read_by_id_of_a_finished_request_lets_no_time_pass(sandbox_factory):
    sb = sandbox_factory(gdpr_step_seconds=HOUR, gdpr_poll_advance_seconds=HOUR)
    api = ApiClient(sb)
    done = _delete(api, "+442079460140")
    sb.control.advance_clock(hours=4)
    _delete(api, "+442079460141")  # another request is still open
    started = sb.control.now()
    assert api.get(f"{REQUESTS}/{done}").json()["status"] == "COMPLETED"
    assert _hours_since(sb, started) == 0


def test_each_status_read_of_a_queued_job_lets_the_pollers_wait_pass_in_sandbox_time(sandbox_factory):
    sb = sandbox_factory(job_fulfil_seconds=600, job_poll_advance_seconds=600)
    api = ApiClient(sb)
    interval = f"{format_instant(FIXED_NOW - timedelta(days=30))}/{format_instant(FIXED_NOW)}"
    job_id = api.post(JOBS, json={"interval": interval}).json()["jobId"]
    states = [api.get(f"{JOBS}/{job_id}").json()["state"] for _ in range(3)]
    assert states == ["QUEUED", "FULFILLED", "FULFILLED"]


def test_each_status_read_of_a_pending_job_lets_the_pollers_wait_pass_in_sandbox_time(sandbox_factory):
    # ten minutes QUEUED, then PENDING for 10 s per UTC day of the interval (about five minutes here)
    sb = sandbox_factory(job_fulfil_seconds=600, job_seconds_per_day=10, job_poll_advance_seconds=600)
    api = ApiClient(sb)
    interval = f"{format_instant(FIXED_NOW - timedelta(days=30))}/{format_instant(FIXED_NOW)}"
    job_id = api.post(JOBS, json={"interval": interval}).json()["jobId"]
    states = [api.get(f"{JOBS}/{job_id}").json()["state"] for _ in range(4)]
    assert states == ["QUEUED", "PENDING", "FULFILLED", "FULFILLED"]

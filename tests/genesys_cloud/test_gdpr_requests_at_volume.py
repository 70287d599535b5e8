"""GDPR requests at volume: the request list is read from its newest end whatever order the org lists in,
with the page size the org really serves, so polling and "what is new since" cost about (requests
wanted) / (page size) calls, not the whole request history."""

from __future__ import annotations

import math

import pytest

from genesys_cloud.async_hook import GenesysCloudAsyncHook
from genesys_cloud.gdpr_listing import created_at
from genesys_cloud.gdpr_status import StatusPoll
from genesys_cloud.hook import GenesysCloudHook
from tests.support.sandbox import calls_to

LIST = "GET /api/v2/gdpr/requests"
SINGLE = "GET /api/v2/gdpr/requests/{requestId}"
PAGE_CAP = 25
HISTORY = 400  # requests of earlier nights, all finished
IN_FLIGHT = 100
STEP_SECONDS = 60  # requests move only when the test moves the sandbox clock


def _make(sb, count: int, first: int) -> list[str]:
    """`count` GDPR_DELETEs with distinct createdDates, made in the sandbox process (fast)."""
    ids = []
    for n in range(first, first + count):
        request = sb.state.gdpr.create(
            "GDPR_DELETE", {"emailAddresses": [f"r{n}@example.org"]}, None, None, "c"
        )
        ids.append(request.id)
        sb.control.advance_clock(seconds=0.002)
    return ids


def _org_with_history(start_sandbox, order: str):
    sb = start_sandbox(
        gdpr_list_order=order, gdpr_list_page_size_cap=PAGE_CAP, gdpr_step_seconds=STEP_SECONDS
    )
    old = _make(sb, HISTORY, 0)
    sb.control.advance_clock(seconds=5 * STEP_SECONDS)  # the history is finished
    return sb, old


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_one_status_poll_costs_about_in_flight_over_page_size_calls(start_sandbox, order):
    sb, _old = _org_with_history(start_sandbox, order)
    in_flight = _make(sb, IN_FLIGHT, HISTORY)
    sb.control.reset_request_counts()

    with GenesysCloudHook() as hook:
        statuses = hook.get_gdpr_request_statuses(in_flight)

    assert statuses == dict.fromkeys(in_flight, "INITIATED")
    assert calls_to(sb, LIST) <= math.ceil(IN_FLIGHT / PAGE_CAP) + 2  # + the probe and a boundary page
    assert calls_to(sb, SINGLE) == 0


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_later_poll_rounds_read_only_the_requests_still_open(start_sandbox, order):
    sb, _old = _org_with_history(start_sandbox, order)
    done_early = _make(sb, 75, HISTORY)
    sb.control.advance_clock(seconds=5 * STEP_SECONDS)
    still_open = _make(sb, 25, HISTORY + 75)
    poll = StatusPoll(done_early + still_open)
    with GenesysCloudHook() as hook:
        hook.poll_gdpr_request_statuses(poll)
        sb.control.reset_request_counts()
        statuses = hook.poll_gdpr_request_statuses(poll)

    assert [statuses[i] for i in done_early] == ["COMPLETED"] * 75
    assert {statuses[i] for i in still_open} == {"INITIATED"}
    assert calls_to(sb, LIST) <= math.ceil(25 / PAGE_CAP) + 2
    assert calls_to(sb, SINGLE) == 0


def test_each_poll_round_lets_one_pollers_wait_pass_however_many_pages_it_reads(start_sandbox):
    # the DAG tests' simulated time (sandbox ASSUMPTIONS.md, "Simulated time"): a poll round stands for
    # one wait of the poller, not one per list page or per open request it reads
    sb = start_sandbox(
        gdpr_list_order="oldest_first",
        gdpr_list_page_size_cap=PAGE_CAP,
        gdpr_step_seconds=STEP_SECONDS,
        gdpr_poll_advance_seconds=STEP_SECONDS,
    )
    _make(sb, HISTORY, 0)
    sb.control.advance_clock(seconds=5 * STEP_SECONDS)  # the history is finished
    in_flight = _make(sb, IN_FLIGHT, HISTORY)
    newest = in_flight[-1]
    poll = StatusPoll(in_flight)
    started = sb.control.now()
    seen, list_calls = [], []
    with GenesysCloudHook() as hook:
        while poll.open_ids and len(seen) < 10:
            sb.control.reset_request_counts()
            seen.append(hook.poll_gdpr_request_statuses(poll)[newest])
            list_calls.append(calls_to(sb, LIST))
    waited = (sb.control.now() - started).total_seconds()

    # the first round sees the newest request as it was submitted; each round after sees one step more
    assert seen == ["INITIATED", "SEARCHING", "DELETING", "FINALIZING", "COMPLETED"]
    assert all(calls >= 2 for calls in list_calls)  # a probe page and the newest page, at least
    assert 4 * STEP_SECONDS <= waited < 5 * STEP_SECONDS  # four waits: the last round found all final


def test_an_id_the_list_does_not_show_is_not_found_without_reading_all_history(start_sandbox):
    sb, _old = _org_with_history(start_sandbox, "oldest_first")
    in_flight = _make(sb, 10, HISTORY)
    poll = StatusPoll([*in_flight, "00000000-0000-0000-0000-00000000dead"])
    with GenesysCloudHook() as hook:
        hook.poll_gdpr_request_statuses(poll)  # learns when the open requests were created
        sb.control.reset_request_counts()
        statuses = hook.poll_gdpr_request_statuses(poll)

    assert statuses["00000000-0000-0000-0000-00000000dead"] == "NOT_FOUND"
    assert calls_to(sb, LIST) <= 3


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_requests_since_a_watermark_are_read_without_the_history_before_it(start_sandbox, order):
    sb, old = _org_with_history(start_sandbox, order)
    new = _make(sb, 30, HISTORY)
    watermark = created_at({"createdDate": _iso(sb, new[0])})
    sb.control.reset_request_counts()

    with GenesysCloudHook() as hook:
        read = [entity["id"] for entity in hook.iter_gdpr_requests(since=watermark)]

    assert sorted(read) == sorted(new)
    assert calls_to(sb, LIST) <= math.ceil(30 / PAGE_CAP) + 2
    assert set(old).isdisjoint(read)


@pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
def test_the_whole_list_is_still_read_exactly_once_without_a_watermark(start_sandbox, order):
    _sb, old = _org_with_history(start_sandbox, order)
    with GenesysCloudHook() as hook:
        read = [entity["id"] for entity in hook.iter_gdpr_requests()]
    assert sorted(read) == sorted(old)


def test_the_async_hook_reads_since_a_watermark_the_same_way(start_sandbox):
    import asyncio

    sb, _old = _org_with_history(start_sandbox, "oldest_first")
    new = _make(sb, 5, HISTORY)
    watermark = created_at({"createdDate": _iso(sb, new[0])})

    async def read() -> list[str]:
        async with GenesysCloudAsyncHook() as hook:
            return [entity["id"] async for entity in hook.iter_gdpr_requests(since=watermark)]

    assert sorted(asyncio.run(read())) == sorted(new)


def _iso(sb, request_id: str) -> str:
    from genesys_sandbox.clock import format_instant

    return format_instant(sb.state.gdpr.get(request_id).created_date)


def test_a_gdpr_quota_holds_back_only_creating_requests_and_says_how_long(start_sandbox):
    import pickle

    from genesys_cloud.errors import GenesysRateLimitError

    sb = start_sandbox(gdpr_quota_per_window=1, gdpr_quota_window_seconds=3600)
    with GenesysCloudHook() as hook:
        hook.submit_gdpr_request("GDPR_DELETE", {"emailAddresses": ["a@example.org"]})
        with pytest.raises(GenesysRateLimitError) as refused:
            hook.submit_gdpr_request("GDPR_DELETE", {"emailAddresses": ["b@example.org"]})
        posts = calls_to(sb, "POST /api/v2/gdpr/requests")
        with pytest.raises(GenesysRateLimitError) as held:  # answered from memory, nothing sent
            hook.submit_gdpr_request("GDPR_DELETE", {"emailAddresses": ["c@example.org"]})
        listed = list(hook.iter_gdpr_requests())  # reading is not held back

    assert 5 < refused.value.retry_after <= 3600
    assert 0 < held.value.retry_after <= refused.value.retry_after
    assert calls_to(sb, "POST /api/v2/gdpr/requests") == posts == 2
    assert len(listed) == 1
    assert pickle.loads(pickle.dumps(refused.value)).retry_after == refused.value.retry_after

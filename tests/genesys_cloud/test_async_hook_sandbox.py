"""GenesysCloudAsyncHook against the real sandbox: the same retry rules as the sync hook."""

from __future__ import annotations

import asyncio
import logging

import pytest

from genesys_cloud.async_hook import GenesysCloudAsyncHook
from genesys_cloud.errors import GenesysNotFoundError
from genesys_cloud.hook import GenesysCloudHook
from tests.support.sandbox import an_email_subject, calls_to, statuses_served


def run(coroutine_function, *args):
    async def body():
        async with GenesysCloudAsyncHook() as hook:
            return await coroutine_function(hook, *args)

    return asyncio.run(body())


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "retrying in" in r.getMessage()]


async def list_requests(hook: GenesysCloudAsyncHook) -> dict:
    return await hook.request("GET", "/api/v2/gdpr/requests")


def test_async_hook_waits_out_429_and_retries_5xx(sandbox, caplog):
    caplog.set_level(logging.WARNING)
    sandbox.control.burst_429(1, retry_after=1)
    sandbox.control.fail_next_requests(1, status=503)
    assert run(list_requests)["entities"] == []
    retries = retry_records(caplog)
    assert [r.args[2] for r in retries] == [429, 503]
    assert retries[0].args[4] >= 1.0  # waited at least Retry-After


def test_async_hook_renews_a_revoked_token_once(sandbox):
    run(list_requests)
    sandbox.control.revoke_tokens()
    assert run(list_requests)["entities"] == []
    assert statuses_served(sandbox)["401"] == 1


def test_async_hook_reuses_the_token_of_the_sync_hook(sandbox):
    with GenesysCloudHook() as hook:
        hook.request("GET", "/api/v2/gdpr/requests")
    run(list_requests)
    assert calls_to(sandbox, "POST /oauth/token") == 1


def test_async_not_found_is_a_typed_error(sandbox):
    async def get_missing(hook: GenesysCloudAsyncHook) -> dict:
        return await hook.get_gdpr_request("no-such-request")

    with pytest.raises(GenesysNotFoundError) as raised:
        run(get_missing)
    assert raised.value.correlation_id


def test_async_paging_lists_every_gdpr_request_once(sandbox):
    with GenesysCloudHook() as hook:
        submitted = {
            hook.submit_gdpr_request("GDPR_EXPORT", an_email_subject(sandbox))["id"] for _ in range(5)
        }

    async def list_all(hook: GenesysCloudAsyncHook) -> list[str]:
        return [request["id"] async for request in hook.iter_entities("/api/v2/gdpr/requests", page_size=2)]

    listed = run(list_all)
    assert sorted(listed) == sorted(submitted)

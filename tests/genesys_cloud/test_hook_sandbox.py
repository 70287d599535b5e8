"""GenesysCloudHook against the real sandbox over loopback: tokens, retries, pacing, errors, paging, logs."""

from __future__ import annotations

import json
import logging
import os
import time

import pytest

from genesys_cloud.errors import (
    GenesysAuthError,
    GenesysBadRequestError,
    GenesysNotFoundError,
    GenesysServerError,
    GenesysTransportError,
)
from genesys_cloud.hook import GenesysCloudHook
from tests.support.sandbox import CONN_ENV, an_email_subject, calls_to, statuses_served

GDPR_LIST = "GET /api/v2/gdpr/requests"
TOKEN = "POST /oauth/token"


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "retrying in" in r.getMessage()]


def test_connection_from_env_var_reaches_the_sandbox(sandbox):
    with GenesysCloudHook() as hook:
        assert hook.request("GET", "/api/v2/gdpr/requests")["entities"] == []
        assert hook.settings.login_url == sandbox.base_url


def test_one_token_is_shared_by_hooks_of_the_same_client(sandbox):
    with GenesysCloudHook() as first, GenesysCloudHook() as second:
        first.request("GET", "/api/v2/gdpr/requests")
        second.request("GET", "/api/v2/gdpr/requests")
    assert calls_to(sandbox, TOKEN) == 1


def test_expired_token_is_renewed_before_use(start_sandbox):
    sb = start_sandbox(token_ttl_seconds=1)
    with GenesysCloudHook() as hook:
        hook.request("GET", "/api/v2/gdpr/requests")
        time.sleep(1.0)  # the token's real lifetime runs out
        hook.request("GET", "/api/v2/gdpr/requests")
    assert calls_to(sb, TOKEN) == 2
    assert "401" not in statuses_served(sb)


def test_revoked_token_is_renewed_once_and_the_call_succeeds(sandbox):
    with GenesysCloudHook() as hook:
        hook.request("GET", "/api/v2/gdpr/requests")
        sandbox.control.revoke_tokens()
        assert hook.request("GET", "/api/v2/gdpr/requests")["entities"] == []
    assert statuses_served(sandbox)["401"] == 1
    assert calls_to(sandbox, TOKEN) == 2


def test_wrong_client_secret_is_a_typed_auth_error(sandbox, monkeypatch):
    connection = json.loads(os.environ[CONN_ENV])
    monkeypatch.setenv(CONN_ENV, json.dumps({**connection, "password": "wrong-secret"}))
    with GenesysCloudHook() as hook, pytest.raises(GenesysAuthError) as raised:
        hook.request("GET", "/api/v2/gdpr/requests")
    assert (raised.value.status, raised.value.code) == (401, "invalid_client")
    assert "wrong-secret" not in str(raised.value)
    assert calls_to(sandbox, GDPR_LIST) == 0


def test_429_burst_is_waited_out_honouring_retry_after(sandbox, caplog):
    caplog.set_level(logging.WARNING)
    sandbox.control.burst_429(2, retry_after=1)
    with GenesysCloudHook() as hook:
        assert hook.request("GET", "/api/v2/gdpr/requests")["entities"] == []
    retries = retry_records(caplog)
    assert [r.args[2] for r in retries] == [429, 429]
    assert all(r.args[4] >= 1.0 for r in retries)  # waited at least Retry-After
    assert statuses_served(sandbox)["429"] == 2


def test_5xx_is_retried_until_the_call_succeeds(sandbox, caplog):
    caplog.set_level(logging.WARNING)
    sandbox.control.fail_next_requests(2, status=503)
    with GenesysCloudHook() as hook:
        assert hook.request("GET", "/api/v2/gdpr/requests")["entities"] == []
    assert [r.args[2] for r in retry_records(caplog)] == [503, 503]


def test_persistent_5xx_surfaces_as_typed_error_after_max_attempts(start_sandbox):
    sb = start_sandbox(extra={"max_attempts": 3})
    sb.control.fail_next_requests(5, status=500)
    with GenesysCloudHook() as hook, pytest.raises(GenesysServerError) as raised:
        hook.request("GET", "/api/v2/gdpr/requests")
    assert raised.value.status == 500
    assert raised.value.code == "internal.server.error"
    assert raised.value.correlation_id
    assert statuses_served(sb)["500"] == 3


def test_gdpr_submission_is_not_repeated_after_a_500(sandbox):
    sandbox.control.fail_next_requests(1, status=500)
    with GenesysCloudHook() as hook, pytest.raises(GenesysServerError):
        hook.submit_gdpr_request("GDPR_DELETE", an_email_subject(sandbox))
    assert calls_to(sandbox, "POST /api/v2/gdpr/requests") == 1


def test_sandbox_bad_request_is_a_typed_error_with_field_and_correlation_id(sandbox):
    with GenesysCloudHook() as hook, pytest.raises(GenesysBadRequestError) as raised:
        hook.submit_gdpr_request("GDPR_DELETE", {"shoeSize": "44"})
    error = raised.value
    assert (error.status, error.code) == (400, "bad.request")
    assert "Unrecognized field" in error.message
    assert error.details == ("subject.shoeSize",)
    assert error.correlation_id


def test_sandbox_not_found_is_a_typed_error(sandbox):
    with GenesysCloudHook() as hook, pytest.raises(GenesysNotFoundError) as raised:
        hook.get_gdpr_request("no-such-request")
    assert (raised.value.status, raised.value.code) == (404, "not.found")
    assert raised.value.correlation_id


def test_unreachable_host_is_a_transport_error_without_the_url(start_sandbox, monkeypatch):
    sb = start_sandbox(extra={"max_attempts": 2})
    sb.stop()
    with GenesysCloudHook() as hook, pytest.raises(GenesysTransportError) as raised:
        hook.search_gdpr_subjects("EMAIL", "jane.doe@example.com")
    assert raised.value.status is None
    assert "example.com" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_paging_returns_every_gdpr_request_exactly_once(sandbox):
    with GenesysCloudHook() as hook:
        subject = an_email_subject(sandbox)
        submitted = [hook.submit_gdpr_request("GDPR_EXPORT", subject)["id"] for _ in range(7)]
        listed = [request["id"] for request in hook.iter_entities("/api/v2/gdpr/requests", page_size=3)]
    assert sorted(listed) == sorted(submitted)
    assert calls_to(sandbox, GDPR_LIST) == 3


def test_submitted_delete_is_confirmed_and_walks_to_completed(sandbox):
    with GenesysCloudHook() as hook:
        created = hook.submit_gdpr_request("GDPR_DELETE", an_email_subject(sandbox))
        assert created["status"] == "INITIATED"
        sandbox.control.advance_clock(seconds=5)
        assert hook.get_gdpr_request(created["id"])["status"] == "COMPLETED"


def test_request_statuses_come_from_the_list_with_unknown_ids_not_found(sandbox):
    with GenesysCloudHook() as hook:
        request_id = hook.submit_gdpr_request("GDPR_EXPORT", an_email_subject(sandbox))["id"]
        statuses = hook.get_gdpr_request_statuses([request_id, "missing-id"])
    assert statuses == {request_id: "INITIATED", "missing-id": "NOT_FOUND"}
    assert calls_to(sandbox, GDPR_LIST) == 1


@pytest.mark.slow  # a sandbox of its own, paced for seconds
def test_sustained_run_stays_under_the_rate_limit_without_a_429(start_sandbox):
    sb = start_sandbox(rate_limit_per_window=20, rate_limit_window_seconds=2)
    with GenesysCloudHook() as hook:
        for _ in range(65):
            hook.request("GET", "/api/v2/gdpr/requests")
    assert calls_to(sb, GDPR_LIST) == 65
    assert "429" not in statuses_served(sb)


@pytest.mark.slow  # a sandbox of its own, paced for seconds
def test_configured_ceiling_also_holds(start_sandbox):
    sb = start_sandbox(
        extra={"rate_limit_per_minute": 600}, rate_limit_per_window=5, rate_limit_window_seconds=1
    )
    with GenesysCloudHook() as hook:
        for _ in range(12):
            hook.request("GET", "/api/v2/gdpr/requests")
    assert calls_to(sb, GDPR_LIST) == 12
    assert "429" not in statuses_served(sb)


def test_no_query_string_value_reaches_the_log(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.control.burst_429(1, retry_after=1)
    sandbox.control.fail_next_requests(1, status=503)
    with GenesysCloudHook() as hook:
        hook.search_gdpr_subjects("EMAIL", "jane.doe@example.com")
        hook.search_external_contacts("+447700900123")
    assert len(retry_records(caplog)) == 2
    assert "jane.doe" not in caplog.text
    assert "example.com" not in caplog.text
    assert "7700900123" not in caplog.text
    assert "searchValue" not in caplog.text


def test_protected_conversation_ids_are_read_in_chunks_of_100(sandbox):
    conversations = list(sandbox.org.iter_conversations())
    sandbox.org.set_protection([conversations[0].id], True)
    expected = {c.id for c in conversations if c.protected}
    with GenesysCloudHook() as hook:
        protected = hook.get_protected_conversation_ids(
            [c.id for c in conversations] + [f"x-{n}" for n in range(150)]
        )
    assert protected == expected
    assert conversations[0].id in protected
    assert calls_to(sandbox, "POST /api/v2/recordings/deletionprotection") == 2


@pytest.mark.slow  # a sandbox of its own, paced for seconds
def test_a_resource_family_with_its_own_limit_is_paced_apart_without_a_429_or_starving_the_rest(
    start_sandbox,
):
    # divisions (the "authorization" family) allow 2 per 2 s window, the token 40: reading divisions
    # in between GDPR reads must neither overrun the family's bucket nor slow the GDPR reads to its pace.
    sb = start_sandbox(
        rate_limit_per_window=40, rate_limit_window_seconds=2, family_rate_limits="authorization=2"
    )
    gdpr_seconds = 0.0
    with GenesysCloudHook() as hook:
        for _ in range(3):
            hook.request("GET", "/api/v2/authorization/divisions")
            started = time.monotonic()
            for _ in range(5):
                hook.request("GET", "/api/v2/gdpr/requests")
            gdpr_seconds += time.monotonic() - started
    assert calls_to(sb, GDPR_LIST) == 15
    assert calls_to(sb, "GET /api/v2/authorization/divisions") == 3
    assert "429" not in statuses_served(sb)
    assert gdpr_seconds < 1.5  # 15 of the token's 40 per window: no waiting on the family's pace

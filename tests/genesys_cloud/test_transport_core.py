"""The sans-I/O transport core, driven step by step by hand (no network): what both hooks execute."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import GenesysNotFoundError, GenesysTransportError
from genesys_cloud.retry_policy import RetryPolicy, TransportFailure
from genesys_cloud.token_cache import SHARED_TOKENS
from genesys_cloud.transport import NEED_TOKEN, Answer, Failed, Send, Sleep, api_call, token_exchange

SETTINGS = ClientSettings(
    api_url="https://api.example.test",
    login_url="https://login.example.test",
    client_id="client",
    client_secret="s3cret",
    retry=RetryPolicy(max_attempts=3, base_backoff_seconds=0.01),
)


def answer(status: int, body: bytes = b"", **headers: str) -> Answer:
    return Answer(status, CaseInsensitiveDict(headers), body)


def until_send(core, reply=None) -> Send:
    """Answer tokens and sleeps until the core asks to send a request."""
    step = core.send(reply)
    while not isinstance(step, Send):
        step = core.send("token-1" if step is NEED_TOKEN else None)
    return step


def result_of(core, reply):
    with pytest.raises(StopIteration) as stopped:
        core.send(reply)
    return stopped.value.value


def test_a_call_asks_for_a_token_then_paces_then_sends():
    core = api_call(SETTINGS, "get", "/api/v2/gdpr/requests", params={"pageSize": 1})
    assert next(core) is NEED_TOKEN
    assert isinstance(core.send("token-1"), Sleep)
    send = core.send(None)
    assert (send.method, send.url, send.params) == (
        "GET",
        "https://api.example.test/api/v2/gdpr/requests",
        {"pageSize": 1},
    )
    assert send.headers == {"Authorization": "Bearer token-1"}
    assert result_of(core, answer(200, b'{"entities": []}')) == {"entities": []}


def test_a_refused_token_is_renewed_once():
    SHARED_TOKENS.store(SETTINGS.token_key, "token-1", 3600, 0.0)
    core = api_call(SETTINGS, "GET", "/api/v2/gdpr/requests")
    until_send(core)
    assert core.send(answer(401)) is NEED_TOKEN
    assert SHARED_TOKENS.get(SETTINGS.token_key, 1.0) is None


def test_a_typed_error_carries_status_and_correlation_id():
    core = api_call(SETTINGS, "GET", "/api/v2/gdpr/requests/x")
    until_send(core)
    with pytest.raises(GenesysNotFoundError) as raised:
        core.send(answer(404, b'{"code": "not.found", "message": "no"}', **{"ININ-Correlation-Id": "c-1"}))
    assert (raised.value.status, raised.value.correlation_id) == (404, "c-1")


def test_a_creating_post_is_not_resent_after_a_read_timeout():
    core = api_call(SETTINGS, "POST", "/api/v2/gdpr/requests?deleteConfirmed=true", json={"a": 1})
    until_send(core)
    with pytest.raises(GenesysTransportError) as raised:
        core.send(Failed(TransportFailure.TIMEOUT, "ReadTimeout"))
    assert str(raised.value) == (
        "Genesys Cloud: no response timeout: ReadTimeout on POST /api/v2/gdpr/requests"
    )
    assert raised.value.__cause__ is None


def test_a_read_is_resent_after_a_back_off():
    core = api_call(SETTINGS, "GET", "/api/v2/gdpr/requests")
    until_send(core)
    back_off = core.send(Failed(TransportFailure.TIMEOUT, "ReadTimeout"))
    assert isinstance(back_off, Sleep) and back_off.seconds > 0
    assert isinstance(until_send(core), Send)


def test_the_token_request_keeps_the_secret_out_of_its_repr():
    core = token_exchange(SETTINGS)
    send = next(core)
    assert send.basic_auth == ("client", "s3cret")
    assert "s3cret" not in repr(send)
    assert result_of(core, answer(200, b'{"access_token": "t", "expires_in": 60}')) == "t"

"""Layered rate limits: a bucket per resource family on top of the token's, an org-wide bucket across
tokens, a limit on creating tokens, and an org with several OAuth clients."""

from __future__ import annotations

import pytest
import requests

from tests.support.sandbox import ApiClient

GDPR_LIST = "/api/v2/gdpr/requests"
DIVISIONS = "/api/v2/authorization/divisions"


def _token_request(sb, client_id: str, client_secret: str) -> requests.Response:
    return requests.post(
        f"{sb.base_url}/oauth/token",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )


class _OtherClient(ApiClient):
    """An ApiClient logged in with another OAuth client of the org."""

    def __init__(self, sb, client_id: str, client_secret: str) -> None:
        super().__init__(sb)
        response = _token_request(sb, client_id, client_secret)
        response.raise_for_status()
        self.token = response.json()["access_token"]


def test_a_family_bucket_refuses_its_own_calls_while_the_token_serves_other_families(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=100, family_rate_limits="authorization=3")
    api = ApiClient(sb)
    statuses = [api.get(DIVISIONS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert api.get(GDPR_LIST).status_code == 200


def test_headers_are_those_of_the_tighter_bucket(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=100, family_rate_limits="authorization=3")
    api = ApiClient(sb)
    family = api.get(DIVISIONS).headers
    assert (family["inin-ratelimit-allowed"], family["inin-ratelimit-count"]) == ("3", "1")
    other = api.get(GDPR_LIST).headers
    # the token's bucket counts both calls
    assert (other["inin-ratelimit-allowed"], other["inin-ratelimit-count"]) == ("100", "2")


def test_a_refused_family_call_tells_the_wait_of_its_window(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=100, family_rate_limits="authorization=1")
    api = ApiClient(sb)
    api.get(DIVISIONS)
    refused = api.get(DIVISIONS)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["inin-ratelimit-allowed"] == "1"
    sb.control.advance_clock(seconds=61)
    assert api.get(DIVISIONS).status_code == 200


def test_the_org_wide_limit_counts_every_token(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=100, org_rate_limit_per_window=3, oauth_clients=2)
    first = ApiClient(sb)
    second = _OtherClient(sb, f"{sb.client_id}-2", f"{sb.client_secret}-2")
    assert [first.get(GDPR_LIST).status_code for _ in range(2)] == [200, 200]
    assert second.get(GDPR_LIST).status_code == 200
    refused = second.get(GDPR_LIST)
    assert refused.status_code == 429
    assert refused.headers["inin-ratelimit-allowed"] == "3"


def test_every_configured_oauth_client_gets_its_own_token_and_bucket(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=2, oauth_clients=3)
    first = ApiClient(sb)
    third = _OtherClient(sb, f"{sb.client_id}-3", f"{sb.client_secret}-3")
    assert [first.get(GDPR_LIST).status_code for _ in range(3)] == [200, 200, 429]
    assert [third.get(GDPR_LIST).status_code for _ in range(2)] == [200, 200]
    assert _token_request(sb, f"{sb.client_id}-4", f"{sb.client_secret}-4").status_code == 401
    assert _token_request(sb, f"{sb.client_id}-2", sb.client_secret).status_code == 401


def test_creating_tokens_is_limited_per_client(sandbox_factory):
    sb = sandbox_factory(token_requests_per_window=2, oauth_clients=2)
    statuses = [_token_request(sb, sb.client_id, sb.client_secret).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = _token_request(sb, sb.client_id, sb.client_secret)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "too.many.requests.retry.after"
    assert _token_request(sb, f"{sb.client_id}-2", f"{sb.client_secret}-2").status_code == 200
    sb.control.advance_clock(seconds=61)
    assert _token_request(sb, sb.client_id, sb.client_secret).status_code == 200


@pytest.mark.parametrize("bad", ["analytics", "analytics=0", "=5", "analytics=x"])
def test_a_malformed_family_table_is_refused_at_start(bad):
    from genesys_sandbox import SandboxSettings

    with pytest.raises(ValueError, match="family_rate_limits"):
        SandboxSettings(family_rate_limits=bad)

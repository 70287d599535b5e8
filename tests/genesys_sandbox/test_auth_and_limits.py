"""OAuth, token lifetime, per-token rate limiting, injected faults and the headers every response carries."""

from __future__ import annotations

import requests

from tests.support.sandbox import ApiClient

RATE_HEADERS = (
    "inin-ratelimit-count",
    "inin-ratelimit-allowed",
    "inin-ratelimit-reset",
    "ININ-Correlation-Id",
)


def test_client_credentials_grant_returns_a_bearer_token_with_the_configured_lifetime(sandbox_factory):
    sb = sandbox_factory(token_ttl_seconds=3600)
    response = requests.post(
        f"{sb.base_url}/oauth/token",
        auth=(sb.client_id, sb.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["expires_in"] == 3600


def test_wrong_client_secret_is_refused(fresh_sandbox):
    response = requests.post(
        f"{fresh_sandbox.base_url}/oauth/token",
        auth=(fresh_sandbox.client_id, "wrong"),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_request_without_token_gets_401_in_the_real_error_shape(fresh_sandbox):
    response = requests.get(f"{fresh_sandbox.base_url}/api/v2/gdpr/requests", timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "authentication.required"
    assert body["contextId"] == response.headers["ININ-Correlation-Id"]


def test_expired_token_gets_401(sandbox_factory):
    sb = sandbox_factory(token_ttl_seconds=300)
    api = ApiClient(sb)
    api.login()
    assert api.get("/api/v2/gdpr/requests").status_code == 200
    sb.control.advance_clock(seconds=301)
    response = api.get("/api/v2/gdpr/requests")
    assert response.status_code == 401
    assert response.json()["code"] == "bad.credentials"


def test_revoked_tokens_get_401_and_a_new_token_works(api, fresh_sandbox):
    api.login()
    fresh_sandbox.control.revoke_tokens()
    assert api.get("/api/v2/gdpr/requests").status_code == 401
    api.login()
    assert api.get("/api/v2/gdpr/requests").status_code == 200


def test_rate_limit_answers_429_with_retry_after_and_the_real_body(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=5, rate_limit_window_seconds=30)
    api = ApiClient(sb)
    statuses = [api.get("/api/v2/gdpr/requests").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = api.get("/api/v2/gdpr/requests")
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == "too.many.requests.retry.after"
    assert body["status"] == 429
    assert f"[{response.headers['Retry-After']}]" in body["message"]


def test_rate_limit_is_per_token(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=2, rate_limit_window_seconds=30)
    first, second = ApiClient(sb), ApiClient(sb)
    for _ in range(2):
        first.get("/api/v2/gdpr/requests")
    assert first.get("/api/v2/gdpr/requests").status_code == 429
    assert second.get("/api/v2/gdpr/requests").status_code == 200


def test_rate_limit_window_resets(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=1, rate_limit_window_seconds=30)
    api = ApiClient(sb)
    api.get("/api/v2/gdpr/requests")
    assert api.get("/api/v2/gdpr/requests").status_code == 429
    sb.control.advance_clock(seconds=31)
    assert api.get("/api/v2/gdpr/requests").status_code == 200


def test_rate_limit_headers_count_requests_of_the_window(api):
    counts = [int(api.get("/api/v2/gdpr/requests").headers["inin-ratelimit-count"]) for _ in range(3)]
    assert counts == [1, 2, 3]


def test_every_response_carries_rate_limit_and_correlation_headers(api, fresh_sandbox):
    api.login()
    responses = [
        api.get("/api/v2/gdpr/requests"),
        api.get("/api/v2/gdpr/requests/does-not-exist"),
        api.post("/api/v2/gdpr/requests", json={"requestType": "GDPR_DELETE"}),
        api.get("/api/v2/no/such/path"),
        requests.get(f"{fresh_sandbox.base_url}/api/v2/gdpr/requests", timeout=10),
    ]
    assert [r.status_code for r in responses] == [200, 404, 400, 404, 401]
    for response in responses:
        for header in RATE_HEADERS:
            assert header in response.headers, (response.status_code, header)


def test_burst_429_answers_the_next_requests_with_the_given_retry_after(api, fresh_sandbox):
    fresh_sandbox.control.burst_429(2, retry_after=7)
    first, second, third = (api.get("/api/v2/gdpr/requests") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "7"


def test_injected_5xx_use_the_real_codes(api, fresh_sandbox):
    fresh_sandbox.control.set_error_rate_5xx(1.0)
    bodies = [api.get("/api/v2/gdpr/requests").json() for _ in range(10)]
    assert {(b["status"], b["code"]) for b in bodies} <= {
        (503, "service.unavailable"),
        (500, "internal.server.error"),
    }
    fresh_sandbox.control.set_error_rate_5xx(0.0)
    assert api.get("/api/v2/gdpr/requests").status_code == 200


def test_fail_next_requests_answers_exactly_that_many(api, fresh_sandbox):
    fresh_sandbox.control.fail_next_requests(1, status=503)
    assert [api.get("/api/v2/gdpr/requests").status_code for _ in range(2)] == [503, 200]


def test_request_counts_are_kept_per_endpoint_and_token(api, fresh_sandbox):
    api.get("/api/v2/gdpr/requests")
    api.get("/api/v2/gdpr/requests/unknown")
    counts = fresh_sandbox.control.request_counts()
    assert counts["by_endpoint"]["GET /api/v2/gdpr/requests"] == 1
    assert counts["by_endpoint"]["GET /api/v2/gdpr/requests/{requestId}"] == 1
    assert counts["by_endpoint"]["POST /oauth/token"] == 1
    assert counts["by_token"] == {"tok-1": 2}


def test_faults_can_be_set_over_http(api, fresh_sandbox):
    response = requests.post(
        f"{fresh_sandbox.base_url}/sandbox/faults",
        json={"burst_429": {"count": 1, "retry_after": 3}},
        timeout=10,
    )
    assert response.status_code == 200
    assert api.get("/api/v2/gdpr/requests").status_code == 429

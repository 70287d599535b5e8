"""Pure retry, back-off and pacing decisions (no network)."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from genesys_cloud.retry_policy import (
    Action,
    AttemptTracker,
    RateLimitSnapshot,
    RatePacer,
    RetryPolicy,
    TransportFailure,
    parse_rate_limit_headers,
    parse_retry_after,
    strip_query,
)


def tracker(idempotent: bool = True, **policy: float) -> AttemptTracker:
    return AttemptTracker(RetryPolicy(**policy), idempotent=idempotent, rng=random.Random(1))


def test_success_returns_without_retry():
    assert tracker().on_status(200).action is Action.RETURN


def test_429_waits_at_least_retry_after():
    step = tracker().on_status(429, retry_after=3.0)
    assert step.action is Action.RETRY
    assert 3.0 <= step.wait_seconds <= 3.3


def test_429_asking_longer_than_max_wait_gives_up():
    assert tracker(max_wait_seconds=10).on_status(429, retry_after=42).action is Action.FAIL


def test_429_is_left_to_a_caller_that_waits_on_its_own_clock():
    own_waits = AttemptTracker(RetryPolicy(), idempotent=False, retry_rate_limited=False)
    assert own_waits.on_status(429, retry_after=3.0).action is Action.FAIL
    assert own_waits.on_status(503).action is Action.RETRY


def test_5xx_is_retried_for_idempotent_calls():
    assert tracker().on_status(500).action is Action.RETRY


def test_500_on_a_creating_post_is_not_retried():
    assert tracker(idempotent=False).on_status(500).action is Action.FAIL


def test_503_and_429_on_a_creating_post_are_retried():
    assert tracker(idempotent=False).on_status(503).action is Action.RETRY
    assert tracker(idempotent=False).on_status(429, retry_after=1).action is Action.RETRY


def test_read_timeout_on_a_creating_post_is_not_retried():
    assert tracker(idempotent=False).on_transport_failure(TransportFailure.TIMEOUT).action is Action.FAIL


def test_connect_failure_is_retried_even_for_a_creating_post():
    step = tracker(idempotent=False).on_transport_failure(TransportFailure.CONNECT)
    assert step.action is Action.RETRY


def test_client_errors_are_not_retried():
    for status in (400, 403, 404, 409):
        assert tracker().on_status(status).action is Action.FAIL


def test_401_renews_the_token_once_then_fails():
    attempts = tracker()
    assert attempts.on_status(401).action is Action.RENEW_TOKEN
    assert attempts.on_status(401).action is Action.FAIL


def test_token_renewal_does_not_use_up_an_attempt():
    attempts = tracker(max_attempts=2)
    assert attempts.on_status(401).action is Action.RENEW_TOKEN
    assert attempts.on_status(503).action is Action.RETRY


def test_gives_up_after_max_attempts():
    attempts = tracker(max_attempts=3)
    actions = [attempts.on_status(502).action for _ in range(3)]
    assert actions == [Action.RETRY, Action.RETRY, Action.FAIL]


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(base_backoff_seconds=1.0, max_wait_seconds=5.0)
    rng = random.Random(3)
    waits = [policy.backoff_seconds(attempt, rng) for attempt in (1, 2, 3, 4, 5)]
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 2.0
    assert 2.0 <= waits[2] <= 4.0
    assert all(2.5 <= wait <= 5.0 for wait in waits[3:])


def test_backoff_is_jittered():
    policy = RetryPolicy(base_backoff_seconds=1.0)
    rng = random.Random(5)
    assert len({policy.backoff_seconds(3, rng) for _ in range(10)}) > 1


def test_policy_from_connection_extras():
    policy = RetryPolicy.from_dict({"max_attempts": "7", "max_wait_seconds": 9, "region": "eu_west_1"})
    assert (policy.max_attempts, policy.max_wait_seconds) == (7, 9.0)


def test_policy_rejects_zero_attempts():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


def test_retry_after_as_seconds_and_http_date():
    assert parse_retry_after("42") == 42.0
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now_epoch=now.timestamp()) == pytest.approx(30.0)
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_rate_limit_headers_are_read():
    headers = {"inin-ratelimit-count": "3", "inin-ratelimit-allowed": "180", "inin-ratelimit-reset": "61"}
    assert parse_rate_limit_headers(headers) == RateLimitSnapshot(3, 180, 61.0)
    assert parse_rate_limit_headers({"inin-ratelimit-count": "3"}) is None


def test_strip_query_removes_personal_data():
    assert strip_query("/api/v2/gdpr/subjects?searchValue=a@b.example") == "/api/v2/gdpr/subjects"


class FixedWindowServer:
    """A model of a per-token fixed-window limit (like the sandbox's), driven on a virtual clock.

    `whole_seconds`: `inin-ratelimit-reset` rounded up to whole seconds, as the sandbox sends it.
    """

    def __init__(self, allowed: int, window: float, phase: float, whole_seconds: bool) -> None:
        self.allowed, self.window, self.whole_seconds = allowed, window, whole_seconds
        self.window_start, self.count, self.rejected = phase - window, 0, 0

    def handle(self, now: float) -> RateLimitSnapshot:
        while now >= self.window_start + self.window:
            self.window_start += self.window
            self.count = 0
        self.count += 1
        if self.count > self.allowed:
            self.rejected += 1
        reset = self.window_start + self.window - now
        return RateLimitSnapshot(
            self.count, self.allowed, max(1, math.ceil(reset)) if self.whole_seconds else reset
        )


def run_paced(server: FixedWindowServer, calls: int, latency: float) -> float:
    """Send `calls` sequential requests through a pacer; returns the elapsed virtual time."""
    pacer = RatePacer()
    now = 0.0
    for _ in range(calls):
        now += pacer.reserve(now)
        snapshot = server.handle(now + latency / 2)
        now += latency
        pacer.complete(snapshot, now)
    return now


@pytest.mark.parametrize("latency", [0.0, 0.002, 0.03])
@pytest.mark.parametrize("phase", [0.0, 0.37, 1.61])
@pytest.mark.parametrize("whole_seconds", [True, False])
def test_pacer_never_exceeds_the_limit(latency, phase, whole_seconds):
    server = FixedWindowServer(allowed=20, window=2.0, phase=phase, whole_seconds=whole_seconds)
    run_paced(server, 400, latency)
    assert server.rejected == 0


@pytest.mark.parametrize("phase", [0.0, 0.37, 1.61])
@pytest.mark.parametrize("whole_seconds", [True, False])
def test_pacer_uses_at_least_95_percent_of_the_limit(phase, whole_seconds):
    server = FixedWindowServer(allowed=20, window=2.0, phase=phase, whole_seconds=whole_seconds)
    elapsed = run_paced(server, 400, latency=0.002)
    assert 400 / (elapsed / 2.0 * 20) >= 0.95


def test_pacer_respects_a_configured_ceiling():
    pacer = RatePacer(ceiling_per_minute=300)
    now, sends = 0.0, []
    for _ in range(10):
        now += pacer.reserve(now)
        sends.append(now)
        pacer.complete(None, now)
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(sends))


def test_pacer_holds_back_after_a_429():
    pacer = RatePacer()
    pacer.rate_limited(retry_after=5.0, now=100.0)
    assert pacer.reserve(100.0) >= 5.0

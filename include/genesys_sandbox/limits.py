"""Tokens, layered rate limiting (token, resource family, org), fault injection and request counting.

Each class guards its own state with a lock: the server's worker threads and the test thread (through
`SandboxControl`) touch them concurrently.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from genesys_sandbox.clock import SandboxClock
from genesys_sandbox.errors import ApiError, server_error, too_many_requests


@dataclass
class Token:
    value: str
    token_id: str  # short, printable name for counters ("tok-1"); never the secret
    client_id: str
    expires_at: datetime
    revoked: bool = False


class TokenStore:
    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def issue(self, client_id: str, ttl_seconds: int) -> Token:
        with self._lock:
            token = Token(
                value=secrets.token_urlsafe(32),
                token_id=f"tok-{len(self._tokens) + 1}",
                client_id=client_id,
                expires_at=self._clock.now() + timedelta(seconds=ttl_seconds),
            )
            self._tokens[token.value] = token
            return token

    def check(self, value: str | None) -> Token:
        """The live token for a bearer value, or a 401 ApiError (missing, unknown, expired, revoked)."""
        if not value:
            raise ApiError(
                401,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            )
        with self._lock:
            token = self._tokens.get(value)
        if token is None or token.revoked or self._clock.now() >= token.expires_at:
            raise ApiError(401, "bad.credentials", "Invalid login credentials.")
        return token

    def revoke_all(self) -> int:
        with self._lock:
            live = [t for t in self._tokens.values() if not t.revoked]
            for token in live:
                token.revoked = True
            return len(live)


@dataclass(frozen=True)
class RateState:
    count: int
    allowed: int
    reset_seconds: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.allowed

    def headers(self) -> dict[str, str]:
        return {
            "inin-ratelimit-count": str(self.count),
            "inin-ratelimit-allowed": str(self.allowed),
            "inin-ratelimit-reset": str(self.reset_seconds),
        }


class RateLimiter:
    """Fixed windows per key (a token), aligned on the sandbox's monotonic clock; the reset a response
    announces is in the caller's seconds (the clock may run faster than the caller's, see clock.py)."""

    def __init__(self, clock: SandboxClock, allowed: int, window_seconds: float) -> None:
        self._clock = clock
        self.allowed = allowed
        self.window_seconds = window_seconds
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, count)
        self._lock = threading.Lock()

    def hit(self, key: str) -> RateState:
        now = self._clock.monotonic()
        window = math.floor(now / self.window_seconds)
        reset = self._reset_seconds(window, now)
        with self._lock:
            current, count = self._windows.get(key, (window, 0))
            count = count + 1 if current == window else 1
            self._windows[key] = (window, count)
        return RateState(count=count, allowed=self.allowed, reset_seconds=reset)

    def peek(self, key: str) -> RateState:
        now = self._clock.monotonic()
        window = math.floor(now / self.window_seconds)
        reset = self._reset_seconds(window, now)
        with self._lock:
            current, count = self._windows.get(key, (window, 0))
        return RateState(count=count if current == window else 0, allowed=self.allowed, reset_seconds=reset)

    def _reset_seconds(self, window: int, now: float) -> int:
        """Whole caller seconds until the window ends, rounded up (never earlier than it really ends)."""
        left = (window + 1) * self.window_seconds - now
        return max(1, math.ceil(self._clock.caller_seconds(left)))


API_PREFIX = "/api/v2/"


def api_family(path: str) -> str:
    """The resource family of an API path: its first segment after /api/v2 ("gdpr", "analytics", …)."""
    if not path.startswith(API_PREFIX):
        return ""
    return path[len(API_PREFIX) :].split("/", 1)[0]


class LayeredLimits:
    """The buckets one API request counts in: its token's, its token's bucket for the resource family
    (when the family has its own limit), and the org's across every token (when set). Every request counts
    in each of them, refused ones too. The answer's headers are the tighter bucket's (see ASSUMPTIONS.md)."""

    def __init__(
        self,
        clock: SandboxClock,
        per_token: int,
        window_seconds: float,
        families: dict[str, int] | None = None,
        per_org: int = 0,
    ) -> None:
        self.token = RateLimiter(clock, per_token, window_seconds)
        self.families = {
            name: RateLimiter(clock, allowed, window_seconds) for name, allowed in (families or {}).items()
        }
        self.org = RateLimiter(clock, per_org, window_seconds) if per_org else None

    def hit(self, token_id: str | None, path: str) -> RateState:
        if token_id is None:  # unauthenticated: its own bucket, nothing of any token's or the org's
            return self.token.hit("anonymous")
        states = [self.token.hit(token_id)]
        family = self.families.get(api_family(path))
        if family is not None:
            states.append(family.hit(f"{token_id}|{api_family(path)}"))
        if self.org is not None:
            states.append(self.org.hit("org"))
        refused = [state for state in states if state.exceeded]
        if refused:  # the one to wait longest for, so Retry-After covers every refusing bucket
            return max(refused, key=lambda state: state.reset_seconds)
        return min(states, key=lambda state: (state.allowed - state.count, state.allowed))


class HeldGdprPost:
    """One GDPR POST whose response the sandbox holds back: Genesys has CREATED the request, the caller
    has not heard of it yet. A test uses the moment to kill the caller (the worst instant for an
    exactly-once submitter), then releases the response, which goes to whoever still listens."""

    def __init__(self, max_hold_seconds: float) -> None:
        self.max_hold_seconds = max_hold_seconds  # a forgotten hold must not pin a server thread forever
        self.request_id: str | None = None
        self._held = threading.Event()
        self._released = threading.Event()

    def hold(self, request_id: str) -> None:
        """Called by the POST handler after creating the request: blocks until released."""
        self.request_id = request_id
        self._held.set()
        self._released.wait(self.max_hold_seconds)

    def wait_until_held(self, timeout: float) -> str:
        """The id of the created request once its response is held; TimeoutError if no POST came."""
        if not self._held.wait(timeout):
            raise TimeoutError(f"no GDPR POST reached the sandbox within {timeout:.0f}s")
        assert self.request_id is not None
        return self.request_id

    def release(self) -> None:
        self._released.set()


class Faults:
    """Run-time fault knobs. Decisions for the 5xx rate come from a seeded RNG, so runs repeat."""

    def __init__(self, seed: int, error_rate_5xx: float, latency_ms: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults-{seed}")
        self.error_rate_5xx = error_rate_5xx
        self.latency_ms = latency_ms
        self._burst_429 = 0
        self._burst_retry_after = 1
        self._fail_next: list[int] = []
        self._fail_next_gdpr = 0
        self._reject_next_gdpr = 0
        self._gdpr_hold: HeldGdprPost | None = None

    def set_error_rate_5xx(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("error_rate_5xx must be within [0, 1]")
        with self._lock:
            self.error_rate_5xx = rate

    def set_latency_ms(self, latency_ms: int) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        with self._lock:
            self.latency_ms = latency_ms

    def burst_429(self, count: int, retry_after: int = 1) -> None:
        with self._lock:
            self._burst_429 = count
            self._burst_retry_after = max(1, int(retry_after))

    def fail_next_requests(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._fail_next = [status] * count

    def fail_next_gdpr_requests(self, count: int) -> None:
        with self._lock:
            self._fail_next_gdpr = count

    def reject_next_gdpr_requests(self, count: int) -> None:
        with self._lock:
            self._reject_next_gdpr = count

    def hold_next_gdpr_post(self, max_hold_seconds: float = 600.0) -> HeldGdprPost:
        with self._lock:
            self._gdpr_hold = HeldGdprPost(max_hold_seconds)
            return self._gdpr_hold

    def take_gdpr_hold(self) -> HeldGdprPost | None:
        """The hold armed for this GDPR POST (once), or None."""
        with self._lock:
            hold, self._gdpr_hold = self._gdpr_hold, None
            return hold

    def take_gdpr_rejection(self) -> bool:
        """True when this GDPR POST is to be refused with 400 (and create nothing)."""
        with self._lock:
            if self._reject_next_gdpr > 0:
                self._reject_next_gdpr -= 1
                return True
            return False

    def take_gdpr_failure(self) -> bool:
        with self._lock:
            if self._fail_next_gdpr > 0:
                self._fail_next_gdpr -= 1
                return True
            return False

    def injected_error(self) -> ApiError | None:
        """The fault (if any) to answer an API request with instead of serving it."""
        with self._lock:
            if self._burst_429 > 0:
                self._burst_429 -= 1
                return too_many_requests(self._burst_retry_after)
            if self._fail_next:
                return server_error(self._fail_next.pop(0))
            if self.error_rate_5xx and self._rng.random() < self.error_rate_5xx:
                return server_error(503 if self._rng.random() < 0.8 else 500)
        return None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "error_rate_5xx": self.error_rate_5xx,
                "latency_ms": self.latency_ms,
                "pending_429": self._burst_429,
                "pending_5xx": len(self._fail_next),
                "pending_gdpr_failures": self._fail_next_gdpr,
                "pending_gdpr_rejections": self._reject_next_gdpr,
                "gdpr_post_held": self._gdpr_hold is not None,
            }


class RequestCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._by_endpoint: Counter[str] = Counter()
            self._by_token: Counter[str] = Counter()
            self._by_status: Counter[str] = Counter()
            self._by_token_endpoint: Counter[tuple[str, str]] = Counter()
            self._by_endpoint_status: Counter[tuple[str, str]] = Counter()

    def record(self, endpoint: str, token_id: str | None, status: int) -> None:
        with self._lock:
            self._by_endpoint[endpoint] += 1
            self._by_status[str(status)] += 1
            self._by_endpoint_status[(endpoint, str(status))] += 1
            if token_id:
                self._by_token[token_id] += 1
                self._by_token_endpoint[(token_id, endpoint)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            per_token: dict[str, dict[str, int]] = {}
            for (token_id, endpoint), count in sorted(self._by_token_endpoint.items()):
                per_token.setdefault(token_id, {})[endpoint] = count
            per_endpoint: dict[str, dict[str, int]] = {}
            for (endpoint, status), count in sorted(self._by_endpoint_status.items()):
                per_endpoint.setdefault(endpoint, {})[status] = count
            return {
                "total": sum(self._by_endpoint.values()),
                "by_endpoint": dict(sorted(self._by_endpoint.items())),
                "by_token": dict(sorted(self._by_token.items())),
                "by_status": dict(sorted(self._by_status.items())),
                "by_token_endpoint": per_token,
                "by_endpoint_status": per_endpoint,
            }

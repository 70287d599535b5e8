"""Retry, back-off and pacing decisions shared by the sync and the async Genesys Cloud hooks.

Everything here is pure: it takes statuses, header values and clock readings and answers "return",
"retry after N seconds", "renew the token" or "give up", and "wait N seconds before sending". The hooks
do the I/O and the sleeping, so both follow exactly the same rules.

Which failures are retried:
* 429 always (Genesys did not process the request), honouring `Retry-After`;
* 408/500/502/503/504 and read time-outs only for idempotent requests (GET/PUT/DELETE and POSTs that
  only read, such as analytics queries): a POST that creates something (a GDPR request) may have been
  processed before the error, and retrying it would create a duplicate. For those only 503 (service
  unavailable: not processed) and failures to connect (nothing was sent) are retried;
* 401 renews the token once, without using up an attempt.
"""

from __future__ import annotations

import email.utils
import enum
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RATE_COUNT_HEADER = "inin-ratelimit-count"
RATE_ALLOWED_HEADER = "inin-ratelimit-allowed"
RATE_RESET_HEADER = "inin-ratelimit-reset"

_IDEMPOTENT_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504})
_UNSAFE_RETRY_STATUSES = frozenset({503})
# Extra time waited past the bound of a window's end: only against float rounding (the bound is safe).
_WINDOW_MARGIN_SECONDS = 0.005


@dataclass(frozen=True)
class RetryPolicy:
    """How persistent a hook is.

    :param max_attempts: Attempts per call, the first one included (a token renewal after a 401 is free).
    :param base_backoff_seconds: First back-off; doubles per attempt, with jitter.
    :param max_wait_seconds: Cap of one back-off; a `Retry-After` longer than this is not waited out
        (the call fails with the typed 429 error, leaving the wait to Airflow's task retry).
    """

    max_attempts: int = 5
    base_backoff_seconds: float = 0.5
    max_wait_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_backoff_seconds < 0 or self.max_wait_seconds < 0:
            raise ValueError("back-off and max wait must not be negative")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RetryPolicy:
        """Build from connection extras / hook arguments; unknown keys are ignored, None means default."""
        kwargs: dict[str, Any] = {}
        if values.get("max_attempts") is not None:
            kwargs["max_attempts"] = int(values["max_attempts"])
        if values.get("base_backoff_seconds") is not None:
            kwargs["base_backoff_seconds"] = float(values["base_backoff_seconds"])
        if values.get("max_wait_seconds") is not None:
            kwargs["max_wait_seconds"] = float(values["max_wait_seconds"])
        return cls(**kwargs)

    def backoff_seconds(self, attempt: int, rng: random.Random) -> float:
        """Exponential back-off with "equal jitter" after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_wait_seconds, self.base_backoff_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)

    def wait_seconds(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before the next attempt, or None when the server asks for too long a wait."""
        if retry_after is None:
            return self.backoff_seconds(attempt, rng)
        if retry_after > self.max_wait_seconds:
            return None
        # Never earlier than asked; a little later, so clients told the same value do not stampede.
        return retry_after + rng.uniform(0, min(1.0, 0.1 * retry_after))


class Action(enum.Enum):
    RETURN = "return"
    RETRY = "retry"
    RENEW_TOKEN = "renew_token"
    FAIL = "fail"


class TransportFailure(enum.Enum):
    CONNECT = "connect"  # nothing reached the server: always safe to retry
    TIMEOUT = "timeout"  # the request may have been processed
    OTHER = "other"  # reset mid-response, unreadable body, …


@dataclass(frozen=True)
class Step:
    action: Action
    wait_seconds: float = 0.0


class AttemptTracker:
    """The decisions for one logical call (one `request()`), across its attempts."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        idempotent: bool,
        rng: random.Random | None = None,
        retry_rate_limited: bool = True,
    ) -> None:
        self.policy = policy
        self.idempotent = idempotent
        # False: a 429 fails at once (typed, with its Retry-After), for callers that wait on their own
        # clock, such as an analytics job submission waiting for a free slot under the org's job cap
        self.retry_rate_limited = retry_rate_limited
        self.attempt = 1
        self._renewed_token = False
        self._rng = rng or random.Random()

    @property
    def max_attempts(self) -> int:
        return self.policy.max_attempts

    def on_status(self, status: int, retry_after: float | None = None) -> Step:
        if status < 400:
            return Step(Action.RETURN)
        if status == 401 and not self._renewed_token:
            self._renewed_token = True
            return Step(Action.RENEW_TOKEN)
        if status == 429 and not self.retry_rate_limited:
            return Step(Action.FAIL)
        retryable = _IDEMPOTENT_RETRY_STATUSES if self.idempotent else _UNSAFE_RETRY_STATUSES
        if status == 429 or status in retryable:
            return self._retry_or_fail(retry_after)
        return Step(Action.FAIL)

    def on_transport_failure(self, failure: TransportFailure) -> Step:
        if failure is TransportFailure.CONNECT or self.idempotent:
            return self._retry_or_fail(None)
        return Step(Action.FAIL)

    def _retry_or_fail(self, retry_after: float | None) -> Step:
        if self.attempt >= self.policy.max_attempts:
            return Step(Action.FAIL)
        wait = self.policy.wait_seconds(self.attempt, retry_after, self._rng)
        if wait is None:
            return Step(Action.FAIL)
        self.attempt += 1
        return Step(Action.RETRY, wait)


def is_idempotent(method: str) -> bool:
    return method.upper() != "POST"


def strip_query(path: str) -> str:
    """The path without its query string: query strings hold personal data (`searchValue`, `q`)."""
    return path.split("?", 1)[0]


RETRY_LOG_FORMAT = "Genesys Cloud %s %s answered %s (correlation id %s); retrying in %.2fs (attempt %d/%d)"


def retry_log_args(
    method: str, path: str, outcome: str, correlation_id: str | None, step: Step, tracker: AttemptTracker
) -> tuple[Any, ...]:
    """Arguments for RETRY_LOG_FORMAT: method, path without query, status/failure, correlation id, wait,
    number of the coming attempt, max attempts."""
    return (
        method,
        strip_query(path),
        outcome,
        correlation_id or "-",
        step.wait_seconds,
        tracker.attempt,
        tracker.max_attempts,
    )


def parse_retry_after(value: str | None, now_epoch: float | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now_epoch = time.time() if now_epoch is None else now_epoch
    return max(0.0, when.timestamp() - now_epoch)


@dataclass(frozen=True)
class RateLimitSnapshot:
    """The `inin-ratelimit-*` headers of one response: `count` of `allowed` used, window ends in `reset`."""

    count: int
    allowed: int
    reset_seconds: float


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimitSnapshot | None:
    """Read the rate-limit headers (case-insensitive mapping); None if any is absent or unreadable."""
    try:
        count = headers.get(RATE_COUNT_HEADER)
        allowed = headers.get(RATE_ALLOWED_HEADER)
        reset = headers.get(RATE_RESET_HEADER)
        if count is None or allowed is None or reset is None:
            return None
        snapshot = RateLimitSnapshot(int(float(count)), int(float(allowed)), float(reset))
    except (TypeError, ValueError):
        return None
    if snapshot.allowed <= 0 or snapshot.reset_seconds < 0:
        return None
    return snapshot


class PacingWindow:
    """What a pacer knows about one rate window, and its rules (see `RatePacer`). Not thread-safe on its
    own: `RatePacer` guards one with a lock in memory, `genesys_cloud.shared_state` keeps one in a shared
    store row (times there are wall-clock seconds, so processes on several machines agree)."""

    FIELDS = ("window_end", "last_count", "remaining", "next_send", "last_send", "in_flight")

    def __init__(self) -> None:
        self.window_end: float | None = None
        self.last_count = 0
        self.remaining: int | None = None
        self.next_send = 0.0
        self.last_send: float | None = None
        self.in_flight = 0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> PacingWindow:
        window = cls()
        for name in cls.FIELDS:
            if values.get(name) is not None:
                setattr(window, name, values[name])
        return window

    def reserve(self, now: float, ceiling_interval: float = 0.0) -> float:
        """Claim a slot for one request; returns how many seconds to wait before sending it."""
        send_at = max(now, self.next_send)
        interval = 0.0
        if self.window_end is not None and self.remaining is not None:
            if send_at >= self.window_end or self.remaining <= 0:
                # The window is over (or its budget spent): first request of the next one.
                send_at = max(send_at, self.window_end + _WINDOW_MARGIN_SECONDS)
                self._forget_window()
            else:
                interval = (self.window_end - send_at) / self.remaining
                self.remaining -= 1
        if self.last_send is not None:
            send_at = max(send_at, self.last_send + ceiling_interval)
        self.next_send = send_at + interval
        self.last_send = send_at
        self.in_flight += 1
        return send_at - now

    def complete(self, snapshot: RateLimitSnapshot | None, now: float) -> None:
        """Account for the answer (or failure) of a reserved request; `snapshot` from its headers."""
        self.in_flight = max(0, self.in_flight - 1)
        if snapshot is None:
            return
        bound = now + snapshot.reset_seconds
        same_window = (
            self.window_end is not None and snapshot.count > self.last_count and now < self.window_end
        )
        self.window_end = min(self.window_end, bound) if same_window else bound  # type: ignore[type-var]
        self.last_count = snapshot.count
        self.remaining = snapshot.allowed - snapshot.count - self.in_flight

    def rate_limited(self, retry_after: float | None, now: float) -> None:
        """A 429 arrived anyway (another client shares the token): hold back until it has passed."""
        self.remaining = 0
        self.window_end = now + (retry_after if retry_after is not None else 1.0)

    def _forget_window(self) -> None:
        self.window_end = self.remaining = None
        self.last_count = 0


class RatePacer:
    """Client-side pacing for one client: spend the remaining budget evenly until the window resets.

    After each response the pacer knows how many requests the window still allows and when it ends at
    the latest; each send reserves one of them and is spaced `time left / requests left` after the
    previous one, so a sustained run uses the whole budget without ever hitting 429. When the budget is
    spent it waits for the window end. `ceiling_per_minute` adds a fixed minimum spacing for operators
    who want to stay below the org's limit (e.g. 300/min). Thread-safe; times are monotonic seconds
    supplied by the caller.

    Window end: a response received at `t` saying `reset = r` proves the window ends by `t + r` (the
    server handled the request before `t`, and `r` is rounded up to whole seconds), so the pacer keeps the
    smallest `t + r` seen in the current window: a safe bound that tightens to well under one request
    interval as the window goes on. A response whose count did not grow, or that arrives after that
    bound, starts a new window.

    One pacer paces the threads of one process. Processes that share a token (mapped tasks in separate
    worker processes) share a `PacingWindow` through a store instead: `genesys_cloud.shared_state`.
    """

    def __init__(self, ceiling_per_minute: float | None = None) -> None:
        self._lock = threading.Lock()
        self.ceiling_interval = 0.0
        self.set_ceiling(ceiling_per_minute)
        self._window = PacingWindow()

    def set_ceiling(self, ceiling_per_minute: float | None) -> None:
        with self._lock:
            self.ceiling_interval = ceiling_interval(ceiling_per_minute)

    def reserve(self, now: float) -> float:
        """Claim a slot for one request; returns how many seconds to wait before sending it."""
        with self._lock:
            return self._window.reserve(now, self.ceiling_interval)

    def complete(self, snapshot: RateLimitSnapshot | None, now: float) -> None:
        """Account for the answer (or failure) of a reserved request; `snapshot` from its headers."""
        with self._lock:
            self._window.complete(snapshot, now)

    def rate_limited(self, retry_after: float | None, now: float) -> None:
        """A 429 arrived anyway (another client shares the token): hold back until it has passed."""
        with self._lock:
            self._window.rate_limited(retry_after, now)


def ceiling_interval(ceiling_per_minute: float | None) -> float:
    """The fixed spacing of an operator's ceiling (0 = none)."""
    if ceiling_per_minute is not None and ceiling_per_minute <= 0:
        raise ValueError("the rate ceiling must be a positive number of requests per minute")
    return 60.0 / ceiling_per_minute if ceiling_per_minute else 0.0


class FamilyHolds:
    """Resource families held back after a 429 asking for a long wait (a quota rather than the token's
    rate window): until when, in monotonic seconds. Only that family waits; the token goes on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def hold(self, family: str, until: float) -> None:
        with self._lock:
            self._until[family] = max(until, self._until.get(family, 0.0))

    def remaining(self, family: str, now: float) -> float:
        with self._lock:
            return max(0.0, self._until.get(family, 0.0) - now)


_PACERS: dict[tuple[str, ...], RatePacer] = {}
_HOLDS: dict[tuple[str, str], FamilyHolds] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(key: tuple[str, ...], ceiling_per_minute: float | None = None) -> RatePacer:
    """The process-wide pacer for one key: (login URL, client id) for the client's ceiling, and
    (login URL, client id, resource family) for the family's budget. Every hook on that client shares it."""
    with _PACERS_LOCK:
        pacer = _PACERS.get(key)
        if pacer is None:
            pacer = _PACERS[key] = RatePacer(ceiling_per_minute)
        elif ceiling_per_minute is not None:
            pacer.set_ceiling(ceiling_per_minute)
        return pacer


def shared_holds(key: tuple[str, str]) -> FamilyHolds:
    """The process-wide family holds of one (login URL, client id)."""
    with _PACERS_LOCK:
        return _HOLDS.setdefault(key, FamilyHolds())


def reset_shared_pacers() -> None:
    """Forget every pacer and hold (tests start each sandbox from a clean slate)."""
    with _PACERS_LOCK:
        _PACERS.clear()
        _HOLDS.clear()

"""Run-time knobs of a running sandbox (`sb.control`), also reachable over HTTP at POST /sandbox/faults."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from genesys_sandbox.limits import HeldGdprPost
from genesys_sandbox.state import SandboxState


class SandboxControl:
    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def set_error_rate_5xx(self, rate: float) -> None:
        """Answer this share of API requests with 503 (mostly) or 500, chosen by a seeded RNG."""
        self._state.faults.set_error_rate_5xx(rate)

    def set_latency_ms(self, latency_ms: int) -> None:
        self._state.faults.set_latency_ms(latency_ms)

    def burst_429(self, count: int, retry_after: int = 1) -> None:
        """Answer the next `count` API requests with 429 and `Retry-After: retry_after`."""
        self._state.faults.burst_429(count, retry_after)

    def fail_next_requests(self, count: int, status: int = 503) -> None:
        """Answer the next `count` API requests with this 5xx status."""
        self._state.faults.fail_next_requests(count, status)

    def revoke_tokens(self) -> int:
        """Invalidate every token issued so far (their next use gets 401); returns how many."""
        return self._state.tokens.revoke_all()

    def fail_next_gdpr_requests(self, count: int) -> None:
        """The next `count` GDPR requests created end in status ERROR (and change nothing)."""
        self._state.faults.fail_next_gdpr_requests(count)

    def reject_next_gdpr_requests(self, count: int) -> None:
        """The next `count` GDPR POSTs are refused with 400 (a subject Genesys will not take), creating
        nothing."""
        self._state.faults.reject_next_gdpr_requests(count)

    def hold_next_gdpr_post(self, max_hold_seconds: float = 600.0) -> HeldGdprPost:
        """Create the next GDPR request but hold its POST response until `release()` on the returned
        handle (or `max_hold_seconds`): the moment between Genesys accepting a request and the caller
        recording it. Python only (a handle cannot travel over POST /sandbox/faults)."""
        return self._state.faults.hold_next_gdpr_post(max_hold_seconds)

    def fail_next_analytics_jobs(self, count: int) -> None:
        """The next `count` analytics jobs submitted end FAILED (with an errorMessage) after queueing."""
        self._state.jobs.fail_next(count)

    def advance_clock(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        """Move sandbox time forward (token expiry, GDPR steps, job fulfilment, data availability)."""
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        self._state.clock.advance(delta.total_seconds())
        self._state.gdpr.tick()
        return self._state.clock.now()

    def now(self) -> datetime:
        return self._state.clock.now()

    def process_gdpr(self) -> None:
        """Bring GDPR requests up to date with the clock (the server also does this on every API call)."""
        self._state.gdpr.tick()

    def request_counts(self) -> dict[str, Any]:
        """{"total", "by_endpoint": {"POST /api/v2/gdpr/requests": n}, "by_token": {"tok-1": n},
        "by_status": {"200": n}, "by_token_endpoint": {"tok-1": {endpoint: n}},
        "by_endpoint_status": {endpoint: {"429": n}}}; /sandbox/* not counted."""
        return self._state.counter.snapshot()

    def analytics_job_states_served(self) -> dict[str, int]:
        """How often each analytics job state (QUEUED, PENDING, FAILED, FULFILLED, ...) was answered to a
        status read."""
        return dict(self._state.jobs.states_served)

    def reset_request_counts(self) -> None:
        self._state.counter.reset()

    def faults(self) -> dict[str, Any]:
        return self._state.faults.snapshot()

    def apply(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a JSON fault document (the body of POST /sandbox/faults); unknown keys are an error."""
        known = {
            "error_rate_5xx",
            "latency_ms",
            "burst_429",
            "fail_next_requests",
            "revoke_tokens",
            "fail_next_gdpr_requests",
            "reject_next_gdpr_requests",
            "fail_next_analytics_jobs",
            "advance_clock_seconds",
            "reset_request_counts",
        }
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        if "error_rate_5xx" in changes:
            self.set_error_rate_5xx(float(changes["error_rate_5xx"]))
        if "latency_ms" in changes:
            self.set_latency_ms(int(changes["latency_ms"]))
        if "burst_429" in changes:
            burst = changes["burst_429"]
            if isinstance(burst, Mapping):
                self.burst_429(int(burst.get("count", 1)), int(burst.get("retry_after", 1)))
            else:
                self.burst_429(int(burst))
        if "fail_next_requests" in changes:
            fail = changes["fail_next_requests"]
            if isinstance(fail, Mapping):
                self.fail_next_requests(int(fail.get("count", 1)), int(fail.get("status", 503)))
            else:
                self.fail_next_requests(int(fail))
        if changes.get("revoke_tokens"):
            self.revoke_tokens()
        if "fail_next_gdpr_requests" in changes:
            self.fail_next_gdpr_requests(int(changes["fail_next_gdpr_requests"]))
        if "reject_next_gdpr_requests" in changes:
            self.reject_next_gdpr_requests(int(changes["reject_next_gdpr_requests"]))
        if "fail_next_analytics_jobs" in changes:
            self.fail_next_analytics_jobs(int(changes["fail_next_analytics_jobs"]))
        if changes.get("advance_clock_seconds"):
            self.advance_clock(float(changes["advance_clock_seconds"]))
        if changes.get("reset_request_counts"):
            self.reset_request_counts()
        return {**self.faults(), "now": self.now().isoformat()}

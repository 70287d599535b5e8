"""The sandbox clock: a wall clock that starts at a chosen instant, may run faster than the caller's,
and can be pushed forward.

`now()` drives dates (token expiry, dataAvailabilityDate, seeded conversation dates); `monotonic()` drives
progress of asynchronous work (GDPR request steps, analytics jobs) and the rate-limit windows.
`advance()` shifts both, so a test can expire a token or finish a GDPR request without sleeping.

`rate` is how many sandbox seconds pass per second of the caller's (wall) time: 1 = real time. At 12 a
60-second rate window lasts 5 wall seconds. Durations the sandbox *tells* a caller (`inin-ratelimit-reset`,
`Retry-After`, a token's `expires_in`) are converted with `caller_seconds`, so a client that times itself
by them sees one consistent, faster world rather than windows that end before their announced reset.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    def __init__(self, start: datetime | None = None, rate: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("the sandbox clock rate must be positive")
        self._start_wall = (start or datetime.now(UTC)).astimezone(UTC)
        self._start_mono = time.monotonic()
        self._offset = 0.0
        self.rate = rate
        self._lock = threading.Lock()

    @property
    def start(self) -> datetime:
        """The instant the sandbox was seeded against (settings.now, or the start-up time)."""
        return self._start_wall

    def monotonic(self) -> float:
        with self._lock:
            return self._start_mono + (time.monotonic() - self._start_mono) * self.rate + self._offset

    def caller_seconds(self, sandbox_seconds: float) -> float:
        """How long `sandbox_seconds` of sandbox time last on the caller's (wall) clock."""
        return sandbox_seconds / self.rate

    def now(self) -> datetime:
        elapsed = self.monotonic() - self._start_mono
        return self._start_wall + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds


def format_instant(instant: datetime) -> str:
    """ISO-8601 with milliseconds and a Z suffix, the way the Genesys API writes dates."""
    instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant; a naive value is taken as UTC. Raises ValueError on bad input."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)

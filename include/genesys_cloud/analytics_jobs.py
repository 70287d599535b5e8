"""How the client waits on analytics conversation-details jobs: the polling back-off, the time-out (which
grows with the job's interval), how often a FAILED job is resubmitted, and how far a results page may
shrink when Genesys answers that it is too large.

Pure rules and a clock: the hook's operations (`operations.py`) do the calls. `sleep` and `monotonic`
are fields so a test can hand in a clock it advances (the sandbox's) instead of sleeping.

Why these numbers (the real values are UNCONFIRMED, see the project's ASSUMPTIONS.md): jobs over years of
data run for minutes or more, so polling starts quickly for small jobs and backs off to a minute for long
ones; a job that has not finished after 15 minutes plus a second per day of its interval is taken as stuck
(about 3 h for the 26 years a backfill asks for); FAILED is answered with no reason a client can act on, so
a job is resubmitted twice before the run fails; 1000 conversations per page is what production readers
ask for, and 25 (the API's default page size) is the floor below which a page is not shrunk further.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
RESULTS_PAGE_SIZE = 1000
# The 400 code of a results page too large to send (the swagger's message: "Reduce pageSize").
ENTITY_TOO_LARGE = "response.entity.too.large"


@dataclass(frozen=True)
class JobPolling:
    """How one client waits on its analytics jobs (see the module docstring for the defaults)."""

    first_poll_seconds: float = 2.0
    poll_backoff: float = 1.5
    max_poll_seconds: float = 60.0
    timeout_seconds: float = 900.0
    timeout_seconds_per_day: float = 1.0
    max_resubmissions: int = 2
    min_page_size: int = 25
    sleep: Callable[[float], object] = field(default=time.sleep, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.first_poll_seconds <= 0 or self.max_poll_seconds < self.first_poll_seconds:
            raise ValueError("poll delays must be positive, the first no longer than the longest")
        if self.poll_backoff < 1:
            raise ValueError("poll_backoff must be at least 1 (delays never shrink)")
        if self.timeout_seconds <= 0 or self.timeout_seconds_per_day < 0:
            raise ValueError("job time-outs must be positive")
        if self.max_resubmissions < 0 or self.min_page_size < 1:
            raise ValueError("max_resubmissions must be >= 0 and min_page_size >= 1")

    def poll_delays(self, first: float | None = None) -> Iterator[float]:
        """Waits between two status reads: `first`, then growing by `poll_backoff` up to the longest."""
        delay = min(first or self.first_poll_seconds, self.max_poll_seconds)
        while True:
            yield delay
            delay = min(delay * self.poll_backoff, self.max_poll_seconds)

    def timeout_for(self, body: Mapping[str, Any]) -> float:
        """Seconds a job over `body`'s interval may take before it is taken as stuck."""
        return self.timeout_seconds + self.timeout_seconds_per_day * interval_days(body.get("interval"))

    def smaller_page(self, page_size: int) -> int | None:
        """Half the page size, not below the floor; None when it is at the floor already."""
        if page_size <= self.min_page_size:
            return None
        return max(self.min_page_size, page_size // 2)


def interval_days(interval: Any) -> int:
    """Days (started, at least 1) an ISO-8601 `start/end` interval spans; 0 when it is unreadable (the
    server will refuse it anyway)."""
    try:
        start_text, end_text = str(interval).split("/", 1)
        start, end = _instant(start_text), _instant(end_text)
    except ValueError:
        return 0
    return max(1, math.ceil((end - start) / timedelta(days=1)))


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)

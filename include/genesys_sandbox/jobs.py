"""Analytics conversation-detail jobs, as a busy data lake runs them:

* QUEUED for `job_fulfil_seconds`, then PENDING for `job_seconds_per_day` per UTC day of the interval that
  the lake holds (the org's history up to the job's dataAvailabilityDate), then FULFILLED; all on the
  sandbox clock, so `advance_clock` finishes a job without sleeping, and so does a status read of a job
  still QUEUED or PENDING when `poll_advance_seconds` is set (it moves the clock on once answered: the
  poller's wait until its next read, in sandbox time);
* the first `fail_first_analytics_jobs` jobs (and the next N asked for at run time) end FAILED with an
  `errorMessage` when their queue time is up, and change nothing;
* at most `job_concurrency_limit` jobs QUEUED or PENDING per org: one more is a 429 whose Retry-After is
  the time left until the earliest of them finishes;
* results expire `job_results_ttl_hours` after completion (`expirationDate`; state EXPIRED; results 400);
* a results page whose JSON would exceed `job_results_max_page_bytes` is a 400 `response.entity.too.large`
  (checked by the route, which builds the page).

Results are paged by an opaque cursor and only cover conversations that started before the job's
dataAvailabilityDate (now - analytics_lag_hours at submission), like the data lake's lag.

Also the `AnalyticsLake`: what the jobs and the details multi-get show of a conversation that a GDPR
request changed, while the lake's snapshot watermark (now - analytics_snapshot_hours) has not passed the
change yet (ASSUMPTIONS.md, "A stale analytics lake")."""

from __future__ import annotations

import base64
import copy
import math
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from genesys_sandbox.candidates import candidate_conversations
from genesys_sandbox.clock import SandboxClock
from genesys_sandbox.errors import ApiError, bad_request, not_found
from genesys_sandbox.filters import (
    ParsedQuery,
    active_during,
    conversation_matches,
    sort_key,
    started_on_touched_day,
)
from genesys_sandbox.model import Conversation
from genesys_sandbox.org import Org

RESULTS_DEFAULT_PAGE = 100
RESULTS_MAX_PAGE = 1000
RESULT_TTL = timedelta(days=1)


class AnalyticsLake:
    """Copies of conversations as they were before each GDPR change, kept while the lake is stale.

    `remember` is called just before a change; `as_of` returns the conversation as the lake shows it at
    `watermark`: the copy taken before the first change made after the watermark, or the live record.
    With `snapshot_hours` 0 nothing is kept and every read sees the live record (no lag)."""

    def __init__(self, clock: SandboxClock, snapshot_hours: float) -> None:
        self.clock = clock
        self.lag = timedelta(hours=snapshot_hours)
        self._before: dict[str, list[tuple[datetime, Conversation]]] = {}
        self._lock = threading.Lock()

    def watermark(self, at: datetime | None = None) -> datetime:
        return (at or self.clock.now()) - self.lag

    def remember(self, conversations: list[Conversation], changed_at: datetime) -> None:
        if not self.lag:
            return
        with self._lock:
            for conversation in conversations:
                self._before.setdefault(conversation.id, []).append((changed_at, copy.deepcopy(conversation)))

    def as_of(self, conversation: Conversation, watermark: datetime) -> Conversation:
        with self._lock:
            for changed_at, before in self._before.get(conversation.id, ()):
                if changed_at > watermark:
                    return before
        return conversation


@dataclass
class Job:
    id: str
    query: ParsedQuery
    submitted: datetime
    submitted_mono: float
    data_availability: datetime
    lake_watermark: datetime
    queued_seconds: float
    run_seconds: float
    fails: bool = False
    conversation_ids: list[str] | None = None
    cancelled: bool = False

    @property
    def done_mono(self) -> float:
        """When the job leaves QUEUED/PENDING (FULFILLED, or FAILED right after its queue time)."""
        return self.submitted_mono + self.queued_seconds + (0.0 if self.fails else self.run_seconds)

    @property
    def completed(self) -> datetime:
        return self.submitted + timedelta(seconds=self.done_mono - self.submitted_mono)


@dataclass(frozen=True)
class JobTimings:
    """The knobs of job progress (SandboxSettings: job_*, fail_first_analytics_jobs)."""

    queued_seconds: float = 0.5
    seconds_per_day: float = 0.0
    fail_first: int = 0
    concurrency_limit: int = 0
    results_ttl: timedelta = RESULT_TTL


class JobService:
    def __init__(
        self,
        org: Org,
        clock: SandboxClock,
        fulfil_seconds: float,
        lag_hours: float,
        lake: AnalyticsLake | None = None,
        timings: JobTimings | None = None,
        history_start: datetime | None = None,
        poll_advance_seconds: float = 0.0,
    ) -> None:
        self.org = org
        self.clock = clock
        self.poll_advance_seconds = poll_advance_seconds
        self.lake = lake or AnalyticsLake(clock, 0)
        self.timings = timings or JobTimings(queued_seconds=fulfil_seconds)
        self.lag = timedelta(hours=lag_hours)
        self.history_start = history_start
        self._jobs: dict[str, Job] = {}
        self._fail_next = self.timings.fail_first
        self._lock = threading.Lock()
        # job states answered to status reads, for tests that must see a job go PENDING or FAILED
        self.states_served: Counter[str] = Counter()

    def data_availability_date(self) -> datetime:
        """now - lag, moved forward in 15-minute steps like a batch-loaded data lake (so two calls a
        moment apart agree)."""
        watermark = self.clock.now() - self.lag
        return watermark.replace(minute=watermark.minute - watermark.minute % 15, second=0, microsecond=0)

    def fail_next(self, count: int) -> None:
        """The next `count` jobs submitted end FAILED."""
        with self._lock:
            self._fail_next = max(0, int(count))

    def submit(self, query: ParsedQuery) -> Job:
        availability = self.data_availability_date()
        with self._lock:
            self._refuse_over_cap()
            fails = self._fail_next > 0
            self._fail_next -= 1 if fails else 0
            job = Job(
                id=str(uuid.uuid4()),
                query=query,
                submitted=self.clock.now(),
                submitted_mono=self.clock.monotonic(),
                data_availability=availability,
                lake_watermark=self.lake.watermark(),
                queued_seconds=self.timings.queued_seconds,
                run_seconds=self.timings.seconds_per_day * self._lake_days(query, availability),
                fails=fails,
            )
            self._jobs[job.id] = job
        return job

    def _lake_days(self, query: ParsedQuery, availability: datetime) -> int:
        """UTC days of the interval the lake holds data for: what a job has to read."""
        start = max(query.start, self.history_start) if self.history_start else query.start
        end = min(query.end, availability)
        if end <= start:
            return 0
        return (end - timedelta(microseconds=1)).date().toordinal() - start.date().toordinal() + 1

    def _refuse_over_cap(self) -> None:
        """429 when the org already runs `concurrency_limit` jobs (caller holds the lock)."""
        cap = self.timings.concurrency_limit
        if not cap:
            return
        now = self.clock.monotonic()
        running = [j for j in self._jobs.values() if not j.cancelled and j.done_mono > now]
        if len(running) < cap:
            return
        wait = min(j.done_mono for j in running) - now
        # told in the caller's seconds, rounded up (the clock may run faster than the caller's: clock.py)
        retry_after = max(1, math.ceil(self.clock.caller_seconds(min(60.0, wait))))
        raise ApiError(
            429,
            "too.many.requests.retry.after",
            f"Concurrent analytics jobs exceed the maximum of [{cap}] "
            f"(cnvr.details.jobs.concurrent.access.max). Retry the request in [{retry_after}] seconds",
            headers={"Retry-After": str(retry_after)},
        )

    def status(self, job_id: str) -> tuple[Job, str]:
        job = self._get(job_id)
        if job.cancelled:
            return job, "CANCELLED"
        now = self.clock.monotonic()
        if now < job.submitted_mono + job.queued_seconds:
            return job, "QUEUED"
        if job.fails:
            return job, "FAILED"
        if now < job.done_mono:
            return job, "PENDING"
        self._fulfil(job)
        if self.clock.now() >= self.expiration(job):
            return job, "EXPIRED"
        return job, "FULFILLED"

    def poll(self, job_id: str) -> tuple[Job, str]:
        """`status`, read by a poller: a job still QUEUED or PENDING moves the sandbox clock
        `poll_advance_seconds` once answered (the poller's wait until its next read, in sandbox time)."""
        job, state = self.status(job_id)
        with self._lock:
            self.states_served[state] += 1
        if state in ("QUEUED", "PENDING") and self.poll_advance_seconds:
            self.clock.advance(self.poll_advance_seconds)
        return job, state

    def expiration(self, job: Job) -> datetime:
        return job.completed + self.timings.results_ttl

    def cancel(self, job_id: str) -> None:
        self._get(job_id).cancelled = True

    def results(
        self, job_id: str, cursor: str | None, page_size: int | None
    ) -> tuple[Job, list[str], str | None]:
        job, state = self.status(job_id)
        if state != "FULFILLED":
            raise ApiError(
                400, "bad.request", f"The job is {state}; results are only available once FULFILLED."
            )
        size = page_size or RESULTS_DEFAULT_PAGE
        if not 1 <= size <= RESULTS_MAX_PAGE:
            raise bad_request(f"pageSize must be between 1 and {RESULTS_MAX_PAGE}.", "pageSize")
        offset = _decode_cursor(cursor) if cursor else 0
        ids = job.conversation_ids or []
        page = ids[offset : offset + size]
        next_offset = offset + size
        next_cursor = _encode_cursor(job.id, next_offset) if next_offset < len(ids) else None
        return job, page, next_cursor

    def _get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise not_found(f"Analytics job {job_id}")
        return job

    def _fulfil(self, job: Job) -> None:
        with self._lock:
            if job.conversation_ids is not None:
                return
            query = job.query
            selected = []
            pinned = candidate_conversations(self.org, query, job=True)
            for conversation in pinned if pinned is not None else self.org.iter_conversations():
                if conversation.start >= job.data_availability:
                    continue
                if query.start_of_day_matching:
                    if not started_on_touched_day(conversation, query.start, query.end):
                        continue
                elif not active_during(conversation, query.start, query.end):
                    continue
                with self.org.lock:
                    # a filter matches the values the lake holds (old ones, while a change is not in yet)
                    if conversation_matches(
                        self.lake.as_of(conversation, job.lake_watermark), query, job=True
                    ):
                        selected.append(conversation)
            selected.sort(key=sort_key(query.order_by), reverse=query.order == "desc")
            if query.limit is not None:
                selected = selected[: query.limit]
            job.conversation_ids = [c.id for c in selected]


JOB_FAILED_MESSAGE = "The query could not be completed. Please try again."


def _encode_cursor(job_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{job_id}:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(base64.urlsafe_b64decode(padded).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise bad_request("cursor is not valid for this job.", "cursor") from None

"""Analytics conversation-detail jobs: QUEUED until `job_fulfil_seconds` of sandbox time pass (a status
read of a queued job may move the clock on: `poll_advance_seconds`), then FULFILLED; results are paged
by an opaque cursor and only cover conversations that started before the job's dataAvailabilityDate
(now - analytics_lag_hours at submission), like the data lake's lag.

Also the `AnalyticsLake`: what the jobs and the details multi-get show of a conversation that a GDPR
request changed, while the lake's snapshot watermark (now - analytics_snapshot_hours) has not passed the
change yet (ASSUMPTIONS.md, "A stale analytics lake")."""

from __future__ import annotations

import base64
import copy
import threading
import uuid
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
    conversation_ids: list[str] | None = None
    completed: datetime | None = None
    cancelled: bool = False


class JobService:
    def __init__(
        self,
        org: Org,
        clock: SandboxClock,
        fulfil_seconds: float,
        lag_hours: float,
        lake: AnalyticsLake | None = None,
        poll_advance_seconds: float = 0.0,
    ) -> None:
        self.org = org
        self.clock = clock
        self.poll_advance_seconds = poll_advance_seconds
        self.lake = lake or AnalyticsLake(clock, 0)
        self.fulfil_seconds = fulfil_seconds
        self.lag = timedelta(hours=lag_hours)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def data_availability_date(self) -> datetime:
        """now - lag, moved forward in 15-minute steps like a batch-loaded data lake (so two calls a
        moment apart agree)."""
        watermark = self.clock.now() - self.lag
        return watermark.replace(minute=watermark.minute - watermark.minute % 15, second=0, microsecond=0)

    def submit(self, query: ParsedQuery) -> Job:
        job = Job(
            id=str(uuid.uuid4()),
            query=query,
            submitted=self.clock.now(),
            submitted_mono=self.clock.monotonic(),
            data_availability=self.data_availability_date(),
            lake_watermark=self.lake.watermark(),
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def status(self, job_id: str) -> tuple[Job, str]:
        job = self._get(job_id)
        if job.cancelled:
            return job, "CANCELLED"
        if self.clock.monotonic() - job.submitted_mono < self.fulfil_seconds:
            return job, "QUEUED"
        self._fulfil(job)
        if self.clock.now() >= self.expiration(job):
            return job, "EXPIRED"
        return job, "FULFILLED"

    def poll(self, job_id: str) -> tuple[Job, str]:
        """`status`, read by a poller: a job still QUEUED moves the sandbox clock `poll_advance_seconds`
        once answered (the poller's wait until its next read, in sandbox time)."""
        job, state = self.status(job_id)
        if state == "QUEUED" and self.poll_advance_seconds:
            self.clock.advance(self.poll_advance_seconds)
        return job, state

    def expiration(self, job: Job) -> datetime:
        return job.submitted + RESULT_TTL

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
            job.completed = job.submitted + timedelta(seconds=self.fulfil_seconds)


def _encode_cursor(job_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{job_id}:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(base64.urlsafe_b64decode(padded).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise bad_request("cursor is not valid for this job.", "cursor") from None

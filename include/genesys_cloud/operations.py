"""The Genesys Cloud operations the erasure pipeline uses, on top of `request()`.

A mixin for `GenesysCloudHook`: paths, query parameters and body shapes come from the SDK
(`purecloudplatformclientv2` 269.0.0); see /work/shared/reference/genesys-cloud-api.md. Results are the
decoded JSON (dicts/lists). Identifiers that go into a path are URL-quoted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Unpack

from genesys_cloud.analytics_jobs import ENTITY_TOO_LARGE, JOBS_PATH, RESULTS_PAGE_SIZE, JobPolling
from genesys_cloud.errors import (
    GenesysBadRequestError,
    GenesysCloudError,
    GenesysJobError,
    GenesysJobFailedError,
    GenesysNotFoundError,
    GenesysRateLimitError,
    redact_message,
)
from genesys_cloud.paging import EntityPager, chunked, first_sightings, has_next_page
from genesys_cloud.protocol import segment
from genesys_cloud.vocabulary import AnalyticsJobState, GdprRequestType, GdprSearchType

if TYPE_CHECKING:
    from genesys_cloud.transport import CallOptions

log = logging.getLogger(__name__)

GDPR_REQUEST_TYPES = frozenset(GdprRequestType)
GDPR_SEARCH_TYPES = frozenset(GdprSearchType)
JOB_DONE_STATES = frozenset({AnalyticsJobState.FULFILLED})
JOB_FAILED_STATES = frozenset(
    {AnalyticsJobState.FAILED, AnalyticsJobState.CANCELLED, AnalyticsJobState.EXPIRED}
)
# A job that ends like this is submitted again (bounded): nothing was read from it yet.
RESUBMITTED_JOB_CODES = frozenset({"job.failed", "job.expired"})
MAX_IDS_PER_CALL = 100
DETAILS_PAGE_SIZE = 100
# External-contact search pages only through the first 1,000 matches (pageNumber * pageSize <= 1000).
CONTACT_SEARCH_WINDOW = 1000
CONTACT_SCAN_LIMIT = 200  # the cursor scan's largest page (SDK: limit 10..200)


@dataclass(frozen=True)
class JobResultsPage:
    """One page of analytics details job results."""

    conversations: list[dict[str, Any]]
    data_availability_date: str | None


@dataclass(frozen=True)
class ContactSearch:
    """An external-contact search answer: the contacts read, and whether they are all that matched.
    `total` is the match count Genesys reported, if it did."""

    contacts: list[dict[str, Any]]
    complete: bool
    total: int | None = None


class GenesysCloudOperationsMixin:
    """Typed conveniences; the class it is mixed into provides `request()`. `job_polling` is how the
    analytics jobs are waited on (a test hands in a clock it advances)."""

    job_polling: JobPolling = JobPolling()

    if TYPE_CHECKING:

        def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> Any: ...

    # -- paging ------------------------------------------------------------------------------------------

    def iter_entities(
        self, path: str, params: Mapping[str, Any] | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every entity of a `pageNumber`/`pageCount` listing, each exactly once."""
        pager = EntityPager(params, page_size)
        while (query := pager.next_query()) is not None:
            yield from pager.take(self.request("GET", path, params=query))

    # -- analytics -----------------------------------------------------------------------------------------

    def query_conversation_details(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST details/query (synchronous query; `paging` in the body)."""
        path = "/api/v2/analytics/conversations/details/query"
        return self.request("POST", path, json=dict(body), idempotent=True) or {}

    def iter_conversation_details(
        self, body: Mapping[str, Any], page_size: int = DETAILS_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every conversation a details query matches, each once, paging with `paging.pageNumber`.

        Genesys may refuse to page deeper than some number of results (UNCONFIRMED): that refusal is
        raised as `result.window.exceeded`, never taken for the end of the results."""
        seen: set[str] = set()
        page_number = 1
        total: Any = None
        while True:
            page_body = {**body, "paging": {"pageSize": page_size, "pageNumber": page_number}}
            try:
                answer = self.query_conversation_details(page_body)
            except GenesysBadRequestError as error:
                if page_number == 1 or not any(f.startswith("paging") for f in error.details):
                    raise
                raise GenesysBadRequestError(
                    400,
                    "result.window.exceeded",
                    f"the details query matched {total} conversations but Genesys pages through only "
                    f"{(page_number - 1) * page_size}; query shorter intervals or narrower filters",
                    error.correlation_id,
                    error.details,
                ) from None
            conversations = answer.get("conversations") or []
            for conversation in conversations:
                conversation_id = conversation.get("conversationId")
                if conversation_id not in seen:
                    seen.add(conversation_id)
                    yield conversation
            total = answer.get("totalHits")
            if len(conversations) < page_size:
                return
            if isinstance(total, int) and page_number * page_size >= total:
                return
            page_number += 1

    def run_conversation_details_job(
        self, body: Mapping[str, Any], page_size: int = RESULTS_PAGE_SIZE
    ) -> Iterator[JobResultsPage]:
        """Submit a details job, wait for it and yield its result pages: the whole life of one job.

        A job that ends FAILED (or whose results expired before the first page was read) is submitted
        again, at most `job_polling.max_resubmissions` times, then `GenesysJobFailedError` is raised.
        Results that expire once pages were handed over raise `job.expired`: rows already yielded cannot
        be taken back, so the caller starts over (an Airflow task retry)."""
        polling = self.job_polling
        attempts = polling.max_resubmissions + 1
        reason = ""
        for attempt in range(1, attempts + 1):
            deadline = polling.monotonic() + polling.timeout_for(body)
            job_id = self.submit_conversation_details_job(body, deadline=deadline)
            try:
                self.wait_for_conversation_details_job(job_id, timeout=deadline - polling.monotonic())
                pages = self.iter_job_results(job_id, page_size)
                first = next(pages)
            except GenesysJobError as error:
                if error.code not in RESUBMITTED_JOB_CODES:
                    raise
                reason = error.message
                log.warning("Analytics job %s: %s (submission %d of %d)", job_id, reason, attempt, attempts)
                continue
            yield first
            yield from pages
            return
        raise GenesysJobFailedError(
            None, "job.failed", f"analytics job failed on all {attempts} submissions; last: {reason}"
        )

    def submit_conversation_details_job(
        self, body: Mapping[str, Any], *, deadline: float | None = None
    ) -> str:
        """POST a details job and return its id.

        A 429 (the org's cap on concurrent jobs, or the token's rate limit) means no job was created: it is
        waited out per `Retry-After` on the polling clock until `deadline`. Any other failure is raised and
        the POST is not repeated (it may have created a job, and a second would run the same query twice)."""
        polling = self.job_polling
        if deadline is None:
            deadline = polling.monotonic() + polling.timeout_for(body)
        delays = polling.poll_delays()
        while True:
            try:
                answer = self.request("POST", JOBS_PATH, json=dict(body), retry_rate_limited=False)
                return str(answer["jobId"])
            except GenesysRateLimitError as error:
                wait = error.retry_after if error.retry_after is not None else next(delays)
                if polling.monotonic() + wait > deadline:
                    message = "no analytics job slot became free before the job's time-out"
                    raise GenesysJobError(429, "job.timeout", message, error.correlation_id) from None
                log.info("Analytics job submission refused (429): waiting %.0f s for a free slot", wait)
                polling.sleep(wait)

    def get_conversation_details_job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"{JOBS_PATH}/{segment(job_id)}")

    def cancel_conversation_details_job(self, job_id: str) -> None:
        self.request("DELETE", f"{JOBS_PATH}/{segment(job_id)}")

    def wait_for_conversation_details_job(
        self, job_id: str, poll_seconds: float | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Poll the job, backing off from `poll_seconds` (default: the polling policy's), until FULFILLED
        (returns its status); FAILED, CANCELLED or EXPIRED raise `GenesysJobError` with that code, and so
        does a job still running after `timeout` seconds (`job.timeout`; the job is cancelled first, so
        it does not hold one of the org's job slots)."""
        polling = self.job_polling
        deadline = polling.monotonic() + (polling.timeout_seconds if timeout is None else timeout)
        delays = polling.poll_delays(poll_seconds)
        while True:
            status = self.get_conversation_details_job(job_id)
            state = status.get("state")
            if state in JOB_DONE_STATES:
                return status
            if state in JOB_FAILED_STATES:
                why = redact_message(str(status.get("errorMessage") or "no errorMessage"))
                raise GenesysJobError(
                    None, f"job.{str(state).lower()}", f"analytics job ended {state}: {why}"
                )
            remaining = deadline - polling.monotonic()
            if remaining <= 0:
                self._cancel_quietly(job_id)
                raise GenesysJobError(None, "job.timeout", f"analytics job still {state} at its time-out")
            polling.sleep(min(next(delays), remaining))

    def iter_job_results(self, job_id: str, page_size: int = RESULTS_PAGE_SIZE) -> Iterator[JobResultsPage]:
        """The pages of a fulfilled details job (cursor paging; no cursor on the last page).

        A page refused as too large (400 `response.entity.too.large`) is asked for again from the same
        cursor at half the size, down to the policy's floor; the smaller size is kept for the pages after
        it. A refusal because the results expired raises `job.expired`."""
        path = f"{JOBS_PATH}/{segment(job_id)}/results"
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"pageSize": page_size}
            if cursor:
                params["cursor"] = cursor
            try:
                page = self.request("GET", path, params=params) or {}
            except GenesysBadRequestError as error:
                if error.code != ENTITY_TOO_LARGE:
                    self._raise_if_expired(job_id)
                    raise
                smaller = self.job_polling.smaller_page(page_size)
                if smaller is None:
                    raise
                log.info("Analytics job results page too large at %d; asking for %d", page_size, smaller)
                page_size = smaller
                continue
            yield JobResultsPage(list(page.get("conversations") or []), page.get("dataAvailabilityDate"))
            cursor = page.get("cursor")
            if not cursor:
                return

    def _raise_if_expired(self, job_id: str) -> None:
        state = self.get_conversation_details_job(job_id).get("state")
        if state == AnalyticsJobState.EXPIRED:
            raise GenesysJobError(None, "job.expired", "analytics job results expired while being read")

    def _cancel_quietly(self, job_id: str) -> None:
        try:
            self.cancel_conversation_details_job(job_id)
        except GenesysCloudError as error:  # the time-out is the error to report, not this
            log.warning("Could not cancel analytics job %s: %s", job_id, error)

    def get_data_availability(self) -> dict[str, Any]:
        """`{"dataAvailabilityDate": ...}`: jobs only see data up to that instant."""
        return self.request("GET", "/api/v2/analytics/conversations/details/jobs/availability") or {}

    def get_conversations_details(self, conversation_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Details of many conversations (`details?id=a,b,…`, ≤ 100 ids per call)."""
        conversations: list[dict[str, Any]] = []
        for chunk in chunked(dict.fromkeys(conversation_ids), MAX_IDS_PER_CALL):
            params = {"id": ",".join(chunk)}
            answer = self.request("GET", "/api/v2/analytics/conversations/details", params=params)
            conversations.extend((answer or {}).get("conversations") or [])
        return conversations

    def get_conversation_details(self, conversation_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v2/analytics/conversations/{segment(conversation_id)}/details")

    # -- GDPR --------------------------------------------------------------------------------------------

    def search_gdpr_subjects(self, search_type: str, value: str) -> list[dict[str, Any]]:
        if search_type not in GDPR_SEARCH_TYPES:
            raise ValueError(f"search_type must be one of {sorted(GDPR_SEARCH_TYPES)}")
        params = {"searchType": search_type, "searchValue": value}
        answer = self.request("GET", "/api/v2/gdpr/subjects", params=params) or {}
        return list(answer.get("entities") or [])

    def submit_gdpr_request(
        self,
        request_type: str,
        subject: Mapping[str, Any],
        replacement_terms: list[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """POST one GDPR request (one subject); GDPR_DELETE is sent with `deleteConfirmed=true`.

        Not retried on 5xx/time-outs (only 429, 503 and connect failures): a retry could create a second
        request for the same subject.
        """
        if request_type not in GDPR_REQUEST_TYPES:
            raise ValueError(f"request_type must be one of {sorted(GDPR_REQUEST_TYPES)}")
        if replacement_terms and request_type != GdprRequestType.GDPR_UPDATE:
            raise ValueError("replacement_terms are only valid with request_type GDPR_UPDATE")
        if not subject:
            raise ValueError("subject must name at least one identifier")
        body: dict[str, Any] = {"requestType": request_type, "subject": dict(subject)}
        if replacement_terms:
            body["replacementTerms"] = [dict(term) for term in replacement_terms]
        params = {"deleteConfirmed": "true"} if request_type == GdprRequestType.GDPR_DELETE else None
        return self.request("POST", "/api/v2/gdpr/requests", params=params, json=body)

    def get_gdpr_request(self, request_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v2/gdpr/requests/{segment(request_id)}")

    # -- external contacts, conversations, recordings ----------------------------------------------------

    def search_external_contacts(self, q: str, page_size: int = 100) -> list[dict[str, Any]]:
        """Every external contact matching `q`; raises if more match than the API can page through."""
        contacts: list[dict[str, Any]] = []
        seen: set[str] = set()
        page_number = 1
        while True:
            params = {"q": q, "pageSize": page_size, "pageNumber": page_number}
            listing = self.request("GET", "/api/v2/externalcontacts/contacts", params=params) or {}
            contacts.extend(first_sightings(listing.get("entities") or [], seen))
            total = listing.get("total")
            if isinstance(total, int) and total > CONTACT_SEARCH_WINDOW:
                raise GenesysBadRequestError(
                    None,
                    "result.window.exceeded",
                    f"the external contact search matched {total} contacts, more than the "
                    f"{CONTACT_SEARCH_WINDOW} the API pages through; use a narrower value",
                )
            if not has_next_page(listing, page_number, page_size):
                return contacts
            page_number += 1

    def search_external_contacts_checked(self, q: str, page_size: int = 100) -> ContactSearch:
        """Every external contact matching `q`, and whether that is all of them: an answer carrying
        `partialResults: true`, or more matches than the API pages through, makes the search incomplete
        (returned, not raised: the caller decides what an incomplete answer means)."""
        contacts: list[dict[str, Any]] = []
        seen: set[str] = set()
        complete = True
        page_number = 1
        while True:
            params = {"q": q, "pageSize": page_size, "pageNumber": page_number}
            listing = self.request("GET", "/api/v2/externalcontacts/contacts", params=params) or {}
            contacts.extend(first_sightings(listing.get("entities") or [], seen))
            complete = complete and not listing.get("partialResults")
            total = listing.get("total")
            if isinstance(total, int) and total > CONTACT_SEARCH_WINDOW:
                return ContactSearch(contacts, complete=False, total=total)  # the rest is out of reach
            if not has_next_page(listing, page_number, page_size):
                return ContactSearch(contacts, complete=complete, total=total)
            if (page_number + 1) * page_size > CONTACT_SEARCH_WINDOW:
                return ContactSearch(contacts, complete=False, total=total)
            page_number += 1

    def scan_external_contacts(self, limit: int = CONTACT_SCAN_LIMIT) -> Iterator[dict[str, Any]]:
        """Every external contact the client may see, each once: the cursor scan
        (`GET /api/v2/externalcontacts/scan/contacts`, `cursors.after` until the last page). One call per
        `limit` contacts, whatever is looked up in them afterwards."""
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            listing = self.request("GET", "/api/v2/externalcontacts/scan/contacts", params=params) or {}
            yield from first_sightings(listing.get("entities") or [], seen)
            after = (listing.get("cursors") or {}).get("after")
            if not after or after == cursor:
                return
            cursor = after

    def iter_users(self, state: str = "any", page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every user of the org in `state` (`GET /api/v2/users`; "any" = active, inactive and deleted)."""
        return self.iter_entities("/api/v2/users", params={"state": state}, page_size=page_size)

    def get_external_contact(self, contact_id: str) -> dict[str, Any] | None:
        """The external contact with this id, or None when Genesys has none (404)."""
        try:
            return self.request("GET", f"/api/v2/externalcontacts/contacts/{segment(contact_id)}")
        except GenesysNotFoundError:
            return None

    def delete_external_contact(self, contact_id: str) -> None:
        self.request("DELETE", f"/api/v2/externalcontacts/contacts/{segment(contact_id)}")

    def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """GET /api/v2/conversations/{id}: the live `Conversation`, the one read that carries participant
        attributes (flow data) for a conversation by id. 404 and 403 raise, typed."""
        return self.request("GET", f"/api/v2/conversations/{segment(conversation_id)}")

    def disconnect_conversation(self, conversation_id: str) -> Any:
        """POST …/disconnect: full teardown of a (stuck) active conversation; repeating it is harmless."""
        path = f"/api/v2/conversations/{segment(conversation_id)}/disconnect"
        return self.request("POST", path, idempotent=True)

    def get_recording_metadata(self, conversation_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/conversations/{segment(conversation_id)}/recordingmetadata"
        return list(self.request("GET", path) or [])

    def get_protected_conversation_ids(self, conversation_ids: Iterable[str]) -> set[str]:
        """The ids (of those given) whose recordings carry deletion protection (≤ 100 per call)."""
        protected: set[str] = set()
        for chunk in chunked(dict.fromkeys(conversation_ids), MAX_IDS_PER_CALL):
            body = {"conversationIds": chunk}
            answer = self.request("POST", "/api/v2/recordings/deletionprotection", json=body, idempotent=True)
            protected.update(ref["id"] for ref in answer or [] if isinstance(ref, Mapping) and ref.get("id"))
        return protected

    # -- org facts (the preflight and the purge's settings check) ----------------------------------------

    def get_analytics_data_retention(self) -> dict[str, Any]:
        """`{"retentionDays", …}`: how many days the org keeps analytics conversation details."""
        return self.request("GET", "/api/v2/analytics/dataretention/settings") or {}

    def get_organization_limits(self, namespace: str) -> dict[str, int]:
        """`{key: value}` of one org limits namespace (e.g. `platform.api`)."""
        path = f"/api/v2/organizations/limits/namespaces/{segment(namespace)}"
        answer = self.request("GET", path) or {}
        return {
            str(entry["key"]): entry["value"]
            for entry in answer.get("entities") or []
            if isinstance(entry, Mapping) and entry.get("key") is not None
        }

    def iter_divisions(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every division visible to this client."""
        return self.iter_entities("/api/v2/authorization/divisions", page_size=page_size)

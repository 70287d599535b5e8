"""GDPR requests: validation of the POST body, the asynchronous status walk, and their JSON form.

Status walk (one step per `gdpr_step_seconds` of sandbox time; reading a request never moves it):
  GDPR_DELETE: INITIATED -> SEARCHING -> DELETING -> FINALIZING -> COMPLETED
  GDPR_UPDATE: INITIATED -> SEARCHING -> UPDATING -> FINALIZING -> COMPLETED
  GDPR_EXPORT: INITIATED -> SEARCHING -> FINALIZING -> COMPLETED
  a request hit by `fail_next_gdpr_requests`: INITIATED -> SEARCHING -> ERROR (nothing changed)
The effect (redaction / replacement / export) is applied once, on the step into COMPLETED; the parts of
a delete that `DeleteEffects` makes lag land later, on the first tick at or after their sandbox time.

Requests take hours of sandbox time. With `poll_advance_seconds` a poll moves the sandbox clock that far
once it is answered: a read of the list page that holds the newest request (once per pass over the list,
whichever order it lists in) while any request is unfinished, or a read by id of an unfinished request.
The poller's wait until its next poll passes in sandbox time, so a test waits hours without sleeping;
reading never moves a request itself, only the time it lets pass does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from genesys_sandbox.clock import SandboxClock, format_instant
from genesys_sandbox.errors import ApiError, bad_request, not_found
from genesys_sandbox.limits import Faults
from genesys_sandbox.org import Org
from genesys_sandbox.redaction import (
    DeleteEffects,
    LaterDelete,
    Outcome,
    SubjectKeys,
    apply_delete,
    apply_later,
    apply_update,
    find_conversations,
)

REQUEST_TYPES = ("GDPR_EXPORT", "GDPR_UPDATE", "GDPR_DELETE")
STATUSES = ("INITIATED", "SEARCHING", "UPDATING", "DELETING", "COMPLETED", "ERROR", "FINALIZING")
SEARCH_TYPES = (
    "NAME",
    "ADDRESS",
    "PHONE",
    "EMAIL",
    "TWITTER",
    "INSTAGRAM",
    "FACEBOOK",
    "APPLE_MESSAGES",
    "EXTERNAL_ID",
)
TERM_TYPES = (
    "NAME",
    "ADDRESS",
    "PHONE",
    "EMAIL",
    "TWITTER",
    "INSTAGRAM",
    "FACEBOOK",
    "APPLE_MESSAGES",
    "WHATSAPP",
    "EXTERNAL_ID",
)
PATHS = {
    "GDPR_DELETE": ("INITIATED", "SEARCHING", "DELETING", "FINALIZING", "COMPLETED"),
    "GDPR_UPDATE": ("INITIATED", "SEARCHING", "UPDATING", "FINALIZING", "COMPLETED"),
    "GDPR_EXPORT": ("INITIATED", "SEARCHING", "FINALIZING", "COMPLETED"),
}
FAILED_PATH = ("INITIATED", "SEARCHING", "ERROR")
REQUEST_FIELDS = {
    "id",
    "name",
    "createdBy",
    "replacementTerms",
    "requestType",
    "createdDate",
    "status",
    "subject",
    "resultsUrl",
    "resultsUrls",
    "selfUri",
}
SUBJECT_LIST_FIELDS = ("addresses", "phoneNumbers", "emailAddresses")
SUBJECT_TEXT_FIELDS = ("name", "userId", "externalContactId", "externalId")
SUBJECT_OBJECT_FIELDS = ("dialerContactId", "journeyCustomer", "socialHandle")
SUBJECT_FIELDS = set(SUBJECT_LIST_FIELDS + SUBJECT_TEXT_FIELDS + SUBJECT_OBJECT_FIELDS)


@dataclass
class GdprRequest:
    id: str
    request_type: str
    subject: dict[str, Any]
    replacement_terms: list[dict[str, Any]] | None
    name: str | None
    created_date: datetime
    created_by: str
    created_mono: float
    will_fail: bool
    step: int = 0  # index into the path
    outcome: Outcome | None = None
    export: dict[str, Any] | None = None
    completed_date: datetime | None = field(default=None)

    @property
    def path(self) -> tuple[str, ...]:
        return FAILED_PATH if self.will_fail else PATHS[self.request_type]

    @property
    def status(self) -> str:
        return self.path[self.step]

    @property
    def final(self) -> bool:
        return self.step == len(self.path) - 1


def validate_request_body(
    body: Any, delete_confirmed: bool
) -> tuple[str, dict[str, Any], list | None, str | None]:
    """Return (requestType, subject, replacementTerms, name) or raise a 400 naming the field."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a GDPRRequest JSON object.", "body")
    unknown = sorted(set(body) - REQUEST_FIELDS)
    if unknown:
        raise bad_request(f"Unrecognized field '{unknown[0]}' in GDPRRequest.", unknown[0])
    request_type = body.get("requestType")
    if request_type not in REQUEST_TYPES:
        raise bad_request(f"requestType must be one of {', '.join(REQUEST_TYPES)}.", "requestType")
    subject = _validate_subject(body.get("subject"))
    terms = body.get("replacementTerms")
    if terms is not None and request_type != "GDPR_UPDATE":
        raise ApiError(400, "bad.request", "Invalid data")
    if request_type == "GDPR_UPDATE":
        terms = _validate_terms(terms)
    if request_type == "GDPR_DELETE" and not delete_confirmed:
        raise bad_request(
            "A GDPR_DELETE request must be confirmed with the query parameter deleteConfirmed=true.",
            "deleteConfirmed",
            "delete.not.confirmed",
        )
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise bad_request("name must be a string.", "name")
    return request_type, subject, terms, name


def _validate_subject(subject: Any) -> dict[str, Any]:
    if not isinstance(subject, dict):
        raise bad_request(
            "subject is required and must be a GDPRSubject object (one subject per request).", "subject"
        )
    unknown = sorted(set(subject) - SUBJECT_FIELDS)
    if unknown:
        raise bad_request(f"Unrecognized field '{unknown[0]}' in GDPRSubject.", f"subject.{unknown[0]}")
    clean: dict[str, Any] = {}
    for key in SUBJECT_LIST_FIELDS:
        if key in subject and subject[key] is not None:
            values = subject[key]
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                raise bad_request(f"subject.{key} must be a list of non-empty strings.", f"subject.{key}")
            if values:
                clean[key] = list(values)
    for key in SUBJECT_TEXT_FIELDS:
        if key in subject and subject[key] is not None:
            if not isinstance(subject[key], str) or not subject[key].strip():
                raise bad_request(f"subject.{key} must be a non-empty string.", f"subject.{key}")
            clean[key] = subject[key]
    for key in SUBJECT_OBJECT_FIELDS:
        if key in subject and subject[key] is not None:
            if not isinstance(subject[key], dict):
                raise bad_request(f"subject.{key} must be an object.", f"subject.{key}")
            clean[key] = dict(subject[key])
    if not clean:
        raise bad_request(
            "subject must identify the data subject (at least one identifying field).", "subject"
        )
    return clean


def _validate_terms(terms: Any) -> list[dict[str, Any]]:
    if not isinstance(terms, list) or not terms:
        raise bad_request("replacementTerms are required for a GDPR_UPDATE request.", "replacementTerms")
    for index, term in enumerate(terms):
        where = f"replacementTerms[{index}]"
        if not isinstance(term, dict):
            raise bad_request(f"{where} must be a ReplacementTerm object.", where)
        if term.get("type") not in TERM_TYPES:
            raise bad_request(f"{where}.type must be one of {', '.join(TERM_TYPES)}.", f"{where}.type")
        for key in ("existingValue", "updatedValue"):
            if not isinstance(term.get(key), str) or not term[key]:
                raise bad_request(f"{where}.{key} must be a non-empty string.", f"{where}.{key}")
    return [dict(t) for t in terms]


class GdprService:
    def __init__(
        self,
        org: Org,
        clock: SandboxClock,
        faults: Faults,
        step_seconds: float,
        effects: DeleteEffects | None = None,
        before_change: Callable[[list, datetime], None] | None = None,
        list_order: str = "newest_first",
        poll_advance_seconds: float = 0.0,
    ) -> None:
        if step_seconds <= 0:
            raise ValueError("step_seconds must be positive (requests move with sandbox time only)")
        self.org = org
        self.list_order = list_order
        self.poll_advance_seconds = poll_advance_seconds
        # told which conversations a delete / update is about to change (the analytics lake keeps copies)
        self.before_change = before_change
        self.clock = clock
        self.faults = faults
        self.step_seconds = step_seconds
        self.effects = effects or DeleteEffects()
        self._later: list[LaterDelete] = []  # lagging deletes of completed requests, not landed yet
        self._requests: dict[str, GdprRequest] = {}
        self._order: list[str] = []
        self._pending: set[str] = set()  # not yet in a final status
        self._lock = threading.RLock()

    def create(
        self, request_type: str, subject: dict, terms: list | None, name: str | None, client: str
    ) -> GdprRequest:
        with self._lock:
            request = GdprRequest(
                id=str(uuid.uuid4()),
                request_type=request_type,
                subject=subject,
                replacement_terms=terms,
                name=name,
                created_date=self.clock.now(),
                created_by=client,
                created_mono=self.clock.monotonic(),
                will_fail=self.faults.take_gdpr_failure(),
            )
            self._requests[request.id] = request
            self._order.append(request.id)
            self._pending.add(request.id)
            return request

    def get(self, request_id: str) -> GdprRequest:
        with self._lock:
            request = self._requests.get(request_id)
            if request is None:
                raise not_found(f"GDPR request {request_id}")
            return request

    def page(self, page_size: int, page_number: int) -> tuple[list[GdprRequest], int]:
        """One page of every request ever made (old ones are kept), in `list_order` of creation."""
        with self._lock:
            ids = self._order if self.list_order == "oldest_first" else list(reversed(self._order))
            chunk = ids[(page_number - 1) * page_size : page_number * page_size]
            return [self._requests[i] for i in chunk], len(ids)

    def poll(self, request_id: str) -> GdprRequest:
        """`get`, read by a poller (GET of one request): while that request is unfinished, the sandbox
        clock moves `poll_advance_seconds` once it is answered."""
        with self._lock:
            request = self.get(request_id)
            if not request.final:
                self._after_poll()
            return request

    def poll_page(self, page_size: int, page_number: int) -> tuple[list[GdprRequest], int]:
        """`page`, read by a poller (GET of the list). One poll round reads the page that holds the newest
        request, whichever end of the list the order puts it at and whichever other pages the round
        reads (or skips) around it: only that page moves the clock, once per round, while any request
        is unfinished. A round that reads only open requests thus costs one advance, not one per page
        or per request."""
        with self._lock:
            chunk, total = self.page(page_size, page_number)
            if self._holds_newest(page_size, page_number, total):
                self._after_poll()
            return chunk, total

    def _holds_newest(self, page_size: int, page_number: int, total: int) -> bool:
        if total == 0:
            return False
        if self.list_order == "oldest_first":
            return page_number == (total - 1) // page_size + 1
        return page_number == 1

    def count(self) -> int:
        with self._lock:
            return len(self._requests)

    def tick(self) -> None:
        """Advance every pending request to where sandbox time says it should be, and land the lagging
        deletes whose time has come. Only time moves requests: reading them does not."""
        with self._lock:
            self._land_later()
            now = self.clock.monotonic()
            for request_id in list(self._pending):
                request = self._requests[request_id]
                target = int((now - request.created_mono) / self.step_seconds)
                self._advance_to(request, target)

    def _after_poll(self) -> None:
        """The poller's wait until its next poll, in sandbox time (the answer is already decided: the
        requests move on at the next tick)."""
        if self.poll_advance_seconds and self._pending:
            self.clock.advance(self.poll_advance_seconds)

    def _land_later(self) -> None:
        if not self._later:
            return
        now = self.clock.now()
        due = [d for d in self._later if d.due <= now]
        self._later = [d for d in self._later if d.due > now]
        for delete in due:
            apply_later(self.org, delete)

    def _advance_to(self, request: GdprRequest, target: int) -> None:
        target = min(target, len(request.path) - 1)
        while request.step < target:
            request.step += 1
            if request.status == "COMPLETED":
                self._complete(request)
        if request.final:
            self._pending.discard(request.id)

    def _complete(self, request: GdprRequest) -> None:
        now = self.clock.now()
        request.completed_date = now
        if self.before_change and request.request_type in ("GDPR_DELETE", "GDPR_UPDATE"):
            found = find_conversations(self.org, SubjectKeys.from_subject(request.subject))
            self.before_change([c for c in found if not c.active], now)
        if request.request_type == "GDPR_DELETE":
            request.outcome = apply_delete(self.org, request.subject, now, self.effects)
            self._later.extend(request.outcome.later)
        elif request.request_type == "GDPR_UPDATE":
            request.outcome = apply_update(
                self.org, request.subject, request.replacement_terms or [], self.effects
            )
        else:
            request.export = export_subject(self.org, request.subject)


def export_subject(org: Org, subject: dict[str, Any]) -> dict[str, Any]:
    keys = SubjectKeys.from_subject(subject)
    conversations = find_conversations(org, keys)
    return {
        "subject": subject,
        "conversationIds": [c.id for c in conversations],
        "externalContactIds": sorted({c.id for v in keys.values for c in org.external_contacts_holding(v)}),
    }


def render_request(request: GdprRequest, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": request.id,
        "createdBy": {"id": request.created_by, "selfUri": f"/api/v2/users/{request.created_by}"},
        "requestType": request.request_type,
        "createdDate": format_instant(request.created_date),
        "status": request.status,
        "subject": request.subject,
        "selfUri": f"/api/v2/gdpr/requests/{request.id}",
    }
    if request.name:
        body["name"] = request.name
    if request.replacement_terms:
        body["replacementTerms"] = request.replacement_terms
    if request.export is not None:
        url = f"{base_url.rstrip('/')}/sandbox/gdpr/exports/{request.id}"
        body["resultsUrl"] = url
        body["resultsUrls"] = [url]
    return body

"""Validation and evaluation of ConversationQuery / AsyncConversationQuery bodies.

Matching rules (assumptions, see ASSUMPTIONS.md):
* `matches` compares the stored string exactly, so ani/dnis must be queried in the stored `tel:+E164` form
  and message addresses / callback numbers as plain `+E164`; e-mail dimensions (addressFrom, addressTo)
  compare case-insensitively. Jobs additionally match *partial* e-mail addresses (substring), as the
  documentation of the jobs endpoint says.
* A segment filter matches a conversation when one segment (with its session and participant) satisfies
  the whole filter; several filters in one list must all match; conversation filters look at the
  conversation itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from genesys_sandbox.clock import parse_instant
from genesys_sandbox.errors import ApiError, bad_request, detail
from genesys_sandbox.model import Conversation

SEGMENT_DIMENSIONS = frozenset(
    (
        "addressFrom",
        "addressTo",
        "agentAssistantId",
        "agentOwned",
        "ani",
        "authenticated",
        "bargedParticipantId",
        "callbackNumber",
        "callbackScheduledTime",
        "canonicalExternalContactId",
        "cleared",
        "coachedParticipantId",
        "conference",
        "deliveryPushed",
        "deliveryStatus",
        "destinationAddress",
        "destinationConversationId",
        "detectedSpeechEnd",
        "detectedSpeechStart",
        "direction",
        "disconnectType",
        "dnis",
        "edgeId",
        "engagementSource",
        "errorCode",
        "exitReason",
        "extendedDeliveryStatus",
        "externalContactId",
        "externalOrganizationId",
        "flaggedReason",
        "flowId",
        "flowName",
        "flowOutType",
        "flowOutcome",
        "flowOutcomeId",
        "flowOutcomeValue",
        "flowVersion",
        "groupId",
        "journeyActionId",
        "journeyActionMapId",
        "journeyCustomerId",
        "journeyCustomerIdType",
        "journeyCustomerSessionId",
        "mediaCount",
        "mediaType",
        "messageType",
        "monitoredParticipantId",
        "outboundCampaignId",
        "outboundContactId",
        "outboundContactListId",
        "participantName",
        "protocolCallId",
        "provider",
        "purpose",
        "queueId",
        "recording",
        "remote",
        "remoteNameDisplayable",
        "requestedLanguageId",
        "requestedRouting",
        "requestedRoutingSkillId",
        "scoredAgentId",
        "screenMonitoredUserId",
        "screenRecording",
        "scriptId",
        "segmentEnd",
        "segmentType",
        "sessionDnis",
        "sipResponseCode",
        "skillExpressionId",
        "snippetRecording",
        "subject",
        "teamId",
        "transferTargetAddress",
        "transferTargetName",
        "transferType",
        "usedRouting",
        "userId",
        "wrapUpCode",
        "wrapUpNote",
    )
)
CONVERSATION_DIMENSIONS = frozenset(
    (
        "accessAttribute",
        "conversationEnd",
        "conversationId",
        "conversationInitiator",
        "conversationStart",
        "customerParticipation",
        "divisionId",
        "externalTag",
        "mediaStatsMinConversationMos",
        "originatingDirection",
        "originatingSocialMediaPublic",
    )
)
EMAIL_DIMENSIONS = frozenset({"addressFrom", "addressTo"})
OPERATORS = ("matches", "exists", "notExists")
FILTER_LISTS = (
    "conversationFilters",
    "segmentFilters",
    "evaluationFilters",
    "surveyFilters",
    "resolutionFilters",
)
ORDERS = ("asc", "desc", "unordered")
ORDER_BYS = ("conversationStart", "conversationEnd", "segmentStart", "segmentEnd")
MAX_DAYS_WITHOUT_FILTER = 7
MAX_DAYS_WITH_FILTER = 31
MAX_PAGE_SIZE = 100

Context = dict[str, Any]


@dataclass(frozen=True)
class ParsedQuery:
    start: datetime
    end: datetime
    conversation_filters: list[dict[str, Any]]
    segment_filters: list[dict[str, Any]]
    order: str
    order_by: str
    page_size: int
    page_number: int
    limit: int | None
    start_of_day_matching: bool

    @property
    def has_filters(self) -> bool:
        return bool(self.conversation_filters or self.segment_filters)


def parse_interval(value: Any) -> tuple[datetime, datetime]:
    if not isinstance(value, str) or "/" not in value:
        raise bad_request("interval is required, as 'start/end' in ISO-8601.", "interval", "invalid.date")
    left, right = value.split("/", 1)
    try:
        start, end = parse_instant(left), parse_instant(right)
    except ValueError as error:
        raise bad_request(
            f"interval is not a valid ISO-8601 interval: {error}", "interval", "invalid.date"
        ) from None
    if end <= start:
        raise bad_request("interval end must be after its start.", "interval", "invalid.date")
    return start, end


def touched_days(start: datetime, end: datetime) -> int:
    """How many UTC days the interval [start, end) touches (an end at midnight does not touch that day)."""
    last_instant = end - timedelta(microseconds=1)
    return last_instant.date().toordinal() - start.date().toordinal() + 1


def parse_query(body: Any, *, job: bool, count_touched_days: bool = False) -> ParsedQuery:
    """Validate a query body. `count_touched_days`: a detail query's 7/31-day limit counts the UTC days
    its interval touches (the daily indexes it reads) rather than its length."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "body")
    start, end = parse_interval(body.get("interval"))
    for name in FILTER_LISTS:
        _validate_filter_list(body.get(name), name)
    order = body.get("order", "asc")
    if order not in ORDERS:
        raise bad_request(f"order must be one of {', '.join(ORDERS)}.", "order")
    order_by = body.get("orderBy", "conversationStart")
    if order_by not in ORDER_BYS:
        raise bad_request(f"orderBy must be one of {', '.join(ORDER_BYS)}.", "orderBy")
    page_size, page_number = 25, 1
    if not job:
        paging = body.get("paging")
        if paging is not None:
            if not isinstance(paging, dict):
                raise bad_request("paging must be an object with pageSize and pageNumber.", "paging")
            page_size = paging.get("pageSize", 25)
            page_number = paging.get("pageNumber", 1)
            if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
                raise bad_request(
                    f"paging.pageSize must be between 1 and {MAX_PAGE_SIZE}.", "paging.pageSize"
                )
            if not isinstance(page_number, int) or page_number < 1:
                raise bad_request("paging.pageNumber must be at least 1.", "paging.pageNumber")
    limit = body.get("limit") if job else None
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise bad_request("limit must be a positive integer.", "limit")
    parsed = ParsedQuery(
        start=start,
        end=end,
        conversation_filters=list(body.get("conversationFilters") or []),
        segment_filters=list(body.get("segmentFilters") or []),
        order=order,
        order_by=order_by,
        page_size=page_size,
        page_number=page_number,
        limit=limit,
        start_of_day_matching=bool(body.get("startOfDayIntervalMatching", False)),
    )
    if not job:
        any_filter = any(body.get(name) for name in FILTER_LISTS)
        max_days = MAX_DAYS_WITH_FILTER if any_filter else MAX_DAYS_WITHOUT_FILTER
        if count_touched_days:
            too_long = touched_days(start, end) > max_days
        else:
            too_long = end - start > timedelta(days=max_days)
        if too_long:
            qualifier = "with" if any_filter else "without"
            unit = "UTC days touched" if count_touched_days else "days"
            raise ApiError(
                400,
                "bad.request",
                f"Query interval exceeds the maximum of {max_days} {unit} allowed "
                f"for a detail query {qualifier} filters.",
                details=[detail("interval", "interval.too.long")],
            )
    return parsed


def _validate_filter_list(filters: Any, where: str) -> None:
    if filters is None:
        return
    if not isinstance(filters, list):
        raise bad_request(f"{where} must be a list of filters.", where)
    dims = CONVERSATION_DIMENSIONS if where == "conversationFilters" else SEGMENT_DIMENSIONS
    for index, item in enumerate(filters):
        _validate_filter(item, f"{where}[{index}]", dims, depth=0)


def _validate_filter(item: Any, where: str, dims: frozenset[str], depth: int) -> None:
    if not isinstance(item, dict):
        raise bad_request(f"{where} must be a filter object.", where)
    if item.get("type") not in ("and", "or"):
        raise bad_request(f"{where}.type is required and must be 'and' or 'or'.", f"{where}.type")
    predicates = item.get("predicates") or []
    clauses = item.get("clauses") or []
    if not isinstance(predicates, list) or not isinstance(clauses, list):
        raise bad_request(f"{where}.predicates and .clauses must be lists.", where)
    if not predicates and not clauses:
        raise bad_request(f"{where} needs at least one predicate or clause.", where)
    for index, predicate in enumerate(predicates):
        _validate_predicate(predicate, f"{where}.predicates[{index}]", dims)
    if clauses and depth >= 1:
        raise bad_request(f"{where}: clauses allow up to two levels of nesting.", f"{where}.clauses")
    for index, clause in enumerate(clauses):
        _validate_filter(clause, f"{where}.clauses[{index}]", dims, depth + 1)


def _validate_predicate(predicate: Any, where: str, dims: frozenset[str]) -> None:
    if not isinstance(predicate, dict):
        raise bad_request(f"{where} must be a predicate object.", where)
    kind = predicate.get("type", "dimension")
    if kind not in ("dimension", "property", "metric"):
        raise bad_request(f"{where}.type must be dimension, property or metric.", f"{where}.type")
    operator = predicate.get("operator", "matches")
    if operator not in OPERATORS:
        raise bad_request(f"{where}.operator must be one of {', '.join(OPERATORS)}.", f"{where}.operator")
    if kind == "dimension":
        if predicate.get("dimension") not in dims:
            raise bad_request(f"{where}.dimension is not a valid dimension here.", f"{where}.dimension")
        if operator == "matches" and not isinstance(predicate.get("value"), str):
            raise bad_request(f"{where}.value is required for operator 'matches'.", f"{where}.value")


# ---- evaluation -----------------------------------------------------------------------------------
def conversation_matches(conversation: Conversation, query: ParsedQuery, *, job: bool) -> bool:
    if query.conversation_filters:
        context = _conversation_context(conversation)
        if not all(
            _filter_ok(f, lambda p, c=context: _predicate_ok(p, c, job)) for f in query.conversation_filters
        ):
            return False
    for segment_filter in query.segment_filters:
        if not any(
            _filter_ok(segment_filter, lambda p, c=context: _predicate_ok(p, c, job))
            for context in _segment_contexts(conversation)
        ):
            return False
    return True


def _filter_ok(item: dict[str, Any], check: Callable[[dict[str, Any]], bool]) -> bool:
    results = [check(p) for p in item.get("predicates") or []]
    results += [_filter_ok(c, check) for c in item.get("clauses") or []]
    return all(results) if item["type"] == "and" else any(results)


def _predicate_ok(predicate: dict[str, Any], context: Context, job: bool) -> bool:
    if predicate.get("type", "dimension") != "dimension":
        return True  # property/metric predicates are accepted but not simulated
    dimension = predicate["dimension"]
    stored = context.get(dimension)
    values = [v for v in (stored if isinstance(stored, list) else [stored]) if v not in (None, "", [])]
    operator = predicate.get("operator", "matches")
    if operator == "exists":
        return bool(values)
    if operator == "notExists":
        return not values
    wanted = predicate["value"]
    for value in values:
        text = value if isinstance(value, str) else str(value).lower()
        if dimension in EMAIL_DIMENSIONS:
            if (wanted.lower() in text.lower()) if job else text.lower() == wanted.lower():
                return True
        elif text == wanted:
            return True
    return False


def _conversation_context(conversation: Conversation) -> Context:
    return {
        "conversationId": conversation.id,
        "conversationStart": conversation.start.isoformat(),
        "conversationEnd": conversation.end.isoformat() if conversation.end else None,
        "originatingDirection": conversation.originating_direction,
        "conversationInitiator": conversation.initiator,
        "divisionId": [conversation.division_id],
        "customerParticipation": True,
    }


def _segment_contexts(conversation: Conversation) -> Iterator[Context]:
    for participant in conversation.participants:
        for session in participant.sessions:
            base = {
                "participantName": participant.name,
                "purpose": participant.purpose,
                "userId": participant.user_id,
                "externalContactId": participant.external_contact_id,
                "mediaType": session.media_type,
                "direction": session.direction,
                "ani": session.ani,
                "dnis": session.dnis,
                "addressFrom": session.address_from,
                "addressTo": session.address_to,
                "remote": session.remote,
                "callbackNumber": list(session.callback_numbers),
                "messageType": session.message_type,
                "provider": session.provider,
                "recording": session.recording,
            }
            for segment in session.segments:
                yield {
                    **base,
                    "segmentType": segment.segment_type,
                    "queueId": segment.queue_id,
                    "disconnectType": segment.disconnect_type,
                    "segmentEnd": segment.end.isoformat() if segment.end else None,
                }


# ---- interval semantics ---------------------------------------------------------------------------
def started_on_touched_day(conversation: Conversation, start: datetime, end: datetime) -> bool:
    """Query semantics: the conversation started on a (UTC) day the interval touches."""
    first_day = start.date()
    last_instant = end - timedelta(microseconds=1)
    return first_day <= conversation.start.date() <= last_instant.date()


def active_during(conversation: Conversation, start: datetime, end: datetime) -> bool:
    """Job semantics: the conversation's lifetime overlaps the interval."""
    return conversation.start < end and (conversation.end is None or conversation.end >= start)


def sort_key(order_by: str) -> Callable[[Conversation], Any]:
    if order_by in ("conversationEnd", "segmentEnd"):
        return lambda c: (c.end or datetime.max.replace(tzinfo=c.start.tzinfo), c.id)
    return lambda c: (c.start, c.id)

"""Candidate pre-selection for analytics filters: use the org's value index to avoid evaluating every
conversation when a segment filter pins down the identifiers it is after (the usual erasure search)."""

from __future__ import annotations

from typing import Any

from genesys_sandbox.filters import EMAIL_DIMENSIONS, ParsedQuery
from genesys_sandbox.identity import normalize_name
from genesys_sandbox.model import Conversation
from genesys_sandbox.org import Org, index_key

_INDEXED = {
    "ani",
    "dnis",
    "addressFrom",
    "addressTo",
    "remote",
    "callbackNumber",
    "participantName",
    "externalContactId",
    "userId",
}


def candidate_keys(query: ParsedQuery, *, job: bool, org: Org) -> set[str] | None:
    """Index keys that every matching conversation must hold one of, or None when the filters do not
    pin one down (then every conversation in the interval is evaluated). Only a shortcut: the exact
    evaluation still runs on the candidates."""
    best: set[str] | None = None
    for segment_filter in query.segment_filters:
        keys = _filter_keys(segment_filter, job, org)
        if keys is not None and (best is None or len(keys) < len(best)):
            best = keys
    return best


def _filter_keys(item: dict[str, Any], job: bool, org: Org) -> set[str] | None:
    parts: list[set[str] | None] = []
    for predicate in item.get("predicates") or []:
        dimension = predicate.get("dimension")
        usable = (
            predicate.get("type", "dimension") == "dimension"
            and predicate.get("operator", "matches") == "matches"
            and dimension in _INDEXED
        )
        if not usable:
            parts.append(None)
            continue
        value = predicate["value"]
        if job and dimension in EMAIL_DIMENSIONS:
            # jobs match partial addresses: every indexed address containing the text is a candidate
            parts.append(org.index_keys_containing(value.lower()))
        elif dimension == "externalContactId":
            parts.append({"ec:" + value})
        elif dimension == "userId":
            parts.append({"user:" + value})
        elif dimension == "participantName":
            parts.append({"name:" + normalize_name(value)})
        else:
            parts.append({index_key(value)})
    parts += [_filter_keys(clause, job, org) for clause in item.get("clauses") or []]
    if item["type"] == "or":
        if not parts or any(p is None for p in parts):
            return None
        return set().union(*parts)  # type: ignore[arg-type]
    pinned = [p for p in parts if p is not None]
    return min(pinned, key=len) if pinned else None


def candidate_conversations(org: Org, query: ParsedQuery, *, job: bool) -> list[Conversation] | None:
    """The conversations holding one of the pinned index keys (oldest first), or None if not pinned."""
    keys = candidate_keys(query, job=job, org=org)
    if keys is None:
        return None
    with org.lock:
        ids: set[str] = set()
        for key in keys:
            ids |= org.conversation_ids_with(key)
        return sorted((org.conversations[i] for i in ids), key=lambda c: (c.start, c.id))

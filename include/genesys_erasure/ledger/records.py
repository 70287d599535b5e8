"""Values going into and coming out of the erasure ledger. None of them can hold a raw identifier:
raw values enter only through `SubjectPlan.build`, which hashes and seals them on the spot.

The sealed token may also carry the identifiers' raw stored forms (`tel:+44…`, a national number, an
e-mail header with its display name), which the GDPR request must name for a delete that matches whole
values: `seal_subject` / `unseal_raw_forms`; and, of those forms, the headers listing somebody else's
address too that the run decided may be named (every address in them is erased in its submission):
`unseal_shared_named`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from genesys_cloud.vocabulary import GdprRequestType
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger.states import FINAL_STATES, SubjectSource, SubjectState
from genesys_erasure.sealing import IdentifierSealer, SealError

GDPR_DELETE = GdprRequestType.GDPR_DELETE
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _check_hash(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{what}: expected a 64-character lower-case hex keyed hash")
    return value


def derive_subject_hash(identifiers: Iterable[Identifier], hasher: KeyedHasher) -> str:
    """The default subject key: a keyed hash over the sorted set of the subject's identifiers.

    Callers with a stable subject key of their own (a DSR ticket's subject, a CRM id) pass `subject_hash`
    to `SubjectPlan.build` instead; this default changes when an identifier is added to the subject.
    """
    unique = sorted(set(identifiers))
    if not unique:
        raise ValueError("identifiers: a subject needs at least one identifier")
    return hasher.hash_text("subject\n" + "\n".join(f"{i.kind.value}:{i.value}" for i in unique))


def seal_subject(
    sealer: IdentifierSealer,
    identifiers: Iterable[Identifier],
    raw_forms: Mapping[Identifier, Iterable[str]] | None = None,
    shared_named: Iterable[str] = (),
    replacement: str | None = None,
    attribute_conversation_ids: Iterable[str] | None = None,
) -> str:
    """One token for the subject's identifiers and, when there are any, their raw stored forms, the
    shared forms its request may name, the replacement text a pseudonymisation writes over them and the
    conversations whose participant attributes may hold a value (`attr`; absent = not known).

    The extras ride in the same payload as the identifiers under the keys `raw`, `shared` and `rep`, which
    `IdentifierSealer.unseal` ignores, so every reader of the identifiers is unchanged and the extras are
    wiped with the token when the subject reaches a final state. `shared_named`: the forms listing
    somebody else's address as well that this subject's request may name. The replacement is sealed
    rather than taken from the submitting run's Params: a subject carried into another run (deferred,
    then submitted by the nightly purge) must still get the text its analyst chose, and free text may
    name somebody. (This belongs in sealing.py; it is here only because that module has another owner.)"""
    unique = sorted(set(identifiers))
    forms = sorted(
        [i.kind.value, i.value, sorted(set(raw_forms[i]))]
        for i in unique
        if raw_forms and raw_forms.get(i) and set(raw_forms[i]) - {i.value}
    )
    shared = sorted(set(shared_named))
    if not forms and not shared and replacement is None and attribute_conversation_ids is None:
        return sealer.seal(unique)
    payload: dict[str, Any] = {"v": 1, "ids": [[i.kind.value, i.value] for i in unique], "raw": forms}
    if shared:
        payload["shared"] = shared
    if replacement is not None:
        payload["rep"] = replacement
    if attribute_conversation_ids is not None:
        payload["attr"] = sorted(set(attribute_conversation_ids))
    plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return sealer.cipher.encrypt(plaintext).decode("ascii")


def unseal_raw_forms(sealer: IdentifierSealer, token: str) -> dict[Identifier, tuple[str, ...]]:
    """The raw stored forms sealed with the identifiers (none for a token sealed without them)."""
    payload = _open(sealer, token)
    return {
        Identifier(IdentifierKind(kind), value): tuple(forms) for kind, value, forms in payload.get("raw", ())
    }


def unseal_shared_named(sealer: IdentifierSealer, token: str) -> frozenset[str]:
    """The raw forms listing somebody else's address too that the subject's request may name (none for a
    token sealed without them)."""
    return frozenset(_open(sealer, token).get("shared", ()))


def unseal_replacement(sealer: IdentifierSealer, token: str) -> str | None:
    """The replacement text sealed with the identifiers (None: the subject was planned without one)."""
    return _open(sealer, token).get("rep")


def unseal_attribute_conversations(sealer: IdentifierSealer, token: str) -> frozenset[str] | None:
    """The conversations sealed as those whose attributes may hold a value; None when not known (a token
    sealed without them: an ad-hoc subject, or one planned before they were recorded)."""
    attr = _open(sealer, token).get("attr")
    return frozenset(attr) if isinstance(attr, list) else None


def _open(sealer: IdentifierSealer, token: str) -> dict[str, Any]:
    sealer.unseal(token)  # the same checks (key, integrity, version) and the same SealError
    try:
        return json.loads(sealer.cipher.decrypt(token.encode("ascii")))
    except Exception as exc:  # unreachable after unseal succeeded; kept so no token content escapes
        raise SealError("sealed identifiers could not be opened (wrong key or altered token)") from exc


@dataclass(frozen=True, order=True)
class IdentifierHash:
    kind: IdentifierKind
    identifier_hash: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", IdentifierKind(self.kind))
        _check_hash(self.identifier_hash, "identifier_hash")


@dataclass(frozen=True)
class SubjectPlan:
    """One subject to plan: hashes, the sealed token and bookkeeping; never raw values."""

    subject_hash: str
    identifier_hashes: tuple[IdentifierHash, ...]
    sealed_identifiers: str | None
    source: SubjectSource
    conversation_ids: tuple[str, ...] = ()
    request_type: str = GDPR_DELETE
    ticket: str | None = None
    received_on: date | None = None
    due_date: date | None = None
    warehouse_pending: bool = False
    # The latest contact the scan saw under any of the subject's identifiers (None: not known, e.g. an
    # ad-hoc request). Not stored: `Ledger.plan` compares it with an earlier erasure, since a contact
    # after that erasure is a returning customer whose new data must be erased in its turn.
    last_contact: datetime | None = None

    def __post_init__(self) -> None:
        _check_hash(self.subject_hash, "subject_hash")
        hashes = tuple(sorted(set(self.identifier_hashes)))
        if not hashes:
            raise ValueError("identifier_hashes: a subject needs at least one identifier")
        object.__setattr__(self, "identifier_hashes", hashes)
        object.__setattr__(self, "source", SubjectSource(self.source))
        object.__setattr__(self, "conversation_ids", tuple(dict.fromkeys(self.conversation_ids)))
        for index, conversation_id in enumerate(self.conversation_ids):
            if not isinstance(conversation_id, str) or not conversation_id:
                raise ValueError(f"conversation_ids[{index}]: expected a non-empty string id")
        if self.ticket is not None and len(self.ticket) > 200:
            raise ValueError("ticket: longer than 200 characters")
        for name in ("received_on", "due_date"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise ValueError(f"{name}: expected a date (not a datetime)")

    @classmethod
    def build(
        cls,
        identifiers: Iterable[Identifier],
        *,
        hasher: KeyedHasher,
        sealer: IdentifierSealer,
        source: SubjectSource | str,
        subject_hash: str | None = None,
        conversation_ids: Iterable[str] = (),
        ticket: str | None = None,
        received_on: date | None = None,
        due_date: date | None = None,
        warehouse_pending: bool = False,
        request_type: str = GDPR_DELETE,
        raw_forms: Mapping[Identifier, Iterable[str]] | None = None,
        last_contact: datetime | None = None,
        replacement: str | None = None,
        attribute_conversation_ids: Iterable[str] | None = None,
    ) -> SubjectPlan:
        unique = sorted(set(identifiers))
        if not unique:
            raise ValueError("identifiers: a subject needs at least one identifier")
        return cls(
            subject_hash=subject_hash or derive_subject_hash(unique, hasher),
            identifier_hashes=tuple(IdentifierHash(i.kind, hasher.hash_identifier(i)) for i in unique),
            sealed_identifiers=seal_subject(
                sealer,
                unique,
                raw_forms,
                replacement=replacement,
                attribute_conversation_ids=attribute_conversation_ids,
            ),
            source=SubjectSource(source),
            conversation_ids=tuple(conversation_ids),
            request_type=request_type,
            ticket=ticket,
            received_on=received_on,
            due_date=due_date,
            warehouse_pending=warehouse_pending,
            last_contact=last_contact,
        )


@dataclass(frozen=True)
class LedgerRow:
    """A subject as the ledger holds it. The sealed token itself is not carried here (see
    `Ledger.sealed_identifiers`), so a row can go to logs, XCom and reports as it is."""

    subject_hash: str
    state: SubjectState
    previous_state: SubjectState | None
    source: SubjectSource
    request_type: str
    request_ids: tuple[str, ...]
    last_request_id: str | None
    last_genesys_status: str | None
    attempts: int
    run_id: str
    first_seen_run_id: str
    created_at: datetime
    updated_at: datetime
    submitting_at: datetime | None
    submitted_at: datetime | None
    completed_at: datetime | None
    final_at: datetime | None
    reason: str | None
    has_sealed_identifiers: bool
    identifier_set: tuple[str, ...]
    identifier_hashes: tuple[IdentifierHash, ...]
    conversation_ids: tuple[str, ...]
    verification: Mapping[str, Any] | None
    exemptions: tuple[Mapping[str, Any], ...]
    ticket: str | None
    received_on: date | None
    due_date: date | None
    warehouse_rows: Mapping[str, Any] | None
    warehouse_pending: bool

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO dates), for XCom, evidence and the analyst look-up."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, date | datetime):
                value = value.isoformat()
            elif name == "identifier_hashes":
                value = [{"kind": h.kind.value, "hash": h.identifier_hash} for h in value]
            elif isinstance(value, tuple):
                value = [dict(v) if isinstance(v, Mapping) else v for v in value]
            elif isinstance(value, SubjectState | SubjectSource):
                value = value.value
            elif isinstance(value, Mapping):
                value = dict(value)
            out[name] = value
        return out


@dataclass(frozen=True)
class SkippedSubject:
    """A subject not planned because it was already erased (verified) by an earlier run."""

    subject_hash: str
    erased_by_run_id: str
    completed_at: datetime | None
    verified_at: datetime | None


@dataclass(frozen=True)
class PlanOutcome:
    planned: tuple[str, ...] = ()
    # back on its path after being overdue: its request is still running or awaits verification
    resumed: tuple[str, ...] = ()
    skipped_verified: tuple[SkippedSubject, ...] = ()
    # a request may be in flight (submitting/submitted/completed): left alone, never planned twice
    in_progress: tuple[str, ...] = ()
    # dry run only: real rows are never touched by a dry run
    untouched: tuple[str, ...] = ()
    # its erasure attempts are used up: left for a person, never planned (or submitted) again
    needs_review: tuple[str, ...] = ()
    # planned recently by another DAG's run, which may still submit it: left to that run
    planned_by_another_run: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownRequest:
    """A GDPR request Genesys already has, its subject's identifiers hashed by the glue layer."""

    request_id: str
    identifier_hashes: frozenset[str]
    created_at: datetime | None = None

    @classmethod
    def coerce(cls, value: KnownRequest | tuple) -> KnownRequest:
        if isinstance(value, KnownRequest):
            return value
        request_id, hashes, *rest = value
        return cls(str(request_id), frozenset(hashes), rest[0] if rest else None)


@dataclass(frozen=True)
class ReconcileOutcome:
    # (subject_hash, request_id): Genesys had the request; recorded instead of posting again
    recorded: tuple[tuple[str, str], ...] = ()
    # no matching request at Genesys: back to planned, safe to submit
    released: tuple[str, ...] = ()
    # intent younger than the grace period: its run may still be posting; left alone
    left_pending: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

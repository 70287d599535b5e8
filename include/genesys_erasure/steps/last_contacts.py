"""The nightly scan's memory of who had recent contact: keeping the last-contact index
(`ledger.last_contact`) up to date, and asking it.

The index is built once (a backfill: one analytics job over the whole retention window) and then each
night folds only what became available since its watermark, minus `scan_overlap_days` for conversations
that land late, plus the detail queries past the data availability. It is rebuilt when it is empty, when
the run asks for a backfill, when something the stored hashes depend on changed (the fingerprint) or when
the retention window now starts before the first day the index holds completely (a longer retention).

Before anything is written, a contact from before the identifier's recorded erasure is dropped (a stale
analytics lake still shows erased customers with their old values); after the fold, entries of erased
identifiers that no fold wrote since go, and so do entries that left the retention window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from genesys_erasure.derivation import ContactIndex, ContactSummary, Sighting
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier
from genesys_erasure.ledger.last_contact import ContactEntry, IndexState, LastContactIndex
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

# Bump when the derivation changes which identifier (or which day) a conversation yields: the next night
# then rebuilds the index instead of mixing two readings.
INDEX_FORMAT = "1"
_KEY_ID_TEXT = "genesys_erasure.last_contact_index.key_id"

ConversationReader = Callable[[datetime, datetime], Iterable[dict[str, Any]]]


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the day `moment` falls on: the index holds whole days."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def cutoff_day(cutoff: datetime) -> date:
    """The first day whose contacts are recent: the cutoff's own day (rounded towards recent)."""
    return day_start(cutoff).date()


def index_fingerprint(runtime: ErasureRuntime) -> dict[str, str]:
    """What the stored hashes and days depend on, in non-secret form: the hashing key's id (a keyed hash
    of a constant), the phone region national numbers are read in, the own identifiers and exclusions
    never stored (keyed hashes of the sorted lists), and the derivation's format."""
    config, hasher = runtime.config, runtime.hasher
    return {
        "format": INDEX_FORMAT,
        "hashing_key": hasher.hash_text(_KEY_ID_TEXT)[:16],
        "default_phone_region": config.default_phone_region or "none",
        "own_identifiers": _digest(hasher, config.own_identifiers),
        "exclusions": _digest(hasher, config.exclusions),
    }


def _digest(hasher: KeyedHasher, identifiers: Iterable[Identifier]) -> str:
    return hasher.hash_text("\n".join(sorted(hasher.hash_identifier(i) for i in identifiers)))[:16]


def rebuild_reason(
    state: IndexState, fingerprint: dict[str, str], first_day: date, *, backfill: bool
) -> str | None:
    """Why the index must be built from scratch tonight (a log line: names and dates, no values), or
    None when folding the new days is enough."""
    if backfill:
        return "backfill requested"
    if state.watermark is None or state.fingerprint is None:
        return "the index is empty"
    changed = sorted(
        k
        for k in fingerprint.keys() | state.fingerprint.keys()
        if state.fingerprint.get(k) != fingerprint.get(k)
    )
    if changed:
        return "changed since it was built: " + ", ".join(changed)
    if state.complete_from is None or first_day < state.complete_from:
        return (
            f"the retention window starts on {first_day.isoformat()}, before the index's first complete day "
            f"{state.complete_from.isoformat() if state.complete_from else 'unknown'} (a longer retention)"
        )
    return None


@dataclass(frozen=True)
class IndexRefresh:
    """What tonight did to the index (counts and dates only: safe for XCom and logs)."""

    rebuilt: str | None
    fold_start: datetime | None  # where tonight's analytics job started (None: no job needed)
    fold_end: datetime  # the data availability it folded up to
    conversations_read: int
    entries_written: int
    erased_stale_skipped: int  # contacts from before a recorded erasure (a stale lake), not written
    forgotten_erased: int
    pruned: int
    entries: int
    own_numbers_detected: int = 0
    problems: Mapping[str, int] = field(default_factory=dict)  # unreadable values by `field:reason`

    def counts(self) -> dict[str, Any]:
        return {
            "rebuilt": self.rebuilt,
            "fold_start": self.fold_start.isoformat() if self.fold_start else None,
            "fold_end": self.fold_end.isoformat(),
            "conversations_read": self.conversations_read,
            "entries_written": self.entries_written,
            "erased_stale_skipped": self.erased_stale_skipped,
            "forgotten_erased": self.forgotten_erased,
            "pruned": self.pruned,
            "entries": self.entries,
        }


def refresh_last_contacts(
    runtime: ErasureRuntime,
    *,
    cutoff: datetime,
    available_until: datetime,
    now: datetime,
    candidates: ContactIndex,
    read_job: ConversationReader,
    read_recent: ConversationReader,
) -> IndexRefresh:
    """Bring the index up to `now`: rebuild or fold (see the module doc), forget erased identifiers and
    prune what left the retention window. `candidates` (tonight's newly expired window) is folded too:
    its conversations that ended after the cutoff and its own numbers are contacts like any other."""
    config, index = runtime.config, runtime.last_contacts
    first_day = cutoff_day(cutoff)
    state = index.state()
    fingerprint = index_fingerprint(runtime)
    reason = rebuild_reason(state, fingerprint, first_day, backfill=config.backfill)
    window_start = day_start(cutoff)
    if reason is None:
        assert state.watermark is not None
        window_start = max(window_start, state.watermark - timedelta(days=config.scan_overlap_days))
    else:
        log.info("Rebuilding the last-contact index over the whole retention window: %s", reason)
    reader = ContactIndex(
        own_identifiers=config.own_identifiers,
        exclusions=config.exclusions,
        default_region=config.default_phone_region,
        conversation_id_cap=1,
    )
    fold_start = window_start if window_start < available_until else None
    if fold_start is not None:
        reader.add_all(read_job(fold_start, available_until))
    reader.add_all(read_recent(max(available_until, cutoff), now))
    sightings = [
        *reader.sightings(),
        *(s for s in candidates.sightings() if s.active or _day(s) >= first_day),
    ]
    entries, skipped = _without_stale_copies(runtime, sightings)
    own = reader.own_numbers() | candidates.own_numbers()
    entries.update(
        {
            h: ContactEntry(h, now.date(), own_number=True)
            for h in (runtime.hasher.hash_identifier(i) for i in own)
        }
    )
    if reason is None:
        written = index.fold(entries.values(), watermark=available_until, now=now)
    else:
        written = index.rebuild(
            entries.values(),
            fingerprint=fingerprint,
            watermark=available_until,
            complete_from=first_day,
            now=now,
        )
    forgotten = index.forget_erased(runtime.ledger.erased_identifier_hashes)
    pruned = index.prune(first_day)
    refresh = IndexRefresh(
        rebuilt=reason,
        fold_start=fold_start,
        fold_end=available_until,
        conversations_read=reader.conversations_read,
        entries_written=written,
        erased_stale_skipped=skipped,
        forgotten_erased=forgotten,
        pruned=pruned,
        entries=index.count(),
        own_numbers_detected=len(own),
        problems=reader.problems,
    )
    return refresh


def _day(sighting: Sighting) -> date:
    return sighting.last_contact.date() if sighting.last_contact else date.max


def _without_stale_copies(
    runtime: ErasureRuntime, sightings: Iterable[Sighting]
) -> tuple[dict[str, ContactEntry], int]:
    """The entries to write, merged per identifier hash (the later day; active, direct if any sighting
    was), without contacts at or before the identifier's recorded erasure: the lake's stale copy."""
    by_hash: dict[str, Sighting] = {}
    for sighting in sightings:
        h = runtime.hasher.hash_identifier(sighting.identifier)
        seen = by_hash.get(h)
        by_hash[h] = sighting if seen is None else _merged(seen, sighting)
    erased = runtime.ledger.erased_identifier_hashes(by_hash) if by_hash else {}
    entries, skipped = {}, 0
    for h, sighting in by_hash.items():
        at = erased.get(h)
        if at is not None and (sighting.last_contact is None or sighting.last_contact <= at):
            skipped += 1
            continue
        entries[h] = ContactEntry(h, _day(sighting), sighting.active, sighting.direct)
    return entries, skipped


def _merged(a: Sighting, b: Sighting) -> Sighting:
    last = max((x for x in (a.last_contact, b.last_contact) if x is not None), default=None)
    return Sighting(a.identifier, last, a.active or b.active, a.direct or b.direct)


@dataclass(frozen=True)
class Decided:
    """Tonight's candidates after asking the index: those still expired or stalled, and how many the
    index showed to be recent customers or own numbers."""

    expired: list[ContactSummary]
    stalled: list[ContactSummary]
    recent: int
    own_numbers: int
    not_indexed: int  # candidates the index holds nothing about (counted as customers seen)


def decide_candidates(
    runtime: ErasureRuntime, expired: list[ContactSummary], stalled: list[ContactSummary], cutoff: datetime
) -> Decided:
    """A candidate the index shows with a contact on or after the cutoff's day is recent, not expired;
    one the index knows as an own number is never a customer."""
    hasher = runtime.hasher
    hashes = {hasher.hash_identifier(s.identifier): s for s in (*expired, *stalled)}
    known = runtime.last_contacts.lookup(hashes)
    first_day = cutoff_day(cutoff)
    own = {h for h, entry in known.items() if entry.own_number}
    recent = {h for h, entry in known.items() if not entry.own_number and entry.last_contact_day >= first_day}
    dropped = own | recent

    def kept(summaries: list[ContactSummary]) -> list[ContactSummary]:
        return [s for s in summaries if hasher.hash_identifier(s.identifier) not in dropped]

    return Decided(kept(expired), kept(stalled), len(recent), len(own), len(hashes.keys() - known.keys()))


class RecentContacts(Collection[Identifier]):
    """`identifier in recent` against the last-contact index: customers with a contact on or after the
    cutoff's day. Only membership (the identifiers themselves are not known); `members_of` answers many
    at once in a few queries, which identity resolution uses."""

    def __init__(self, index: LastContactIndex, hasher: KeyedHasher, cutoff: datetime) -> None:
        self._index = index
        self._hasher = hasher
        self._first_day = cutoff_day(cutoff)

    def __repr__(self) -> str:
        return f"RecentContacts(from {self._first_day.isoformat()})"

    def members_of(self, identifiers: Iterable[Identifier]) -> frozenset[Identifier]:
        by_hash = {self._hasher.hash_identifier(i): i for i in identifiers}
        found = self._index.recent_among(by_hash, self._first_day)
        return frozenset(by_hash[h] for h in found)

    def hashes_among(self, identifier_hashes: Iterable[str]) -> frozenset[str]:
        """Of these identifier keyed hashes (a ledger row's), the recent ones."""
        return self._index.recent_among(identifier_hashes, self._first_day)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Identifier) and bool(self.members_of([item]))

    def __iter__(self) -> Iterator[Identifier]:
        return iter(())  # membership only

    def __len__(self) -> int:
        return self._index.count(self._first_day)

"""Identity resolution: from the identifiers of expired customers to the subjects to erase.

One person shows up under several identifiers (a mobile, a landline, two e-mail addresses, an external
contact). Starting from seed identifiers, `resolve_subjects` asks a `SubjectDirectory` (GET
/api/v2/gdpr/subjects and the external-contact search, on the Airflow side) what each identifier is linked
to, follows those links a bounded number of hops, and merges everything connected into one `Subject` with
a union-find.

Four rules keep this from erasing the wrong people:
* a record is linked only if it holds the identifier that was looked up: the external-contact search is
  free text with unknown tokenisation (`anna.berg@example.com` may match every Anna, or the whole domain),
  so the other hits are strangers, counted as `unrelated_records` and otherwise ignored;
* an identifier whose lookup is incomplete (the search answered with `partialResults`, or matched more
  than it can page through) has unknown links: it is quarantined, never followed or erased;
* an identifier that links into implausibly many records (a switchboard, a shared family number) is
  quarantined: not followed, not merged, not erased;
* a subject connected to any recently seen identifier is held (`recent_contact`): the person is still a
  customer under another identifier;
* a subject holding a user id is held (`staff`): an agent's data is never erased by the nightly customer
  purge, and a customer linked to an agent waits for a human (an ad-hoc request erases it only when it
  names every such user id itself, `steps.plan.resolve`).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol

from genesys_erasure.guards import QuarantinedIdentifier, QuarantineReason, quarantine
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind, InvalidIdentifier, parse_identifier

DEFAULT_MAX_DEPTH = 2
DEFAULT_MAX_LINKS_PER_IDENTIFIER = 5
DEFAULT_MAX_RECORDS_PER_LOOKUP = 50
# Records read from one lookup, related or not, before it counts as incomplete: the API's search pages
# through 1,000 matches at most, so a directory yielding more is not one we can read to the end.
MAX_RECORDS_READ_PER_LOOKUP = 2000


class LinkSource(StrEnum):
    GDPR_SUBJECT = "gdpr_subject"
    EXTERNAL_CONTACT = "external_contact"
    USER = "user"  # a user of the org (staff), from the users listing


@dataclass(frozen=True)
class LinkedRecord:
    """One thing the directory knows about an identifier: a GDPR subject search hit or an external
    contact, with its raw e-mail addresses and phone numbers (normalised here)."""

    source: LinkSource
    external_contact_id: str | None = None
    user_id: str | None = None
    emails: tuple[str, ...] = field(default=(), repr=False)
    phones: tuple[str, ...] = field(default=(), repr=False)


class IncompleteLookup(Exception):
    """Raised by a `SubjectDirectory` that cannot tell everything linked to an identifier (a search that
    answered `partialResults`, or matched more than it pages through). The message holds counts only."""

    def __init__(self, returned: int, matched: int | None = None) -> None:
        super().__init__(f"the search returned {returned} of {matched if matched is not None else 'more'}")
        self.returned = returned
        self.matched = matched


class SubjectDirectory(Protocol):
    def find_linked(self, identifier: Identifier) -> Iterable[LinkedRecord]:
        """The records linked to `identifier` (a finite iterable); raises `IncompleteLookup` when the
        directory knows its answer is not all of them."""
        ...


@dataclass(frozen=True)
class Subject:
    """One person to erase (or hold). `key` is a keyed hash of the smallest identifier, so it is stable
    across runs as long as the person's identifiers are, and it reveals nothing."""

    key: str
    identifiers: frozenset[Identifier]
    link_count: int

    def _values(self, kind: IdentifierKind) -> tuple[str, ...]:
        return tuple(sorted(i.value for i in self.identifiers if i.kind is kind))

    @property
    def emails(self) -> tuple[str, ...]:
        return self._values(IdentifierKind.EMAIL)

    @property
    def phones(self) -> tuple[str, ...]:
        return self._values(IdentifierKind.PHONE)

    @property
    def external_contact_ids(self) -> tuple[str, ...]:
        return self._values(IdentifierKind.EXTERNAL_CONTACT)

    @property
    def user_ids(self) -> tuple[str, ...]:
        return self._values(IdentifierKind.USER)


class HoldReason(StrEnum):
    STAFF = "staff"
    RECENT_CONTACT = "recent_contact"


@dataclass(frozen=True)
class HeldSubject:
    subject: Subject
    reason: HoldReason


@dataclass(frozen=True)
class Resolution:
    to_purge: tuple[Subject, ...]
    held: tuple[HeldSubject, ...]
    quarantined: tuple[QuarantinedIdentifier, ...]
    lookups: int
    unexpanded_at_depth_limit: int
    invalid_values: Mapping[str, int]
    unrelated_records: int = 0  # search hits that did not hold the looked-up identifier: not linked
    incomplete_lookups: int = 0  # identifiers quarantined because their lookup was incomplete

    def held_for(self, reason: HoldReason) -> tuple[Subject, ...]:
        return tuple(h.subject for h in self.held if h.reason is reason)


def resolve_subjects(
    seeds: Iterable[Identifier],
    directory: SubjectDirectory,
    *,
    hasher: KeyedHasher | Callable[[Identifier], str],
    recent: Collection[Identifier] = frozenset(),
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_links_per_identifier: int = DEFAULT_MAX_LINKS_PER_IDENTIFIER,
    max_records_per_lookup: int = DEFAULT_MAX_RECORDS_PER_LOOKUP,
    default_region: str | None = None,
    excluded: Collection[Identifier] = frozenset(),
) -> Resolution:
    """Merge `seeds` and everything linked to them (up to `max_depth` lookups away) into subjects.

    `excluded` identifiers (quarantined earlier, the org's own numbers, configured exclusions) reached
    through a directory record are never looked up, merged or erased (seeds themselves are not excluded).

    Only records holding the looked-up identifier are linked, staff records included; the others are
    counted in `unrelated_records`. An identifier whose lookup yields
    more than `max_links_per_identifier` distinct linked records (or more than `max_records_per_lookup`
    linked records at all), or whose lookup is incomplete, is quarantined. Seeds are looked up at depth 0;
    identifiers found at `max_depth` join their subject but are not looked up themselves."""
    if max_depth < 0 or max_links_per_identifier < 1 or max_records_per_lookup < max_links_per_identifier:
        raise ValueError("need max_depth >= 0 and 1 <= max_links_per_identifier <= max_records_per_lookup")
    hash_identifier = hasher.hash_identifier if isinstance(hasher, KeyedHasher) else hasher
    seed_set = set(seeds)
    invalid: Counter[str] = Counter()
    over_linked: dict[Identifier, int] = {}
    incomplete: list[QuarantinedIdentifier] = []
    links: list[_Link] = []
    lookups = unexpanded = unrelated = 0

    excluded = frozenset(excluded) - seed_set
    visited = seed_set | excluded
    frontier = deque((seed, 0) for seed in sorted(seed_set))
    while frontier:
        identifier, depth = frontier.popleft()
        if identifier.kind is IdentifierKind.USER:
            continue  # never explore an agent's world
        if depth >= max_depth:
            unexpanded += 1
            continue
        lookups += 1
        try:
            records, found, strangers = _related_records(
                directory.find_linked(identifier), identifier, default_region, invalid, max_records_per_lookup
            )
        except IncompleteLookup as lookup:
            # incomplete means more matched than came back, whatever total the answer claims
            matched = max(lookup.matched or 0, lookup.returned + 1)
            reason = QuarantineReason.INCOMPLETE_SEARCH
            incomplete.append(QuarantinedIdentifier(identifier, reason, matched, lookup.returned))
            continue
        unrelated += strangers
        distinct = len({link_key for link_key, _ in found})
        if distinct > max_links_per_identifier or len(records) > max_records_per_lookup:
            over_linked[identifier] = max(distinct, len(records))
            continue
        for record, (link_key, members) in zip(records, found, strict=True):
            links.append(_Link(identifier, link_key, members))
            if record.user_id:
                continue  # a staff record joins the subject (making it staff) but is not followed
            for member in sorted(members - visited):
                visited.add(member)
                frontier.append((member, depth + 1))

    verdict = quarantine(over_linked, link_counts=over_linked, subject_threshold=max_links_per_identifier)
    quarantined = (*verdict.quarantined, *incomplete)
    subjects = _merge(seed_set, links, {q.identifier for q in quarantined} | excluded, hash_identifier)
    to_purge: list[Subject] = []
    held: list[HeldSubject] = []
    seen_recently = _recent_among(recent, {i for s in subjects if not s.user_ids for i in s.identifiers})
    for subject in subjects:
        if subject.user_ids:
            held.append(HeldSubject(subject, HoldReason.STAFF))
        elif not seen_recently.isdisjoint(subject.identifiers):
            held.append(HeldSubject(subject, HoldReason.RECENT_CONTACT))
        else:
            to_purge.append(subject)
    return Resolution(
        tuple(to_purge),
        tuple(held),
        quarantined,
        lookups,
        unexpanded,
        dict(invalid),
        unrelated_records=unrelated,
        incomplete_lookups=len(incomplete),
    )


def _recent_among(recent: Collection[Identifier], identifiers: set[Identifier]) -> frozenset[Identifier]:
    """Those of `identifiers` in `recent`, asked all at once when `recent` can answer many in one go (the
    last-contact index in the database), else one by one."""
    members_of = getattr(recent, "members_of", None)
    if callable(members_of):
        return frozenset(members_of(identifiers))
    return frozenset(i for i in identifiers if i in recent)


class _Link(NamedTuple):
    """A directory hit: `queried` led to a record standing for `link_key` and holding `members`."""

    queried: Identifier
    link_key: object
    members: frozenset[Identifier]


def _related_records(
    records: Iterable[LinkedRecord],
    queried: Identifier,
    region: str | None,
    invalid: Counter[str],
    max_records: int,
) -> tuple[list[LinkedRecord], list[tuple[object, frozenset[Identifier]]], int]:
    """The records (at most `max_records + 1`) that hold `queried`, their identifiers, and how many
    others were skipped. A staff record is no exception: linking one does not only hold a subject, an
    ad-hoc erasure may erase staff, so an agent the search returned without the value is a stranger."""
    related: list[LinkedRecord] = []
    found: list[tuple[object, frozenset[Identifier]]] = []
    strangers = 0
    for read, record in enumerate(records, start=1):
        if read > MAX_RECORDS_READ_PER_LOOKUP:
            raise IncompleteLookup(read - 1)
        link_key, members = _record_identifiers(record, region, invalid)
        if queried not in members:
            strangers += 1
            continue
        related.append(record)
        found.append((link_key, members))
        if len(related) > max_records:
            break
    return related, found, strangers


def _record_identifiers(
    record: LinkedRecord, region: str | None, invalid: Counter[str]
) -> tuple[object, frozenset[Identifier]]:
    """The record's normalised identifiers, and a key saying which subject it stands for: a GDPR hit and
    the external contact it names are one link, not two."""
    source = LinkSource(record.source)
    members: set[Identifier] = set()
    raw_values = [
        (IdentifierKind.EXTERNAL_CONTACT, [record.external_contact_id] if record.external_contact_id else []),
        (IdentifierKind.USER, [record.user_id] if record.user_id else []),
        (IdentifierKind.EMAIL, record.emails),
        (IdentifierKind.PHONE, record.phones),
    ]
    for kind, values in raw_values:
        for raw in values:
            try:
                members.add(parse_identifier(kind, raw, region))
            except InvalidIdentifier as error:
                invalid[f"{source.value}.{kind.value}:{error.reason}"] += 1
    if record.external_contact_id:
        link_key: object = ("external_contact", record.external_contact_id)
    elif record.user_id:
        link_key = ("user", record.user_id)
    else:
        link_key = (source.value, frozenset(members))
    return link_key, frozenset(members)


def _merge(
    seeds: set[Identifier],
    links: list[_Link],
    excluded: set[Identifier],
    hash_identifier: Callable[[Identifier], str],
) -> list[Subject]:
    parent: dict[Identifier, Identifier] = {}

    def find(node: Identifier) -> Identifier:
        parent.setdefault(node, node)
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def union(a: Identifier, b: Identifier) -> None:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)

    for seed in seeds - excluded:
        find(seed)
    for link in links:
        for member in sorted(link.members - excluded):
            union(link.queried, member)

    components: dict[Identifier, set[Identifier]] = {}
    for node in list(parent):
        components.setdefault(find(node), set()).add(node)
    link_keys: dict[Identifier, set[object]] = {}
    for link in links:
        link_keys.setdefault(find(link.queried), set()).add(link.link_key)

    subjects = [
        Subject(hash_identifier(min(members)), frozenset(members), len(link_keys.get(root, ())))
        for root, members in components.items()
        if members & seeds
    ]
    return sorted(subjects, key=lambda subject: subject.key)

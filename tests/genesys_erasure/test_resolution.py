from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import pytest

from genesys_erasure.guards import QuarantineReason
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.resolution import (
    HoldReason,
    IncompleteLookup,
    LinkedRecord,
    LinkSource,
    resolve_subjects,
)

HASHER = KeyedHasher(b"test-key-0123456789abcdef")

MOBILE = Identifier(IdentifierKind.PHONE, "+447700900123")
LANDLINE = Identifier(IdentifierKind.PHONE, "+442079460123")
HOME_MAIL = Identifier(IdentifierKind.EMAIL, "jane.doe@example.com")
WORK_MAIL = Identifier(IdentifierKind.EMAIL, "j.doe@example.org")
CONTACT_ID = "5b6e1c2a-1111-4222-8333-444455556666"
CONTACT = Identifier(IdentifierKind.EXTERNAL_CONTACT, CONTACT_ID)
OTHER_MOBILE = Identifier(IdentifierKind.PHONE, "+447700900999")
AGENT_ID = "6b1f2c5e-1a7d-4d5e-9c3b-2f8e9a0b1c2d"


class FakeDirectory:
    """In-memory stand-in for the GDPR subject search and external-contact search."""

    def __init__(self, links: dict[Identifier, Iterable[LinkedRecord]] | None = None) -> None:
        self.links = links or {}
        self.looked_up: list[Identifier] = []

    def find_linked(self, identifier: Identifier) -> Iterable[LinkedRecord]:
        self.looked_up.append(identifier)
        return self.links.get(identifier, ())


def contact(*, contact_id=CONTACT_ID, emails=(), phones=()) -> LinkedRecord:
    return LinkedRecord(
        LinkSource.EXTERNAL_CONTACT, external_contact_id=contact_id, emails=emails, phones=phones
    )


def gdpr_hit(*, emails=(), phones=(), contact_id=None, user_id=None) -> LinkedRecord:
    return LinkedRecord(
        LinkSource.GDPR_SUBJECT, external_contact_id=contact_id, user_id=user_id, emails=emails, phones=phones
    )


def test_fragmented_identity_merges_into_one_subject():
    directory = FakeDirectory(
        {
            MOBILE: [contact(emails=("Jane.Doe@Example.com",), phones=("+44 7700 900123", "020 7946 0123"))],
            HOME_MAIL: [gdpr_hit(emails=("jane.doe@example.com", "J.Doe@example.org"))],
        }
    )
    result = resolve_subjects([MOBILE], directory, hasher=HASHER, default_region="GB")
    (subject,) = result.to_purge
    assert subject.identifiers == {MOBILE, LANDLINE, HOME_MAIL, WORK_MAIL, CONTACT}
    assert subject.external_contact_ids == (CONTACT_ID,)
    assert subject.link_count == 2


def test_two_expired_identifiers_of_one_person_yield_one_subject():
    record = contact(emails=("jane.doe@example.com",), phones=("+447700900123",))
    directory = FakeDirectory({MOBILE: [record], HOME_MAIL: [record]})
    result = resolve_subjects([MOBILE, HOME_MAIL], directory, hasher=HASHER)
    assert len(result.to_purge) == 1


def test_unrelated_customers_stay_separate_subjects():
    result = resolve_subjects([MOBILE, OTHER_MOBILE], FakeDirectory(), hasher=HASHER)
    assert {s.identifiers for s in result.to_purge} == {frozenset({MOBILE}), frozenset({OTHER_MOBILE})}


def test_subject_linked_to_recent_identifier_is_not_purged():
    directory = FakeDirectory({MOBILE: [contact(emails=("jane.doe@example.com",), phones=(MOBILE.value,))]})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER, recent={HOME_MAIL})
    assert result.to_purge == ()
    (held,) = result.held
    assert held.reason is HoldReason.RECENT_CONTACT
    assert MOBILE in held.subject.identifiers


def test_resolution_depth_is_bounded():
    chain = [Identifier(IdentifierKind.EMAIL, f"hop{n}@example.com") for n in range(5)]
    directory = FakeDirectory(
        {chain[n]: [gdpr_hit(emails=(chain[n].value, chain[n + 1].value))] for n in range(4)}
    )
    result = resolve_subjects([chain[0]], directory, hasher=HASHER, max_depth=2)
    (subject,) = result.to_purge
    assert subject.identifiers == set(chain[:3])
    assert directory.looked_up == chain[:2]
    assert result.unexpanded_at_depth_limit == 1


def test_recent_identifier_beyond_the_depth_limit_is_not_seen():
    # The flip side of the bound, documented: links further away than max_depth cannot hold a subject.
    far = Identifier(IdentifierKind.EMAIL, "far@example.com")
    directory = FakeDirectory(
        {
            MOBILE: [gdpr_hit(phones=(MOBILE.value,), emails=(HOME_MAIL.value,))],
            HOME_MAIL: [gdpr_hit(emails=(HOME_MAIL.value, far.value))],
        }
    )
    assert resolve_subjects([MOBILE], directory, hasher=HASHER, recent={far}, max_depth=1).to_purge
    assert not resolve_subjects([MOBILE], directory, hasher=HASHER, recent={far}, max_depth=2).to_purge


def test_subject_holding_a_user_id_is_held_as_staff():
    agent = gdpr_hit(user_id=AGENT_ID, emails=("sam.agent@acme.example",), phones=(MOBILE.value,))
    directory = FakeDirectory({MOBILE: [agent]})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER)
    assert result.to_purge == ()
    (staff,) = result.held_for(HoldReason.STAFF)
    assert staff.user_ids == (AGENT_ID,)


def test_staff_record_is_not_followed_into_the_agents_links():
    agent_mail = Identifier(IdentifierKind.EMAIL, "sam.agent@acme.example")
    directory = FakeDirectory(
        {
            MOBILE: [gdpr_hit(user_id=AGENT_ID, emails=(agent_mail.value,), phones=(MOBILE.value,))],
            agent_mail: [contact(contact_id="other", emails=(agent_mail.value,), phones=("+447700900555",))],
        }
    )
    resolve_subjects([MOBILE], directory, hasher=HASHER, max_depth=3)
    assert directory.looked_up == [MOBILE]


def test_staff_search_hit_not_holding_the_looked_up_value_is_not_merged():
    # a search for a customer's address that also returns an agent (free-text match on the domain or
    # name): the agent is a stranger, not part of the customer's subject
    agent = gdpr_hit(user_id=AGENT_ID, emails=("sam.agent@example.com",), phones=("+447700900555",))
    directory = FakeDirectory({HOME_MAIL: [gdpr_hit(emails=(HOME_MAIL.value,)), agent]})
    result = resolve_subjects([HOME_MAIL], directory, hasher=HASHER)
    (subject,) = result.to_purge
    assert subject.identifiers == {HOME_MAIL}
    assert result.held == ()
    assert result.unrelated_records == 1


def test_identifier_linked_into_too_many_subjects_is_quarantined_not_merged():
    office = Identifier(IdentifierKind.PHONE, "+442079460000")
    colleagues = [contact(contact_id=f"colleague-{n}", phones=(office.value,)) for n in range(6)]
    directory = FakeDirectory({MOBILE: [contact(phones=(MOBILE.value, office.value))], office: colleagues})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER, max_links_per_identifier=5)
    (subject,) = result.to_purge
    assert subject.identifiers == {MOBILE, CONTACT}
    (held,) = result.quarantined
    assert (held.identifier, held.reason, held.observed) == (
        office,
        QuarantineReason.TOO_MANY_LINKED_SUBJECTS,
        6,
    )


def test_quarantined_seed_yields_no_subject():
    directory = FakeDirectory(
        {MOBILE: [contact(contact_id=f"c{n}", phones=(MOBILE.value,)) for n in range(9)]}
    )
    result = resolve_subjects([MOBILE], directory, hasher=HASHER)
    assert (result.to_purge, result.held) == ((), ())
    assert result.quarantined[0].identifier == MOBILE


def test_gdpr_hit_and_its_external_contact_are_one_link():
    directory = FakeDirectory({MOBILE: [gdpr_hit(contact_id=CONTACT_ID, phones=(MOBILE.value,)), contact()]})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER, max_links_per_identifier=1)
    (subject,) = result.to_purge
    assert subject.link_count == 1


def test_directory_is_read_no_further_than_the_fan_out_bound():
    def endless() -> Iterator[LinkedRecord]:
        for n in itertools.count():
            yield contact(contact_id="same", phones=(MOBILE.value, f"+4477009{n:05d}"))

    directory = FakeDirectory({MOBILE: endless()})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER, max_records_per_lookup=20)
    assert result.quarantined[0].observed == 21


def test_subject_key_is_the_keyed_hash_of_the_smallest_identifier():
    directory = FakeDirectory({MOBILE: [gdpr_hit(phones=(MOBILE.value,), emails=(HOME_MAIL.value,))]})
    (subject,) = resolve_subjects([MOBILE], directory, hasher=HASHER).to_purge
    assert subject.key == HASHER.hash_identifier(min(MOBILE, HOME_MAIL))


def test_caller_provided_hasher_is_used_for_the_key():
    (subject,) = resolve_subjects([MOBILE], FakeDirectory(), hasher=lambda i: "k-" + i.kind.value).to_purge
    assert subject.key == "k-phone"


def test_invalid_values_in_directory_records_are_counted_not_fatal():
    directory = FakeDirectory({MOBILE: [contact(emails=("not-an-address",), phones=(MOBILE.value, "+4477"))]})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER)
    assert result.invalid_values == {
        "external_contact.email:missing_at_sign": 1,
        "external_contact.phone:too_short": 1,
    }
    assert result.to_purge[0].identifiers == {MOBILE, CONTACT}


def test_subject_repr_does_not_show_personal_data():
    directory = FakeDirectory({MOBILE: [contact(emails=(HOME_MAIL.value,))]})
    result = resolve_subjects([MOBILE], directory, hasher=HASHER)
    assert "jane" not in repr(result) and "7700" not in repr(result)
    assert "jane" not in repr(contact(emails=(HOME_MAIL.value,)))


def test_impossible_bounds_are_refused():
    with pytest.raises(ValueError):
        resolve_subjects(
            [MOBILE], FakeDirectory(), hasher=HASHER, max_links_per_identifier=10, max_records_per_lookup=5
        )


def test_excluded_identifier_named_by_a_seeds_record_is_neither_followed_nor_erased():
    switchboard = Identifier(IdentifierKind.PHONE, "+442079460000")
    directory = FakeDirectory(
        {MOBILE: [contact(phones=(MOBILE.value, switchboard.value))], switchboard: [gdpr_hit(phones=())]}
    )
    result = resolve_subjects([MOBILE], directory, hasher=HASHER, excluded={switchboard})
    (subject,) = result.to_purge
    assert subject.identifiers == {MOBILE, CONTACT}
    assert switchboard not in directory.looked_up


def test_external_contact_seed_is_held_when_a_phone_of_its_contact_had_recent_contact():
    directory = FakeDirectory({CONTACT: [contact(phones=(MOBILE.value,))]})
    result = resolve_subjects([CONTACT], directory, hasher=HASHER, recent={MOBILE})
    assert result.to_purge == ()
    (held,) = result.held_for(HoldReason.RECENT_CONTACT)
    assert held.identifiers == {CONTACT, MOBILE}


def test_search_hit_not_holding_the_looked_up_value_is_not_merged():
    namesake = contact(
        contact_id="namesake", emails=("jane.smith@example.com",), phones=(OTHER_MOBILE.value,)
    )
    directory = FakeDirectory({HOME_MAIL: [contact(emails=(HOME_MAIL.value,)), namesake]})
    result = resolve_subjects([HOME_MAIL], directory, hasher=HASHER)
    (subject,) = result.to_purge
    assert subject.identifiers == {HOME_MAIL, CONTACT}
    assert result.unrelated_records == 1


def test_search_hits_not_holding_the_looked_up_value_do_not_count_towards_quarantine():
    strangers = [contact(contact_id=f"stranger-{n}", emails=(f"jane.{n}@example.com",)) for n in range(9)]
    directory = FakeDirectory({HOME_MAIL: [contact(emails=(HOME_MAIL.value,)), *strangers]})
    result = resolve_subjects([HOME_MAIL], directory, hasher=HASHER, max_links_per_identifier=5)
    assert result.quarantined == ()
    assert [s.identifiers for s in result.to_purge] == [{HOME_MAIL, CONTACT}]


class IncompleteDirectory(FakeDirectory):
    """A directory whose search for some identifiers answered with partial results."""

    def __init__(self, links, incomplete: set[Identifier]) -> None:
        super().__init__(links)
        self.incomplete = incomplete

    def find_linked(self, identifier: Identifier) -> Iterable[LinkedRecord]:
        if identifier in self.incomplete:
            self.looked_up.append(identifier)
            raise IncompleteLookup(returned=3, matched=40)
        return super().find_linked(identifier)


def test_seed_whose_lookup_is_incomplete_is_quarantined_not_erased():
    directory = IncompleteDirectory({}, incomplete={HOME_MAIL})
    result = resolve_subjects([HOME_MAIL], directory, hasher=HASHER)
    assert (result.to_purge, result.held) == ((), ())
    (held,) = result.quarantined
    assert (held.identifier, held.observed, held.threshold) == (HOME_MAIL, 40, 3)
    assert result.incomplete_lookups == 1


def test_identifier_whose_lookup_is_incomplete_is_quarantined_for_an_incomplete_search():
    directory = IncompleteDirectory({}, incomplete={HOME_MAIL})

    (held,) = resolve_subjects([HOME_MAIL], directory, hasher=HASHER).quarantined

    assert held.reason is QuarantineReason.INCOMPLETE_SEARCH


def test_identifier_whose_lookup_is_incomplete_is_neither_followed_nor_merged():
    directory = IncompleteDirectory(
        {MOBILE: [contact(phones=(MOBILE.value,), emails=(HOME_MAIL.value,))]}, incomplete={HOME_MAIL}
    )
    result = resolve_subjects([MOBILE], directory, hasher=HASHER)
    (subject,) = result.to_purge
    assert subject.identifiers == {MOBILE, CONTACT}
    assert [q.identifier for q in result.quarantined] == [HOME_MAIL]


def test_incomplete_lookup_reports_more_matches_than_it_returned_even_when_the_total_says_otherwise():
    class PartialDirectory(FakeDirectory):
        def find_linked(self, identifier):
            raise IncompleteLookup(returned=3, matched=3)

    (held,) = resolve_subjects([HOME_MAIL], PartialDirectory(), hasher=HASHER).quarantined
    assert held.observed > held.threshold == 3

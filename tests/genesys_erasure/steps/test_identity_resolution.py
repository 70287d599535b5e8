"""Identity resolution through the real directory (`GenesysSubjectDirectory` over HTTP against a sandbox
org), and the plan it leads to: what joins a subject, and what holds it."""

from __future__ import annotations

import html
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from genesys_erasure.evidence import load_document
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectSource, SubjectState
from genesys_erasure.ledger.records import derive_subject_hash
from genesys_erasure.resolution import HoldReason, resolve_subjects
from genesys_erasure.steps.directory import GenesysSubjectDirectory
from genesys_erasure.steps.evidence import write_run_evidence
from genesys_erasure.steps.last_contacts import RecentContacts
from genesys_erasure.steps.plan import PlanRequest, Seed, plan_erasure
from genesys_erasure.steps.scan import find_expired_customers, load_scan, parse_instant
from tests.genesys_erasure.steps import conftest
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS

RECENT_PHONE = "+447700900321"


def _returning_caller(world):
    """A customer whose external contact shows on an old call only; the same phone called again lately,
    on a conversation that does not name the contact. Returns the contact id and the phone."""
    org = world.sandbox.org
    person = org.add_customer(phones=[RECENT_PHONE], name="Returning Caller")
    org.add_conversation(
        person,
        media="voice",
        start=world.now - timedelta(days=RETENTION_DAYS + 100),
        show_external_contact=True,
    )
    org.add_conversation(person, media="voice", show_external_contact=False)  # an hour ago
    contact = Identifier(IdentifierKind.EXTERNAL_CONTACT, person.external_contact_id)
    return contact, Identifier(IdentifierKind.PHONE, RECENT_PHONE)


def test_external_contact_seed_joins_the_phones_of_its_contact(world):
    contact, phone = _returning_caller(world)
    directory = GenesysSubjectDirectory(world.runtime.client)

    result = resolve_subjects([contact], directory, hasher=world.runtime.hasher, recent={phone})

    assert result.to_purge == ()
    (held,) = result.held_for(HoldReason.RECENT_CONTACT)
    assert held.identifiers >= {contact, phone}


def test_plan_does_not_submit_an_external_contact_whose_phone_called_recently(world):
    contact, _ = _returning_caller(world)
    find_expired_customers(world.runtime, "plan-run", world.now)
    found = load_scan(world.runtime, "plan-run")
    seeds = [
        Seed(
            Identifier(IdentifierKind(e["kind"]), e["value"]),
            tuple(e["conversation_ids"]),
            e["conversation_count"],
        )
        for e in found["expired"]
    ]
    assert contact in {seed.identifier for seed in seeds}  # the scenario: only the contact id expired
    request = PlanRequest(
        seeds=seeds,
        source=SubjectSource.RETENTION,
        recent=RecentContacts(
            world.runtime.last_contacts, world.runtime.hasher, parse_instant(found["cutoff"])
        ),
    )

    summary = plan_erasure(world.runtime, "plan-run", request, world.now)

    contact_hash = derive_subject_hash([contact], world.runtime.hasher)
    assert contact_hash not in {h for batch in summary["batches"] for h in batch}
    assert summary["held_recent_contact"] >= 1


PARTIAL_ABOVE = 3
# People sharing first names, surnames, mail domains and phone digit groups. Those with `True` are on
# record (an external contact); the others are known to nobody in Genesys (a DSR for someone the org
# never stored), so the GDPR subject search finds nothing and the directory falls back to the free-text
# contact search, whose tokenised hits are all strangers.
CROWD = [
    ("Anna Berg", "anna.berg@north.example", "+447700900123", True),
    ("Anna Lind", "anna.lind@south.example", "+447700900456", True),
    ("Erik Berg", "erik.berg@west.example", "+447911550789", True),
    ("Anna Dahl", "anna.dahl@east.example", "+447911550123", False),
    ("Olle Berg", "olle-berg@north.example", "+447700911456", False),
    ("Erik Lind", "erik_lind@south.example", "+447700923789", False),
]


@pytest.fixture
def tokenised_world(monkeypatch, request):
    """The step world on a sandbox whose contact search is free text and answers partial result sets."""
    pessimistic = replace(
        conftest.TINY_ORG, contact_search="tokenised", contact_search_partial_above=PARTIAL_ABOVE
    )
    monkeypatch.setattr(conftest, "TINY_ORG", pessimistic)
    return request.getfixturevalue("world")


def _people(world):
    """Plant the crowd; returns each person's identifiers (with their contact id, if on record)."""
    people = []
    for name, email, phone, on_record in CROWD:
        identifiers = {Identifier(IdentifierKind.EMAIL, email), Identifier(IdentifierKind.PHONE, phone)}
        if on_record:
            person = world.sandbox.org.add_customer(emails=[email], phones=[phone], name=name)
            identifiers.add(Identifier(IdentifierKind.EXTERNAL_CONTACT, person.external_contact_id))
        people.append(frozenset(identifiers))
    return people


def test_tokenised_contact_search_merges_no_strangers(tokenised_world):
    people = _people(tokenised_world)
    seeds = sorted(i for person in people for i in person if i.kind is not IdentifierKind.EXTERNAL_CONTACT)
    directory = GenesysSubjectDirectory(tokenised_world.runtime.client)

    result = resolve_subjects(seeds, directory, hasher=tokenised_world.runtime.hasher)

    subjects = [*result.to_purge, *(held.subject for held in result.held)]
    wrongful = [s for s in subjects if not any(s.identifiers <= person for person in people)]
    assert wrongful == []
    assert result.unrelated_records > 0  # the search did return strangers: they were left out


def test_plan_quarantines_a_seed_whose_contact_search_is_partial(tokenised_world):
    world = tokenised_world
    for n in range(PARTIAL_ABOVE + 1):  # more contacts sharing the domain than the search answers
        world.sandbox.org.add_customer(emails=[f"member{n}@crowded.example"], name=f"Member Number{n}")
    unknown = Identifier(IdentifierKind.EMAIL, "asker@crowded.example")
    request = PlanRequest(seeds=[Seed(unknown)], source=SubjectSource.DSR)

    summary = plan_erasure(world.runtime, "plan-run", request, world.now)

    rows = world.runtime.ledger.rows_for_run("plan-run")
    assert [row.state for row in rows] == [SubjectState.QUARANTINED]
    assert summary["to_submit"] == 0


def test_a_seed_quarantined_for_its_partial_contact_search_says_so_in_the_ledger_and_the_report(
    tokenised_world,
):
    world = tokenised_world
    for n in range(PARTIAL_ABOVE + 1):  # more contacts sharing the domain than the search answers
        world.sandbox.org.add_customer(emails=[f"member{n}@crowded.example"], name=f"Member Number{n}")
    unknown = Identifier(IdentifierKind.EMAIL, "asker@crowded.example")
    plan_erasure(world.runtime, "plan-run", PlanRequest([Seed(unknown)], SubjectSource.DSR), world.now)

    evidence = write_run_evidence(world.runtime, "plan-run", world.now)

    [row] = world.runtime.ledger.rows_for_run("plan-run")
    assert row.reason.startswith("incomplete_search:")
    [entry] = load_document(evidence["report_json"])["subjects"]
    assert entry["reason"] == row.reason
    assert html.escape(row.reason) in Path(evidence["report_html"]).read_text(encoding="utf-8")


def test_plan_summary_and_log_count_the_seeds_quarantined_for_an_incomplete_search(tokenised_world, caplog):
    world = tokenised_world
    for n in range(PARTIAL_ABOVE + 1):  # more contacts sharing the domain than the search answers
        world.sandbox.org.add_customer(emails=[f"member{n}@crowded.example"], name=f"Member Number{n}")
    unknown = Identifier(IdentifierKind.EMAIL, "asker@crowded.example")
    caplog.set_level(logging.INFO, logger="genesys_erasure.steps.plan")

    summary = plan_erasure(
        world.runtime, "plan-run", PlanRequest([Seed(unknown)], SubjectSource.DSR), world.now
    )

    assert (summary["quarantined"], summary["incomplete_lookups"]) == (1, 1)
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Plan:")]
    assert "1 quarantined (1 for an incomplete search)" in line and "crowded" not in line


def test_plan_summary_and_log_count_the_search_hits_left_out_as_unrelated(tokenised_world, caplog):
    people = _people(tokenised_world)
    seeds = [Seed(i) for person in people for i in sorted(person) if i.kind is IdentifierKind.EMAIL]
    caplog.set_level(logging.INFO, logger="genesys_erasure.steps.plan")

    summary = plan_erasure(
        tokenised_world.runtime, "plan-run", PlanRequest(seeds, SubjectSource.DSR), tokenised_world.now
    )

    assert summary["unrelated_records"] > 0
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Plan:")]
    assert f"{summary['unrelated_records']} unrelated search records left out" in line


def test_external_contact_seed_without_a_contact_stays_a_subject_of_its_own(world):
    contact, _ = _returning_caller(world)
    world.sandbox.org.delete_external_contact(contact.value)
    directory = GenesysSubjectDirectory(world.runtime.client)

    result = resolve_subjects([contact], directory, hasher=world.runtime.hasher)

    assert [s.identifiers for s in result.to_purge] == [{contact}]

"""Identity resolution through the real directory (`GenesysSubjectDirectory` over HTTP against a sandbox
org), and the plan it leads to: what joins a subject, and what holds it."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectSource
from genesys_erasure.ledger.records import derive_subject_hash
from genesys_erasure.resolution import HoldReason, resolve_subjects
from genesys_erasure.steps.directory import GenesysSubjectDirectory
from genesys_erasure.steps.plan import HashedMembership, PlanRequest, Seed, plan_erasure
from genesys_erasure.steps.scan import find_expired_customers, load_scan
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
        recent=HashedMembership(found["recent_hashes"], world.runtime.hasher),
    )

    summary = plan_erasure(world.runtime, "plan-run", request, world.now)

    contact_hash = derive_subject_hash([contact], world.runtime.hasher)
    assert contact_hash not in {h for batch in summary["batches"] for h in batch}
    assert summary["held_recent_contact"] >= 1

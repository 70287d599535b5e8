"""Planning an analyst's data-subject request (`plan_for_ticket`) against a sandbox org over HTTP: which
subjects the ad-hoc erasure plans, which it holds, and which it counts as erased before."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.dsr import DsrRequest, ErasureMode
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectPlan, SubjectSource
from genesys_erasure.steps.plan_requests import SUBJECTS_HANDOFF, plan_for_ticket
from tests.support.erasure import T0, drive_to_verified

SHARED_MAIL = "front.desk@example.org"


def plan_ticket(world, identifiers, *, run_id="adhoc-1", mode=ErasureMode.DELETE) -> dict:
    """Hand the identifiers over as the validation task does, then plan the ticket."""
    request = DsrRequest(ticket="DSR-2026-0042", received_on=world.now.date() - timedelta(days=2), mode=mode)
    handoff = [[i.kind.value, i.value] for i in identifiers]
    world.runtime.workspace().put(run_id, SUBJECTS_HANDOFF, handoff)
    validated = {"identifiers": len(identifiers), "identifiers_by_type": {}, "duplicates_merged": 0}
    validated["invalid_rows_skipped"] = 0
    return plan_for_ticket(world.runtime, run_id, world.now, request=request, validated=validated)


def before_the_earlier_erasure(world) -> float:
    """Days ago for a conversation older than the earlier run's erasure (`drive_to_verified`: T0 + 3 h)."""
    return (world.now - T0).days + 30


def erased_earlier_by(world, identifier: Identifier, request_type: str) -> None:
    """The ledger as an earlier ad-hoc run left it: the identifier's subject verified by `request_type`."""
    runtime = world.runtime
    plan = SubjectPlan.build(
        [identifier],
        hasher=runtime.hasher,
        sealer=runtime.sealer,
        source=SubjectSource.DSR,
        ticket="DSR-2026-0001",
        request_type=request_type,
    )
    drive_to_verified(runtime.ledger, plan, "adhoc-0", "req-0")


def test_adhoc_request_holds_a_customer_linked_to_an_agent_it_does_not_name(world):
    # the customer's address is also an agent's: the GDPR search links the agent to the customer
    customer, _ = world.customer(SHARED_MAIL, days_ago=30)
    world.sandbox.org.add_agent("Desk Agent", SHARED_MAIL)

    summary = plan_ticket(world, [customer])

    assert summary["to_submit"] == 0
    assert summary["held_staff"] == 1


def test_approval_text_shows_the_subjects_held_for_staff_the_request_does_not_name(world):
    customer, _ = world.customer(SHARED_MAIL, days_ago=30)
    world.sandbox.org.add_agent("Desk Agent", SHARED_MAIL)

    summary = plan_ticket(world, [customer])

    assert (
        "Held, linked to staff the request does not name by user id (not erased): 1"
        in summary["approval_text"]
    )


def test_adhoc_request_erases_former_staff_it_names_by_user_id(world):
    leaver = world.sandbox.org.add_agent("Lee Leaver", "lee.leaver@corp.example", active=False)

    summary = plan_ticket(world, [Identifier(IdentifierKind.USER, leaver.id)])

    assert summary["to_submit"] == 1
    assert summary["held_staff"] == 0


def test_adhoc_request_erases_a_customer_linked_to_staff_when_it_names_their_user_id_too(world):
    customer, _ = world.customer(SHARED_MAIL, days_ago=30)
    agent = world.sandbox.org.add_agent("Desk Agent", SHARED_MAIL, active=False)

    summary = plan_ticket(world, [customer, Identifier(IdentifierKind.USER, agent.id)])

    assert summary["to_submit"] == 1
    assert summary["held_staff"] == 0


def test_delete_request_plans_the_delete_of_a_subject_only_pseudonymised_earlier(world):
    customer, _ = world.customer("pia.pseudo@example.org", days_ago=before_the_earlier_erasure(world))
    erased_earlier_by(world, customer, "GDPR_UPDATE")

    summary = plan_ticket(world, [customer])

    assert (summary["erased_earlier"], summary["already_erased"]) == (0, 0)
    assert summary["to_submit"] == 1  # a pseudonymisation keeps recordings: Art. 17 wants the delete


def test_pseudonymise_request_counts_an_earlier_delete_as_erased(world):
    customer, _ = world.customer("dan.deleted@example.org", days_ago=before_the_earlier_erasure(world))
    erased_earlier_by(world, customer, "GDPR_DELETE")

    summary = plan_ticket(world, [customer], mode=ErasureMode.PSEUDONYMISE)

    assert summary["erased_earlier"] == 1
    assert summary["to_submit"] == 0


def test_delete_request_plans_a_customer_who_came_back_after_an_earlier_erasure(world):
    # erased at T0 + 3 h; the person called again since: that conversation is new data to erase
    customer, _ = world.customer("rita.returned@example.org", days_ago=before_the_earlier_erasure(world))
    erased_earlier_by(world, customer, "GDPR_DELETE")
    world.customer("rita.returned@example.org", days_ago=10)

    summary = plan_ticket(world, [customer])

    assert summary["erased_earlier"] == 0
    assert summary["to_submit"] == 1

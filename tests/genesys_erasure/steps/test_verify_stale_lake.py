"""Verification on a sandbox whose analytics lake is stale (`analytics_snapshot_hours` at its pessimistic
value): the details multi-get still shows an erased subject's values for a day after COMPLETED, while the
detail query shows the erasure at once. Lake residue is `erasure_pending`, a value a current source still
shows is `failed`, and a later run verifies the subject once the lake has caught up."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
import requests

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG, plan_request

S = SubjectState
SNAPSHOT_HOURS = 24  # the pessimistic value: the lake shows an erasure a day later


@pytest.fixture
def sandbox_settings(request) -> object:
    return dataclasses.replace(
        TINY_ORG, analytics_snapshot_hours=SNAPSHOT_HOURS, **getattr(request, "param", {})
    )


def _seed(world, email: str) -> Seed:
    """An expired customer with one recorded e-mail conversation and no external contact."""
    org = world.sandbox.org
    person = org.add_customer(emails=[email], phones=[], external_contact=False)
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    conversation_id = org.add_conversation(person, media="email", direction="inbound", start=start)
    return Seed(
        Identifier(IdentifierKind.EMAIL, email), conversation_ids=(conversation_id,), conversation_count=1
    )


def _erase(world, run_id: str, seed: Seed) -> None:
    """Plan, submit, wait for Genesys and settle one run: the subject ends `completed`."""
    summary = plan_erasure(world.runtime, run_id, plan_request(seed), world.now)
    submit_batch(world.runtime, run_id, [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, run_id))
    settle_requests(world.runtime, run_id, statuses, world.now, allow_resubmit=False)


def _multi_get_shows(world, seed: Seed, email: str) -> bool:
    with world.hook() as hook:
        return email in json.dumps(hook.get_conversations_details(seed.conversation_ids))


def _advance_clock(world, hours: float) -> None:
    answer = requests.post(
        f"{world.sandbox.base_url}/sandbox/faults", json={"advance_clock_seconds": hours * 3600}, timeout=10
    )
    answer.raise_for_status()


def _row(world):
    [row] = world.runtime.ledger.rows_in_states(list(S))
    return row


def test_values_only_the_stale_lake_still_shows_leave_the_subject_erasure_pending(world):
    email = "lagging.lake@example.org"
    seed = _seed(world, email)
    _erase(world, "run-1", seed)
    assert _multi_get_shows(world, seed, email)

    counts = verify_completed(world.runtime, "run-1", world.now)

    row = _row(world)
    assert (counts["failed"], counts["erasure_pending"], row.state) == (0, 1, S.ERASURE_PENDING)
    assert row.reason == "analytics_lake_lag"
    assert row.verification["pending"] == [
        {"kind": "conversation", "item_id": seed.conversation_ids[0], "reason": "analytics_lake_lag"}
    ]
    assert email not in json.dumps(row.verification)


# Jobs without lag: an hour after COMPLETED their dataAvailabilityDate is past the erasure while the
# multi-get still shows it, so only the detail query's copy tells lake lag from a value left behind.
@pytest.mark.parametrize("sandbox_settings", [{"analytics_lag_hours": 0}], ids=["no_job_lag"], indirect=True)
def test_lake_residue_is_erasure_pending_when_the_detail_query_shows_the_erasure(world):
    email = "current.source@example.org"
    seed = _seed(world, email)
    _erase(world, "run-1", seed)
    _advance_clock(world, 1)
    assert _multi_get_shows(world, seed, email)

    verify_completed(world.runtime, "run-1", world.now)

    assert (_row(world).state, _row(world).reason) == (S.ERASURE_PENDING, "analytics_lake_lag")


def test_value_still_readable_in_a_current_source_fails_on_a_stale_lake(world):
    email = "leaky.current@example.org"
    seed = _seed(world, email)
    _erase(world, "run-1", seed)
    # Genesys left the value where it was: the detail query (and the live view) still show it
    conversation = world.sandbox.org.conversations[seed.conversation_ids[0]]
    with world.sandbox.org.lock:
        customer = next(p for p in conversation.participants if p.purpose in ("customer", "external"))
        customer.sessions[0].address_from = email

    counts = verify_completed(world.runtime, "run-1", world.now)

    assert (counts["failed"], _row(world).state) == (1, S.FAILED)


def test_a_later_run_verifies_the_subject_once_the_lake_has_caught_up(world):
    email = "caught.up@example.org"
    seed = _seed(world, email)
    _erase(world, "run-1", seed)
    verify_completed(world.runtime, "run-1", world.now)
    assert _row(world).state is S.ERASURE_PENDING

    _advance_clock(world, SNAPSHOT_HOURS + 1)
    verify_completed(world.runtime, "run-2", world.now)

    assert not _multi_get_shows(world, seed, email)
    assert _row(world).state is S.VERIFIED
    assert len(world.gdpr_requests()) == 1

"""Two DAGs re-checking the same `erasure_pending` subject at once (the hourly listener and the nightly),
against a sandbox org over real HTTP: the run that took the subject over writes the result, the other
drops its own without failing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

from genesys_devtools.demo import DEMO_HMAC_KEY, DEMO_SEALING_KEY
from genesys_erasure.evidence import key_from_text
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from genesys_erasure.tasks.runtime import genesys_hook
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG, plan_request

S = SubjectState
LAG_HOURS = 48


@pytest.fixture
def sandbox_settings() -> object:
    # pessimistic: the recording outlives COMPLETED, so the first check leaves the subject pending
    return dataclasses.replace(TINY_ORG, gdpr_recording_delete_lag_hours=LAG_HOURS)


class _OtherRunGoesFirst:
    """The run's real client, except that before its first contact search (after this run adopted and
    listed its subjects) the other DAG's run verifies in full."""

    def __init__(self, client: Any, other_run: Callable[[], None]) -> None:
        self._client = client
        self._other_run: Callable[[], None] | None = other_run

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def search_external_contacts_checked(self, value: str) -> Any:
        if self._other_run is not None:
            other_run, self._other_run = self._other_run, None
            other_run()
        return self._client.search_external_contacts_checked(value)


def _pending_subject(world) -> None:
    """One expired customer erased by run-1, whose verification left it `erasure_pending`."""
    org = world.sandbox.org
    person = org.add_customer(emails=["racing@example.org"], phones=[], external_contact=False)
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    conversation_id = org.add_conversation(person, media="email", direction="inbound", start=start)
    seed = Seed(
        Identifier(IdentifierKind.EMAIL, "racing@example.org"),
        conversation_ids=(conversation_id,),
        conversation_count=1,
    )
    summary = plan_erasure(world.runtime, "run-1", plan_request(seed), world.now)
    submit_batch(world.runtime, "run-1", [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, "run-1"))
    settle_requests(world.runtime, "run-1", statuses, world.now, allow_resubmit=True)
    verify_completed(world.runtime, "run-1", world.now)
    answer = requests.post(
        f"{world.sandbox.base_url}/sandbox/faults",
        json={"advance_clock_seconds": (LAG_HOURS + 1) * 3600},
        timeout=10,
    )
    answer.raise_for_status()


def test_pending_subject_taken_over_by_another_run_is_skipped_not_failed(world):
    _pending_subject(world)
    assert [r.state for r in world.runtime.ledger.rows_in_states(list(S))] == [S.ERASURE_PENDING]
    hourly_counts: dict[str, int] = {}

    def hourly_run() -> None:
        hourly_counts.update(verify_completed(world.runtime, "hourly-run", world.now))

    nightly = ErasureRuntime(
        config=world.runtime.config,
        hmac_key=key_from_text(DEMO_HMAC_KEY),
        sealing_key=key_from_text(DEMO_SEALING_KEY),
        ledger_url=world.runtime.ledger_url,
        client_factory=lambda cfg: _OtherRunGoesFirst(genesys_hook(cfg), hourly_run),
        home=world.home,
    )
    with nightly:
        nightly_counts = verify_completed(nightly, "nightly-run", world.now)

    [row] = world.runtime.ledger.rows_in_states(list(S))
    assert (hourly_counts["verified"], nightly_counts["taken_by_another_run"]) == (1, 1)
    assert sum(nightly_counts[k] for k in ("verified", "failed", "erasure_pending", "deferred")) == 0
    assert (row.state, row.run_id) == (S.VERIFIED, "hourly-run")

"""Derivation over analytics job results from a sandbox serving real data shapes, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from genesys_cloud.hook import GenesysCloudHook
from genesys_erasure.derivation import ContactIndex
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.steps.scan import HISTORY_START, interval
from genesys_sandbox import SandboxServer
from tests.support.sandbox import SANDBOX_ORG, connection_json

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
REAL_SHAPES = replace(SANDBOX_ORG, customers=120, conversations=1200, data_shapes="real")


@pytest.fixture(scope="module")
def derived() -> Iterator[tuple[SandboxServer, ContactIndex]]:
    sandbox = SandboxServer(REAL_SHAPES).start()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(CONN_ENV, connection_json(sandbox))
        org = sandbox.org
        own = [Identifier(IdentifierKind.PHONE, n) for n in org.channels.all_numbers]
        own += [Identifier(IdentifierKind.EMAIL, a) for a in org.channels.email_addresses]
        index = ContactIndex(own_identifiers=own, default_region="GB")
        try:
            with GenesysCloudHook() as client:
                job_id = client.submit_conversation_details_job(
                    {"interval": interval(HISTORY_START, org.clock.now()), "order": "asc"}
                )
                client.wait_for_conversation_details_job(job_id, poll_seconds=0.05)
                for page in client.iter_job_results(job_id):
                    index.add_all(page.conversations)
            yield sandbox, index
        finally:
            sandbox.stop()


def _every_identifier(index: ContactIndex) -> set[Identifier]:
    return {s.identifier for s in index.expired(datetime(2200, 1, 1, tzinfo=UTC))} | set(
        index.recent(datetime(1900, 1, 1, tzinfo=UTC))
    )


def test_every_phone_and_email_derived_from_real_shapes_belongs_to_a_seeded_customer(derived):
    sandbox, index = derived
    customers = sandbox.org.customers.values()
    known = {Identifier(IdentifierKind.PHONE, p) for c in customers for p in c.phones}
    known |= {Identifier(IdentifierKind.EMAIL, e.lower()) for c in customers for e in c.emails}
    derived_values = {
        i for i in _every_identifier(index) if i.kind in (IdentifierKind.PHONE, IdentifierKind.EMAIL)
    }
    assert derived_values and derived_values <= known


def test_withheld_callers_and_channel_ids_are_counted_not_taken(derived):
    _, index = derived
    assert index.problems.get("ani:withheld", 0) > 0
    assert index.problems.get("addressFrom:messaging_id", 0) > 0


def test_a_customer_seen_under_several_number_forms_is_one_identifier_with_all_conversations(derived):
    sandbox, index = derived
    org = sandbox.org
    seen_until = org.clock.now() - timedelta(hours=REAL_SHAPES.analytics_lag_hours + 1)
    for customer in org.customers.values():
        if len(customer.phones) != 1 or customer.placeholder:
            continue
        calls = [org.conversations[c] for c in customer.conversation_ids]
        calls = [c for c in calls if c.media_type != "email" and c.start < seen_until]
        anis = {
            (s.ani if s.direction == "inbound" else s.dnis)[:4]
            for c in calls
            for p in c.participants
            if p.purpose in ("customer", "external")
            for s in p.sessions
            if s.media_type == "voice"
        }
        if {"tel:", "sip:"} <= anis and any(a[:1] in "0(" for a in anis):
            break
    else:
        raise AssertionError("no one-phone customer seen under tel:, sip: and national forms")
    summary = index.summary(Identifier(IdentifierKind.PHONE, customer.phones[0]))
    # attributes of the customer's e-mail conversations may name the phone too: every call must be there
    assert summary is not None and {c.id for c in calls} <= set(summary.conversation_ids)

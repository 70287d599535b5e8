"""The ad-hoc subject search against a sandbox serving real data shapes, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from genesys_cloud.hook import GenesysCloudHook
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.steps.subject_conversations import find_conversations
from genesys_sandbox import SandboxServer
from genesys_sandbox.model import Conversation, Customer
from tests.support.sandbox import SANDBOX_ORG, connection_json

CONN_ENV = "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"
REAL_SHAPES = replace(SANDBOX_ORG, customers=120, conversations=1200, data_shapes="real")


@dataclass
class RealOrg:
    sandbox: SandboxServer

    def conversations_of(self, customer: Customer) -> list[Conversation]:
        return [self.sandbox.org.conversations[c] for c in customer.conversation_ids]


@pytest.fixture
def real_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[RealOrg]:
    sandbox = SandboxServer(REAL_SHAPES).start()
    monkeypatch.setenv(CONN_ENV, connection_json(sandbox))
    try:
        yield RealOrg(sandbox)
    finally:
        sandbox.stop()


def _stored_phone_forms(conversation: Conversation) -> set[str]:
    forms = set()
    for participant in conversation.participants:
        if participant.purpose not in ("customer", "external"):
            continue
        for session in participant.sessions:
            if session.media_type == "voice":
                value = session.ani if session.direction == "inbound" else session.dnis
                forms.add(
                    "tel" if value.startswith("tel:") else "sip" if value.startswith("sip:") else "national"
                )
    return forms


def _one_phone_customer_seen_in_every_form(org: RealOrg) -> Customer:
    for customer in org.sandbox.org.customers.values():
        if len(customer.phones) != 1 or customer.placeholder:
            continue
        forms = set().union(*(_stored_phone_forms(c) for c in org.conversations_of(customer)))
        if forms == {"tel", "sip", "national"}:
            return customer
    raise AssertionError("the real-shapes org has no one-phone customer seen as tel:, sip: and national")


def test_phone_search_finds_the_conversations_under_every_stored_form(real_org):
    customer = _one_phone_customer_seen_in_every_form(real_org)
    expected = {c.id for c in real_org.conversations_of(customer) if c.media_type != "email"}
    phone = Identifier(IdentifierKind.PHONE, customer.phones[0])
    with GenesysCloudHook() as client:
        found = find_conversations(client, [phone], real_org.sandbox.org.clock.now())
    assert set(found[phone]) == expected


def test_phone_search_does_not_claim_withheld_callers_conversations(real_org):
    customer = _one_phone_customer_seen_in_every_form(real_org)
    phone = Identifier(IdentifierKind.PHONE, customer.phones[0])
    with GenesysCloudHook() as client:
        found = find_conversations(client, [phone], real_org.sandbox.org.clock.now())
    owners = {real_org.sandbox.org.conversations[c].customer_id for c in found[phone]}
    assert owners == {customer.id}


def test_email_search_finds_a_conversation_newer_than_the_jobs_under_a_display_name_header(real_org):
    # only the detail query sees conversations within the analytics lag, and it compares e-mail exactly
    org = real_org.sandbox.org
    now = org.clock.now()
    lag = timedelta(hours=REAL_SHAPES.analytics_lag_hours)
    for customer in org.customers.values():
        headers = [
            (c, s.address_from if s.direction == "inbound" else s.address_to)
            for c in real_org.conversations_of(customer)
            if c.media_type == "email" and now - c.start < lag
            for p in c.participants
            if p.purpose in ("customer", "external")
            for s in p.sessions
        ]
        named = [(c, h) for c, h in headers if h.startswith('"')]
        if named:
            break
    else:
        raise AssertionError("no e-mail within the analytics lag with a display-name header")
    conversation, header = named[0]
    address = header[header.index("<") + 1 : header.index(">")].lower()
    identifier = Identifier(IdentifierKind.EMAIL, address)
    with GenesysCloudHook() as client:
        found = find_conversations(client, [identifier], now)
    assert conversation.id in found[identifier]

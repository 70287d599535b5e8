"""`verify_subject` on conversations read from a stale analytics lake (the details multi-get): what only
the lake still shows is `erasure_pending` (`analytics_lake_lag`), what a current source still shows, or
what a lake past the erasure still shows, is `failed`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.verification import (
    ANALYTICS_LAKE_LAG,
    PendingFinding,
    conversations_holding,
    verify_subject,
)
from tests.support.conversation_builder import voice_call

START = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
PHONE = "+447700900317"
CONTACT_ID = "5f0d3c1e-7a2b-4c8d-9e6f-0a1b2c3d4e5f"
SUBJECT = [Identifier(IdentifierKind.PHONE, PHONE), Identifier(IdentifierKind.EXTERNAL_CONTACT, CONTACT_ID)]


def _before_erasure(label: str = "call") -> dict:
    return voice_call(label, start=START, customer_number="tel:" + PHONE, customer_name="")


def _after_erasure(label: str = "call") -> dict:
    return voice_call(label, start=START, customer_number="tel:+447700900999", customer_name="")


def test_value_only_the_lake_shows_is_pending_when_the_current_copy_is_clean():
    lake = _before_erasure()

    result = verify_subject(SUBJECT, analytics_conversations=[_after_erasure()], lake_conversations=[lake])

    assert (result.status, result.conversation_findings) == ("erasure_pending", ())
    assert result.pending == (PendingFinding("conversation", lake["conversationId"], ANALYTICS_LAKE_LAG),)
    assert PHONE not in json.dumps(result.to_dict())


def test_value_the_current_copy_still_shows_fails_whatever_the_lake_shows():
    result = verify_subject(
        SUBJECT,
        analytics_conversations=[_before_erasure()],
        lake_conversations=[_before_erasure()],
        lake_predates_erasure=True,
    )

    assert result.status == "failed"
    [finding] = result.conversation_findings
    assert "analytics.participants[].sessions[].ani" in finding.fields


def test_lake_residue_without_a_current_copy_is_pending_while_the_lake_predates_the_erasure():
    result = verify_subject(SUBJECT, lake_conversations=[_before_erasure()], lake_predates_erasure=True)

    assert (result.status, [p.reason for p in result.pending]) == ("erasure_pending", [ANALYTICS_LAKE_LAG])


def test_lake_residue_without_a_current_copy_fails_once_the_lake_is_past_the_erasure():
    result = verify_subject(SUBJECT, lake_conversations=[_before_erasure()], lake_predates_erasure=False)

    assert (result.status, result.pending) == ("failed", ())


def test_conversations_holding_names_only_those_with_a_value_of_the_subject():
    reference_only = voice_call(
        "reference", start=START, customer_number="tel:+447700900999", external_contact_id=CONTACT_ID
    )
    holding = _before_erasure("holding")

    found = conversations_holding(SUBJECT, [_after_erasure("clean"), reference_only, holding])

    assert found == [holding["conversationId"]]

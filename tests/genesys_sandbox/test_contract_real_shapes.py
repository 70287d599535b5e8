"""Real data shapes (`data_shapes="real"`) still fit the official SDK's models: sip:/national numbers,
withheld callers, channel ids, display-name headers and participant attributes change values, not schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import PureCloudPlatformClientV2 as sdk
import pytest

from genesys_sandbox import SandboxServer
from tests.support.sandbox import SANDBOX_ORG, finish_gdpr_requests
from tests.support.schema_check import schema_problems

REAL_ORG = replace(SANDBOX_ORG, data_shapes="real")


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(REAL_ORG) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb: SandboxServer) -> Iterator[sdk.ApiClient]:
    configuration = sdk.configuration
    previous = configuration.host
    configuration.host = sb.base_url
    try:
        yield sdk.api_client.ApiClient().get_client_credentials_token(sb.client_id, sb.client_secret)
    finally:
        configuration.host = previous


def _problems(client: sdk.ApiClient, type_name: str) -> list[str]:
    return schema_problems(json.loads(client.last_response.data), type_name)


def test_real_shaped_job_results_fit_the_sdk_models(client, sb):
    conversations = sdk.ConversationsApi(client)
    query = sdk.AsyncConversationQuery()
    now = sb.org.clock.now()
    query.interval = f"{(now.replace(year=now.year - 6)).isoformat()}/{now.isoformat()}".replace(
        "+00:00", "Z"
    )
    job = conversations.post_analytics_conversations_details_jobs(query)
    cursor, problems, attributes = None, [], 0
    while True:
        page = conversations.get_analytics_conversations_details_job_results(
            job.job_id, page_size=1000, **({"cursor": cursor} if cursor else {})
        )
        problems += _problems(client, "AnalyticsConversationAsyncQueryResponse")
        raw = json.loads(client.last_response.data)
        attributes += sum(
            len(p.get("attributes", {})) > 1 for c in raw.get("conversations", []) for p in c["participants"]
        )
        cursor = page.cursor
        if not cursor:
            break
    assert problems == []
    assert attributes > 0, "no flow attributes in the real-shapes job results"


def test_unattributed_conversations_fit_the_analytics_and_live_models(client, sb):
    conversations = sdk.ConversationsApi(client)
    unattributed = [c for c in sb.org.conversations.values() if c.customer_id.startswith("unattributed")]
    assert {c.media_type for c in unattributed} == {"voice", "message"}
    for conversation in unattributed[:6]:
        conversations.get_analytics_conversation_details(conversation.id)
        assert _problems(client, "AnalyticsConversationWithoutAttributes") == []
        conversations.get_conversation(conversation.id)
        assert _problems(client, "Conversation") == []


def test_live_view_of_a_participant_with_flow_attributes_fits_the_sdk_model(client, sb):
    conversations = sdk.ConversationsApi(client)
    attributed = next(c for c in sb.org.conversations.values() if any(p.attributes for p in c.participants))
    live = conversations.get_conversation(attributed.id)
    assert _problems(client, "Conversation") == []
    assert any(p.attributes for p in live.participants)


def test_live_view_read_for_attribute_verification_fits_the_sdk_model_before_and_after_a_delete(client, sb):
    # verification reads participant attributes from GET /api/v2/conversations/{id} (the analytics read by
    # id has none): the view, and the map a delete redacted, must stay a `Conversation` the SDK reads
    email = "attribute.contract@example.org"
    customer = sb.org.add_customer(emails=[email], phones=[], external_contact=False)
    start = sb.org.clock.now().replace(year=sb.org.clock.now().year - 6)
    conversation_id = sb.org.add_conversation(
        customer, media="email", start=start, attributes={"customer.email": email, "ivr.language": "en"}
    )
    conversations = sdk.ConversationsApi(client)
    gdpr = sdk.GeneralDataProtectionRegulationApi(client)

    before = conversations.get_conversation(conversation_id)
    assert _problems(client, "Conversation") == []
    assert {"customer.email": email, "ivr.language": "en"} in [p.attributes for p in before.participants]

    body = sdk.GDPRRequest()
    body.request_type = "GDPR_DELETE"
    body.subject = sdk.GDPRSubject()
    body.subject.email_addresses = [email]
    created = gdpr.post_gdpr_requests(body, delete_confirmed=True)
    finish_gdpr_requests(sb)
    assert gdpr.get_gdpr_request(created.id).status == "COMPLETED"
    after = conversations.get_conversation(conversation_id)
    assert _problems(client, "Conversation") == []
    assert {"ivr.language": "en"} in [p.attributes for p in after.participants]

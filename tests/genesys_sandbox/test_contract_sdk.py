"""Contract tests against the official SDK (purecloudplatformclientv2): requests the SDK sends are
accepted, and every response deserialises into the SDK's models with no unknown keys and no unknown enum
values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import PureCloudPlatformClientV2 as sdk
import pytest
import requests
from PureCloudPlatformClientV2.rest import ApiException

from genesys_sandbox import SandboxServer
from genesys_sandbox.clock import format_instant
from tests.support.sandbox import FIXED_NOW, SANDBOX_ORG
from tests.support.schema_check import schema_problems


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(SANDBOX_ORG) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb: SandboxServer) -> Iterator[sdk.ApiClient]:
    configuration = sdk.configuration
    previous = configuration.host
    configuration.host = sb.base_url
    try:
        # the SDK derives the login host by replacing //api. with //login.; the sandbox URL has no api.
        # label, so the token request goes to the sandbox itself
        yield sdk.api_client.ApiClient().get_client_credentials_token(sb.client_id, sb.client_secret)
    finally:
        configuration.host = previous


def _raw(client: sdk.ApiClient) -> object:
    return json.loads(client.last_response.data)


def _assert_schema(client: sdk.ApiClient, type_name: str) -> None:
    problems = schema_problems(_raw(client), type_name)
    assert problems == []


def _interval(days: int) -> str:
    return f"{format_instant(FIXED_NOW - timedelta(days=days))}/{format_instant(FIXED_NOW)}"


def test_sdk_obtains_a_token_from_the_sandbox(client):
    assert client.access_token


def test_gdpr_request_round_trip(client, sb):
    gdpr = sdk.GeneralDataProtectionRegulationApi(client)
    customer = sb.org.customers_where(external_contact=True, activity="expired")[0]
    body = sdk.GDPRRequest()
    body.request_type = "GDPR_DELETE"
    body.subject = sdk.GDPRSubject()
    body.subject.phone_numbers = list(customer.phones)
    body.subject.email_addresses = list(customer.emails)
    created = gdpr.post_gdpr_requests(body, delete_confirmed=True)
    _assert_schema(client, "GDPRRequest")
    assert created.status == "INITIATED"
    fetched = gdpr.get_gdpr_request(created.id)
    _assert_schema(client, "GDPRRequest")
    assert fetched.status == "INITIATED"  # only sandbox time moves a request
    listing = gdpr.get_gdpr_requests(page_size=10, page_number=1)
    _assert_schema(client, "GDPRRequestEntityListing")
    assert created.id in [r.id for r in listing.entities]


def test_gdpr_update_with_replacement_terms_is_accepted(client):
    gdpr = sdk.GeneralDataProtectionRegulationApi(client)
    body = sdk.GDPRRequest()
    body.request_type = "GDPR_UPDATE"
    body.subject = sdk.GDPRSubject()
    body.subject.email_addresses = ["old@example.com"]
    term = sdk.ReplacementTerm()
    term.type = "EMAIL"
    term.existing_value = "old@example.com"
    term.updated_value = "new@example.com"
    body.replacement_terms = [term]
    created = gdpr.post_gdpr_requests(body)
    _assert_schema(client, "GDPRRequest")
    assert created.replacement_terms[0].updated_value == "new@example.com"


def test_gdpr_delete_without_confirmation_raises_a_400_error_body(client):
    gdpr = sdk.GeneralDataProtectionRegulationApi(client)
    body = sdk.GDPRRequest()
    body.request_type = "GDPR_DELETE"
    body.subject = sdk.GDPRSubject()
    body.subject.email_addresses = ["someone@example.com"]
    with pytest.raises(ApiException) as raised:
        gdpr.post_gdpr_requests(body)
    assert raised.value.status == 400
    assert schema_problems(json.loads(raised.value.body), "ErrorBody") == []


def test_gdpr_subjects(client, sb):
    gdpr = sdk.GeneralDataProtectionRegulationApi(client)
    customer = sb.org.customers_where(fragmented=True)[0]
    listing = gdpr.get_gdpr_subjects("EMAIL", customer.emails[0])
    _assert_schema(client, "GDPRSubjectEntityListing")
    assert listing.entities[0].external_contact_id == customer.external_contact_id


def test_details_query(client, sb):
    conversations = sdk.ConversationsApi(client)
    query = sdk.ConversationQuery()
    query.interval = _interval(7)
    query.order = "desc"
    query.order_by = "conversationStart"
    paging = sdk.PagingSpec()
    paging.page_size = 100
    paging.page_number = 1
    query.paging = paging
    result = conversations.post_analytics_conversations_details_query(query)
    _assert_schema(client, "AnalyticsConversationQueryResponse")
    assert result.total_hits == len(result.conversations) > 0


def test_details_query_with_segment_filter(client, sb):
    conversations = sdk.ConversationsApi(client)
    customer = sb.org.customers_where(activity="recent", placeholder=False)[0]
    predicate = sdk.SegmentDetailQueryPredicate()
    predicate.type = "dimension"
    predicate.dimension = "ani"
    predicate.operator = "matches"
    predicate.value = f"tel:{customer.phones[0]}"
    segment_filter = sdk.SegmentDetailQueryFilter()
    segment_filter.type = "or"
    segment_filter.predicates = [predicate]
    query = sdk.ConversationQuery()
    query.interval = _interval(31)
    query.segment_filters = [segment_filter]
    conversations.post_analytics_conversations_details_query(query)
    _assert_schema(client, "AnalyticsConversationQueryResponse")


def test_details_jobs(client):
    conversations = sdk.ConversationsApi(client)
    query = sdk.AsyncConversationQuery()
    query.interval = _interval(6 * 365)
    submitted = conversations.post_analytics_conversations_details_jobs(query)
    _assert_schema(client, "AsyncQueryResponse")
    status = conversations.get_analytics_conversations_details_job(submitted.job_id)
    _assert_schema(client, "AsyncQueryStatus")
    assert status.state == "FULFILLED"
    page = conversations.get_analytics_conversations_details_job_results(submitted.job_id, page_size=20)
    _assert_schema(client, "AnalyticsConversationAsyncQueryResponse")
    assert page.cursor and page.data_availability_date
    availability = conversations.get_analytics_conversations_details_jobs_availability()
    _assert_schema(client, "DataAvailabilityResponse")
    assert availability.data_availability_date == page.data_availability_date


def test_conversation_details_by_id(client, sb):
    conversations = sdk.ConversationsApi(client)
    ids = sorted(sb.org.conversations)[:3]
    single = conversations.get_analytics_conversation_details(ids[0])
    _assert_schema(client, "AnalyticsConversationWithoutAttributes")
    assert single.conversation_id == ids[0]
    multi = conversations.get_analytics_conversations_details(id=ids)
    _assert_schema(client, "AnalyticsConversationWithoutAttributesMultiGetResponse")
    assert sorted(c.conversation_id for c in multi.conversations) == ids


def test_every_media_type_fits_the_analytics_and_live_models(client, sb):
    conversations = sdk.ConversationsApi(client)
    samples = {}
    for conversation in sb.org.conversations.values():
        samples.setdefault(
            (conversation.media_type, conversation.originating_direction, conversation.active), conversation
        )
    assert {m for m, _, _ in samples} == {"voice", "email", "message", "callback"}
    for conversation in samples.values():
        conversations.get_analytics_conversation_details(conversation.id)
        _assert_schema(client, "AnalyticsConversationWithoutAttributes")
        live = conversations.get_conversation(conversation.id)
        _assert_schema(client, "Conversation")
        assert (live.end_time is None) == conversation.active


def test_external_contacts_search(client, sb):
    contacts = sdk.ExternalContactsApi(client)
    customer = sb.org.customers_where(external_contact=True)[0]
    listing = contacts.get_externalcontacts_contacts(q=customer.emails[0], page_size=20, page_number=1)
    _assert_schema(client, "ContactListing")
    assert [c.id for c in listing.entities] == [customer.external_contact_id]


def test_external_contacts_cursor_scan(client, sb):
    contacts = sdk.ExternalContactsApi(client)
    seen: list[str] = []
    listing = contacts.get_externalcontacts_scan_contacts(limit=200)
    _assert_schema(client, "CursorContactListing")
    seen += [c.id for c in listing.entities]
    while listing.cursors and listing.cursors.after:
        listing = contacts.get_externalcontacts_scan_contacts(limit=200, cursor=listing.cursors.after)
        _assert_schema(client, "CursorContactListing")
        seen += [c.id for c in listing.entities]
    assert sorted(seen) == sorted(sb.org.external_contacts)


def test_users_listing_of_every_state(client, sb):
    users = sdk.UsersApi(client)
    listing = users.get_users(page_size=500, page_number=1, state="any")
    _assert_schema(client, "UserEntityListing")
    assert sorted(u.id for u in listing.entities) == sorted(sb.org.agents)
    active = users.get_users(page_size=500, page_number=1)
    assert {u.state for u in active.entities} == {"active"}


def test_recording_metadata_and_deletion_protection(client, sb):
    recordings = sdk.RecordingApi(client)
    conversation = next(c for c in sb.org.conversations.values() if c.recordings and c.protected)
    metadata = recordings.get_conversation_recordingmetadata(conversation.id)
    _assert_schema(client, "list[RecordingMetadata]")
    assert {m.id for m in metadata} == {r.id for r in conversation.recordings}
    query = sdk.ConversationDeletionProtectionQuery()
    query.conversation_ids = [conversation.id]
    protected = recordings.post_recordings_deletionprotection(query)
    _assert_schema(client, "list[AddressableEntityRef]")
    assert [ref.id for ref in protected] == [conversation.id]


def test_rate_limited_response_is_an_error_body(client, sb):
    # not through the SDK: its urllib3 pool silently retries a 429 that carries Retry-After
    sb.control.burst_429(1, retry_after=2)
    response = requests.get(
        f"{sb.base_url}/api/v2/gdpr/requests",
        headers={"Authorization": f"Bearer {client.access_token}"},
        timeout=10,
    )
    assert response.status_code == 429
    assert schema_problems(response.json(), "ErrorBody") == []

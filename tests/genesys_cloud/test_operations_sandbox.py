"""The Genesys operation wrappers (analytics, external contacts, conversations) against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from genesys_cloud.errors import GenesysBadRequestError
from genesys_cloud.hook import GenesysCloudHook
from tests.support.sandbox import calls_to


def iso_interval(start, end) -> str:
    return f"{start.strftime('%Y-%m-%dT%H:%M:%S.000Z')}/{end.strftime('%Y-%m-%dT%H:%M:%S.000Z')}"


def test_details_job_results_are_paged_by_cursor_with_availability(sandbox):
    now = sandbox.control.now()
    with GenesysCloudHook() as hook:
        job_id = hook.submit_conversation_details_job(
            {"interval": iso_interval(now - timedelta(days=3650), now)}
        )
        assert (
            hook.wait_for_conversation_details_job(job_id, poll_seconds=0.1, timeout=30)["state"]
            == "FULFILLED"
        )
        pages = list(hook.iter_job_results(job_id, page_size=7))
        availability = hook.get_data_availability()["dataAvailabilityDate"]
    ids = [c["conversationId"] for page in pages for c in page.conversations]
    assert len(pages) > 1
    assert len(ids) == len(set(ids)) > 7
    assert {page.data_availability_date for page in pages} == {availability}


def test_details_query_pages_through_every_matching_conversation_once(sandbox):
    newest = max(c.start for c in sandbox.org.iter_conversations())
    start, end = newest - timedelta(days=6), newest + timedelta(minutes=1)
    expected = {c.id for c in sandbox.org.conversations_started_between(start, end)}
    with GenesysCloudHook() as hook:
        found = [
            c["conversationId"]
            for c in hook.iter_conversation_details({"interval": iso_interval(start, end)}, page_size=2)
        ]
    assert len(found) == len(set(found))
    assert expected <= set(found)


def test_details_of_many_conversations_are_fetched_in_chunks_of_100(sandbox):
    ids = [c.id for c in sandbox.org.iter_conversations()]
    with GenesysCloudHook() as hook:
        details = hook.get_conversations_details(ids * 3 + [f"unknown-{n}" for n in range(100)])
        single = hook.get_conversation_details(ids[0])
    assert sorted(c["conversationId"] for c in details) == sorted(ids)
    assert single["conversationId"] == ids[0]
    assert calls_to(sandbox, "GET /api/v2/analytics/conversations/details") == 2


def test_external_contact_is_found_and_deleted(sandbox):
    contact = next(c for c in sandbox.org.external_contacts.values() if c.emails)
    email = contact.emails[0]
    with GenesysCloudHook() as hook:
        found = hook.search_external_contacts(email)
        assert contact.id in {c["id"] for c in found}
        hook.delete_external_contact(contact.id)
        assert contact.id not in {c["id"] for c in hook.search_external_contacts(email)}


def test_conversation_view_recordings_and_disconnect(sandbox):
    conversation = next(c for c in sandbox.org.iter_conversations() if c.recordings)
    with GenesysCloudHook() as hook:
        assert hook.get_conversation(conversation.id)["id"] == conversation.id
        recordings = hook.get_recording_metadata(conversation.id)
        hook.disconnect_conversation(conversation.id)
    assert {r["conversationId"] for r in recordings} == {conversation.id}


def test_invalid_gdpr_arguments_are_refused_before_any_call(sandbox):
    with GenesysCloudHook() as hook:
        with pytest.raises(ValueError, match="request_type"):
            hook.submit_gdpr_request("GDPR_ERASE", {"emailAddresses": ["x@y.example"]})
        with pytest.raises(ValueError, match="replacement_terms"):
            hook.submit_gdpr_request("GDPR_DELETE", {"emailAddresses": ["x@y.example"]}, [{"type": "EMAIL"}])
        with pytest.raises(ValueError, match="search_type"):
            hook.search_gdpr_subjects("SHOE_SIZE", "44")
    assert sandbox.control.request_counts()["total"] == 0


def test_contact_search_pages_until_every_match_is_returned(sandbox):
    for number in range(3):
        sandbox.org.add_external_contact(f"Zebedee Name{number}", [], [])
    with GenesysCloudHook() as hook:
        contacts = hook.search_external_contacts("Zebedee", page_size=1)
    assert sorted(c["lastName"] for c in contacts) == ["Name0", "Name1", "Name2"]


def test_more_matches_than_the_search_window_is_an_error_not_a_silent_cut(sandbox):
    for number in range(1001):
        sandbox.org.add_external_contact(f"Zebedee Name{number}", [], [])
    with GenesysCloudHook() as hook, pytest.raises(GenesysBadRequestError) as raised:
        hook.search_external_contacts("Zebedee")
    assert raised.value.code == "result.window.exceeded"
    assert "Zebedee" not in str(raised.value)

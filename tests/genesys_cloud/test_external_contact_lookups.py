"""The external-contact lookups identity resolution relies on: one contact by id, a search that says
whether its answer is complete, and the cursor scan over every contact."""

from __future__ import annotations

from genesys_cloud.hook import GenesysCloudHook


def test_external_contact_is_read_by_id(sandbox):
    contact = next(iter(sandbox.org.external_contacts.values()))
    with GenesysCloudHook() as hook:
        found = hook.get_external_contact(contact.id)
    assert found is not None and found["id"] == contact.id


def test_unknown_external_contact_id_reads_as_none(sandbox):
    with GenesysCloudHook() as hook:
        assert hook.get_external_contact("00000000-0000-4000-8000-000000000000") is None


def test_contact_search_under_the_partial_threshold_is_complete(start_sandbox):
    sandbox = start_sandbox(contact_search_partial_above=5)
    sandbox.org.add_external_contact("Gus Jolly", ["gus@jolly.example"], [])
    with GenesysCloudHook() as hook:
        search = hook.search_external_contacts_checked("gus@jolly.example")
    assert search.complete and len(search.contacts) == 1


def test_contact_search_answering_partial_results_is_incomplete(start_sandbox):
    sandbox = start_sandbox(contact_search="tokenised", contact_search_partial_above=2)
    for n in range(4):
        sandbox.org.add_external_contact(f"Gus Jolly{n}", [f"gus{n}@jolly.example"], [])
    with GenesysCloudHook() as hook:
        search = hook.search_external_contacts_checked("asker@jolly.example")
    assert not search.complete
    assert len(search.contacts) == 2


def test_contact_scan_reads_every_contact_once_in_pages_of_the_limit(sandbox):
    with GenesysCloudHook() as hook:
        scanned = [contact["id"] for contact in hook.scan_external_contacts(limit=10)]
    assert sorted(scanned) == sorted(sandbox.org.external_contacts)
    pages = sandbox.control.request_counts()["by_endpoint"]["GET /api/v2/externalcontacts/scan/contacts"]
    assert pages == -(-len(scanned) // 10)  # the last page has no cursor

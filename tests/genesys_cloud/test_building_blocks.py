"""Regions, typed errors, token cache, paging and GDPR status rules (pure, no network)."""

from __future__ import annotations

import pickle

import pytest

from genesys_cloud.errors import (
    GenesysAuthError,
    GenesysBadRequestError,
    GenesysCloudError,
    GenesysNotFoundError,
    GenesysRateLimitError,
    GenesysServerError,
    error_from_response,
)
from genesys_cloud.gdpr_status import StatusCollector, all_final, normalise_request_ids
from genesys_cloud.paging import chunked, first_sightings, has_next_page
from genesys_cloud.regions import api_base_url, login_base_url
from genesys_cloud.token_cache import TokenCache


def test_region_shorthand_gives_api_and_login_hosts():
    api = api_base_url(None, region="eu_west_1")
    assert api == "https://api.mypurecloud.ie"
    assert login_base_url(api) == "https://login.mypurecloud.ie"


def test_sandbox_url_logs_in_on_the_same_host():
    api = api_base_url("http://127.0.0.1:8123")
    assert login_base_url(api) == "http://127.0.0.1:8123"


def test_bare_loopback_host_with_port_uses_http():
    assert api_base_url("127.0.0.1", port=8123) == "http://127.0.0.1:8123"


def test_bare_cloud_host_uses_https():
    assert api_base_url("api.usw2.pure.cloud") == "https://api.usw2.pure.cloud"


def test_unknown_region_names_the_choices():
    with pytest.raises(ValueError, match="eu_west_1"):
        api_base_url("", region="moon_1")


def test_missing_host_and_region_is_explained():
    with pytest.raises(ValueError, match="region"):
        api_base_url("")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, GenesysBadRequestError),
        (401, GenesysAuthError),
        (403, GenesysAuthError),
        (404, GenesysNotFoundError),
        (429, GenesysRateLimitError),
        (503, GenesysServerError),
    ],
)
def test_status_maps_to_its_error_class(status, cls):
    assert type(error_from_response(status, {}, {}, method="GET", path="/x")) is cls


def test_error_carries_code_message_correlation_and_field_names():
    body = {
        "status": 400,
        "code": "bad.request",
        "message": "Invalid data",
        "details": [{"errorCode": "x", "fieldName": "subject"}],
    }
    error = error_from_response(400, body, {"ININ-Correlation-Id": "cid-1"}, method="POST", path="/p")
    assert (error.status, error.code, error.message, error.correlation_id) == (
        400,
        "bad.request",
        "Invalid data",
        "cid-1",
    )
    assert error.details == ("subject",)


def test_error_message_masks_echoed_emails_and_phones():
    body = {"message": "No subject for jane.doe@example.com or +44 20 7946 0958"}
    error = error_from_response(404, body, {}, method="GET", path="/p")
    assert "jane.doe" not in str(error)
    assert "7946" not in str(error)


def test_oauth_error_body_is_understood():
    body = {"error": "invalid_client", "description": "client not found"}
    error = error_from_response(401, body, {}, method="POST", path="/oauth/token")
    assert (error.code, error.message) == ("invalid_client", "client not found")


def test_typed_error_survives_pickling():
    error = GenesysNotFoundError(404, "not.found", "gone", "cid", ("id",))
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.status, copy.correlation_id, copy.details) == (
        GenesysNotFoundError,
        404,
        "cid",
        ("id",),
    )
    assert isinstance(copy, GenesysCloudError)


def test_token_is_renewed_before_it_expires():
    cache = TokenCache()
    cache.store(("login", "client"), "t1", expires_in=100, now=0.0)
    assert cache.get(("login", "client"), now=50.0) == "t1"
    assert cache.get(("login", "client"), now=95.0) is None


def test_invalidate_keeps_a_token_another_caller_already_replaced():
    cache = TokenCache()
    cache.store(("l", "c"), "new", expires_in=100, now=0.0)
    cache.invalidate(("l", "c"), "old")
    assert cache.get(("l", "c"), now=1.0) == "new"


def test_page_count_decides_the_next_page():
    assert has_next_page({"entities": [1], "pageCount": 3}, 2, 1)
    assert not has_next_page({"entities": [1], "pageCount": 3}, 3, 1)
    assert not has_next_page({"entities": [], "pageCount": 3}, 1, 1)


def test_an_entity_that_slides_onto_the_next_page_is_yielded_once():
    seen: set[str] = set()
    first = list(first_sightings([{"id": "a"}, {"id": "b"}], seen))
    second = list(first_sightings([{"id": "b"}, {"id": "c"}], seen))
    assert [e["id"] for e in first + second] == ["a", "b", "c"]


def test_chunks_hold_at_most_the_limit():
    assert [len(c) for c in chunked([str(i) for i in range(250)], 100)] == [100, 100, 50]


def test_status_collector_reports_missing_ids():
    collector = StatusCollector(["a", "b"])
    collector.add([{"id": "a", "status": "COMPLETED"}, {"id": "z", "status": "ERROR"}])
    assert collector.missing == ["b"]
    collector.add([{"id": "b", "status": "DELETING"}])
    assert collector.statuses() == {"a": "COMPLETED", "b": "DELETING"}
    assert not all_final(collector.statuses())


def test_request_ids_are_deduplicated_and_validated():
    assert normalise_request_ids(["a", "b", "a"]) == ["a", "b"]
    with pytest.raises(ValueError, match=r"request_ids\[1\]"):
        normalise_request_ids(["a", ""])

"""The org facts the preflight reads (limits, analytics data retention, divisions) and denied permissions."""

from __future__ import annotations

from tests.support.sandbox import ApiClient

RETENTION_PATH = "/api/v2/analytics/dataretention/settings"


def test_org_limits_name_the_per_token_request_budget_per_minute(sandbox_factory):
    sb = sandbox_factory(rate_limit_per_window=150, rate_limit_window_seconds=30)
    response = ApiClient(sb).get("/api/v2/organizations/limits/namespaces/platform.api")
    assert response.status_code == 200
    assert response.json()["entities"] == [
        {"key": "client.credentials.token.rate.per.minute", "namespace": "platform.api", "value": 300}
    ]


def test_an_unknown_limits_namespace_is_not_found(shared_sandbox):
    response = ApiClient(shared_sandbox).get("/api/v2/organizations/limits/namespaces/no.such.thing")
    assert response.status_code == 404


def test_analytics_data_retention_reports_the_configured_days(sandbox_factory):
    sb = sandbox_factory(analytics_retention_days=400)
    body = ApiClient(sb).get(RETENTION_PATH).json()
    assert body["retentionDays"] == 400
    assert {"dateCreated", "dateModified"} <= set(body)


def test_analytics_data_retention_covers_every_seeded_year_by_default(shared_sandbox):
    body = ApiClient(shared_sandbox).get(RETENTION_PATH).json()
    assert body["retentionDays"] > shared_sandbox.state.settings.years * 365


def test_divisions_list_the_configured_names_with_the_first_as_home(sandbox_factory):
    sb = sandbox_factory(divisions="Home,Sales EU,Support EU")
    listing = ApiClient(sb).get("/api/v2/authorization/divisions", params={"pageSize": 2}).json()
    assert listing["total"] == 3
    assert [d["name"] for d in listing["entities"]] == ["Home", "Sales EU"]
    assert [d["homeDivision"] for d in listing["entities"]] == [True, False]


def test_a_denied_route_answers_403_missing_permissions_naming_the_permission(sandbox_factory):
    sb = sandbox_factory(denied_paths="GET /api/v2/conversations/{conversationId}/recordingmetadata")
    client = ApiClient(sb)
    conversation_id = next(iter(sb.org.conversations))
    denied = client.get(f"/api/v2/conversations/{conversation_id}/recordingmetadata")
    assert denied.status_code == 403
    body = denied.json()
    assert body["code"] == "missing.permissions"
    assert "recording:recording:view" in body["message"]
    assert body["contextId"] == denied.headers["ININ-Correlation-Id"]
    assert "inin-ratelimit-count" in denied.headers
    assert client.get(f"/api/v2/conversations/{conversation_id}").status_code == 200


def test_a_denied_path_without_a_method_denies_every_method(sandbox_factory):
    sb = sandbox_factory(denied_paths="/api/v2/gdpr/requests")
    client = ApiClient(sb)
    assert client.get("/api/v2/gdpr/requests").status_code == 403
    assert client.post("/api/v2/gdpr/requests", json={}).status_code == 403

"""The preflight against sandboxes over real HTTP: the org's facts, named missing permissions, the
canary erasure, a signed report free of personal data, and the analytics retention check of the purge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import GenesysAuthError
from genesys_cloud.token_cache import SHARED_TOKENS
from genesys_erasure.config import ConfigError
from genesys_erasure.evidence import verify_report
from genesys_erasure.preflight import CanaryOptions, run_preflight, summary_lines
from genesys_erasure.preflight.divisions import check_division_coverage
from genesys_erasure.preflight.retention import check_analytics_retention
from genesys_sandbox import SandboxServer, SandboxSettings
from tests.support.sandbox import CONN_ENV, ApiClient, calls_to, connection_json, sandbox_starter

KEY = b"preflight-test-key-0123456789"
INCLUDE = Path(__file__).resolve().parents[2] / "include"
ORG = SandboxSettings(seed=5, customers=20, conversations=60, gdpr_step_seconds=0.05, job_fulfil_seconds=0)
# The pessimistic values of the preflight's sandbox knobs.
DENIED = (
    "GET /api/v2/conversations/{conversationId}/recordingmetadata",
    "POST /api/v2/recordings/deletionprotection",
)
SHORT_RETENTION_DAYS = 400
SEVERAL_DIVISIONS = ("Home", "Sales EU", "Support EU")


@pytest.fixture
def start() -> Iterator[Any]:
    with sandbox_starter(ORG) as starter:
        yield starter


def client_settings(sb: SandboxServer) -> ClientSettings:
    return ClientSettings(
        api_url=sb.base_url, login_url=sb.base_url, client_id=sb.client_id, client_secret=sb.client_secret
    )


def preflight(sb: SandboxServer, tmp_path, **kwargs: Any) -> dict[str, Any]:
    report, path = run_preflight(client_settings(sb), KEY, tmp_path, **kwargs)
    assert json.loads(path.read_text(encoding="utf-8")) == report
    return report


def test_preflight_reports_token_lifetime_rate_limit_retention_and_divisions(start, tmp_path):
    sb = start(
        token_ttl_seconds=7200,
        rate_limit_per_window=250,
        analytics_retention_days=SHORT_RETENTION_DAYS,
        divisions=",".join(SEVERAL_DIVISIONS),
    )
    report = preflight(sb, tmp_path)
    facts = report["facts"]
    assert facts["token_lifetime_seconds"] == 7200
    assert facts["analytics_data_retention_days"] == SHORT_RETENTION_DAYS
    assert facts["divisions"] == {
        "count": 3,
        "names": list(SEVERAL_DIVISIONS),
        "home": "Home",
        "covered": {
            "analytics:conversationDetail:view": {"count": 3, "all_divisions": True},
            "externalContacts:contact:view": {"count": 3, "all_divisions": True},
        },
        "uncovered_names": [],
    }
    assert facts["org_limits"] == {"platform.api": {"client.credentials.token.rate.per.minute": 250}}
    assert {limits["allowed"] for limits in facts["rate_limits"].values()} == {250}
    assert facts["missing_permissions"] == []
    assert report["matching_sandbox_settings"] == {
        "token_ttl_seconds": 7200,
        "rate_limit_per_window": 250,
        "rate_limit_window_seconds": 60,
        "analytics_retention_days": SHORT_RETENTION_DAYS,
        "divisions": ",".join(SEVERAL_DIVISIONS),
        "denied_paths": "",
    }


def test_preflight_reports_the_divisions_a_partial_role_covers_against_those_that_exist(start, tmp_path):
    sb = start(divisions=",".join(SEVERAL_DIVISIONS), role_divisions="Home,Sales EU")
    report = preflight(sb, tmp_path)
    divisions = report["facts"]["divisions"]
    assert divisions["count"] == 3
    assert {seen["count"] for seen in divisions["covered"].values()} == {2}
    assert {seen["all_divisions"] for seen in divisions["covered"].values()} == {False}
    assert divisions["uncovered_names"] == ["Support EU"]
    assert report["matching_sandbox_settings"]["role_divisions"] == "Home,Sales EU"
    assert "  divisions covered for analytics:conversationDetail:view: 2 of 3" in summary_lines(report)


def test_preflight_calls_every_endpoint_the_pipeline_uses(start, tmp_path):
    report = preflight(start(), tmp_path)
    called = {call["endpoint"] for call in report["facts"]["calls"]}
    assert {
        "GET /api/v2/gdpr/requests",
        "GET /api/v2/gdpr/subjects",
        "POST /api/v2/analytics/conversations/details/query",
        "GET /api/v2/analytics/conversations/details",
        "POST /api/v2/analytics/conversations/details/jobs",
        "GET /api/v2/analytics/conversations/details/jobs/{jobId}",
        "GET /api/v2/conversations/{conversationId}",
        "GET /api/v2/conversations/{conversationId}/recordingmetadata",
        "POST /api/v2/recordings/deletionprotection",
        "GET /api/v2/externalcontacts/contacts",
        "GET /api/v2/externalcontacts/contacts/{contactId}",
    } <= called
    # Larger GDPR listing pages than the org accepts are refused (400): that is how the size is found.
    refused = [c for c in report["facts"]["calls"] if c["outcome"] not in ("ok", "not_found")]
    assert {(c["name"], c["status"]) for c in refused} == {
        ("gdpr_requests_page_size_500", 400),
        ("gdpr_requests_page_size_250", 400),
    }


def test_preflight_names_each_denied_permission_with_its_endpoint(start, tmp_path):
    sb = start(denied_paths=",".join(DENIED))
    report = preflight(sb, tmp_path)
    assert report["facts"]["missing_permissions"] == [
        {
            "endpoint": "GET /api/v2/conversations/{conversationId}/recordingmetadata",
            "permissions": ["recording:recording:view"],
        },
        {
            "endpoint": "POST /api/v2/recordings/deletionprotection",
            "permissions": ["recording:deletionProtection:view"],
        },
    ]
    assert report["matching_sandbox_settings"]["denied_paths"] == ",".join(DENIED)
    assert any("recording:recording:view" in line for line in summary_lines(report))


def test_write_permissions_are_probed_only_when_asked_and_change_nothing(start, tmp_path):
    sb = start(denied_paths="DELETE /api/v2/externalcontacts/contacts/{contactId}")
    contacts = len(sb.org.external_contacts)
    assert preflight(sb, tmp_path)["facts"]["write_permissions"] is None
    report = preflight(sb, tmp_path, probe_writes=True)
    assert report["facts"]["write_permissions"] == {
        "gdpr_submit": "not_refused",
        "external_contact_delete": "missing",
        "conversation_disconnect": "permitted",
    }
    assert report["facts"]["missing_permissions"] == [
        {
            "endpoint": "DELETE /api/v2/externalcontacts/contacts/{contactId}",
            "permissions": ["externalContacts:contact:delete"],
        }
    ]
    assert sb.state.gdpr.count() == 0
    assert len(sb.org.external_contacts) == contacts


def test_preflight_finds_the_gdpr_listing_newest_first_and_its_largest_page_size(start, tmp_path):
    sb = start()
    api = ApiClient(sb)
    for customer in list(sb.org.customers.values())[:3]:
        body = {"requestType": "GDPR_EXPORT", "subject": {"emailAddresses": customer.emails[:1]}}
        assert api.post("/api/v2/gdpr/requests", json=body).status_code == 202
        time.sleep(0.01)
    gdpr = preflight(sb, tmp_path)["facts"]["gdpr_requests"]
    assert gdpr == {"largest_page_size": 100, "order": "newest_first", "requests_seen": 3}


def test_preflight_without_the_canary_submits_nothing(start, tmp_path):
    sb = start()
    preflight(sb, tmp_path)
    assert calls_to(sb, "POST /api/v2/gdpr/requests") == 0
    assert calls_to(sb, "DELETE /api/v2/externalcontacts/contacts/{contactId}") == 0


def _canary_contact(sb: SandboxServer) -> tuple[Any, str]:
    customer = next(c for c in sb.org.customers.values() if c.external_contact_id and c.emails and c.phones)
    sb.org.add_conversation(customer, start=sb.org.clock.now() - timedelta(days=2))
    return customer, customer.external_contact_id


def test_canary_reports_the_sandbox_delete_behaviour(start, tmp_path):
    sb = start()
    _, contact_id = _canary_contact(sb)
    report = preflight(sb, tmp_path, canary=CanaryOptions(contact_id, poll_seconds=0.05, timeout_seconds=30))
    canary = report["canary"]
    assert canary["final_status"] == "COMPLETED"
    assert canary["status_path"][-1] == "COMPLETED"
    assert canary["contact_after"] == "deleted"
    assert canary["before"]["contact_status"] == 200
    assert canary["after"]["contact_status"] == 404
    assert canary["conversations_found"] >= 1
    # the sandbox removes the erased contact's id from the analytics details (the field disappears)
    assert "[].participants[].externalContactId:string" in canary["details_change"]["removed"]
    assert canary["details_change"]["added"] == []
    assert canary["contact_change"]["added"] == []
    assert canary["milliseconds"] > 0
    assert report["matching_sandbox_settings"]["gdpr_step_seconds"] > 0
    assert calls_to(sb, "POST /api/v2/gdpr/requests") == 1


def test_canary_finds_the_contacts_conversations_when_the_query_limit_counts_touched_days(start, tmp_path):
    sb = start(details_query_counts_touched_days=True)
    _, contact_id = _canary_contact(sb)
    report = preflight(sb, tmp_path, canary=CanaryOptions(contact_id, poll_seconds=0.05, timeout_seconds=30))
    assert report["canary"]["conversations_found"] >= 1


def test_canary_of_an_unknown_contact_submits_nothing(start, tmp_path):
    sb = start()
    report = preflight(sb, tmp_path, canary=CanaryOptions("00000000-0000-0000-0000-00000000abcd"))
    assert "skipped" in report["canary"]
    assert calls_to(sb, "POST /api/v2/gdpr/requests") == 0


def test_report_holds_no_personal_data_and_verifies_with_its_signature(start, tmp_path):
    sb = start(denied_paths=",".join(DENIED))
    customer, contact_id = _canary_contact(sb)
    report = preflight(sb, tmp_path, canary=CanaryOptions(contact_id, poll_seconds=0.05, timeout_seconds=30))
    text = json.dumps(report)
    personal = [*customer.emails, *customer.phones, customer.name, contact_id]
    assert [value for value in personal if value and value in text] == []
    assert verify_report(report, KEY)
    assert not verify_report({**report, "mode": "read_only"}, KEY)


@pytest.fixture
def hook_on(monkeypatch) -> Iterator[Any]:
    """The pipeline's own hook, pointed at a sandbox through `genesys_cloud_default`."""
    from genesys_cloud.hook import GenesysCloudHook

    hooks: list[GenesysCloudHook] = []

    def point(sb: SandboxServer) -> GenesysCloudHook:
        monkeypatch.setenv(CONN_ENV, connection_json(sb))
        SHARED_TOKENS.clear()
        hooks.append(GenesysCloudHook())
        return hooks[-1]

    yield point
    for hook in hooks:
        hook.close()
    SHARED_TOKENS.clear()


def test_an_analytics_retention_shorter_than_retention_days_is_refused_naming_the_setting(start, hook_on):
    hook = hook_on(start(analytics_retention_days=SHORT_RETENTION_DAYS))
    with pytest.raises(ConfigError) as refused:
        check_analytics_retention(hook, retention_days=1826)
    assert refused.value.field == "retention_days"
    assert f"only {SHORT_RETENTION_DAYS} days" in refused.value.reason


def test_an_analytics_retention_covering_retention_days_passes(start, hook_on):
    hook = hook_on(start(analytics_retention_days=1826))
    assert check_analytics_retention(hook, retention_days=1826) == 1826


def test_a_client_that_may_not_read_the_analytics_retention_is_refused(start, hook_on):
    hook = hook_on(start(denied_paths="GET /api/v2/analytics/dataretention/settings"))
    with pytest.raises(GenesysAuthError) as refused:
        check_analytics_retention(hook, retention_days=1826)
    assert refused.value.code == "missing.permissions"


@pytest.mark.parametrize("denial", ["silent", "403"])
def test_a_role_covering_only_some_divisions_is_refused_naming_the_setting_and_the_count(
    start, hook_on, denial
):
    sb = start(divisions=",".join(SEVERAL_DIVISIONS), role_divisions="Home", division_denial=denial)
    hook = hook_on(sb)
    with pytest.raises(ConfigError) as refused:
        check_division_coverage(hook, allow_partial=False)
    assert refused.value.field == "allow_partial_divisions"
    assert "does not cover 2 of the org's 3 divisions" in refused.value.reason


def test_a_role_covering_only_some_divisions_passes_when_explicitly_accepted(start, hook_on):
    hook = hook_on(start(divisions=",".join(SEVERAL_DIVISIONS), role_divisions="Home,Sales EU"))
    coverage = check_division_coverage(hook, allow_partial=True)
    assert coverage.as_dict()["existing"] == 3
    assert coverage.uncovered == ("Support EU",)


def test_a_role_covering_every_division_passes(start, hook_on):
    hook = hook_on(start(divisions=",".join(SEVERAL_DIVISIONS)))
    coverage = check_division_coverage(hook, allow_partial=False)
    assert (coverage.existing, coverage.uncovered) == (SEVERAL_DIVISIONS, ())


def test_a_client_that_may_not_read_the_divisions_permitted_is_refused(start, hook_on):
    hook = hook_on(start(denied_paths="GET /api/v2/authorization/divisionspermitted/paged/me"))
    with pytest.raises(GenesysAuthError) as refused:
        check_division_coverage(hook, allow_partial=False)
    assert refused.value.code == "missing.permissions"


@pytest.mark.slow  # a process-level test: the CLI in a subprocess
def test_cli_writes_a_signed_report_with_the_pipelines_connection(start, tmp_path):
    sb = start(denied_paths=",".join(DENIED))
    env = {
        **os.environ,
        "PYTHONPATH": str(INCLUDE),
        CONN_ENV: connection_json(sb),
        "AIRFLOW_CONN_GENESYS_ERASURE_HMAC": json.dumps({"conn_type": "generic", "password": KEY.decode()}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "genesys_erasure.preflight", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # a missing permission is a failed preflight
    assert "recording:recording:view" in done.stdout
    [path] = tmp_path.glob("preflight-report-*.json")
    assert verify_report(path, KEY)


def test_a_retry_of_a_canary_run_refuses_to_erase_again():
    from airflow.providers.common.compat.sdk import AirflowFailException

    from genesys_erasure.tasks.preflight import _canary

    params = {"canary_erasure": True, "canary_contact_id": "00000000-0000-0000-0000-00000000abcd"}
    assert _canary(params, try_number=1) is not None
    with pytest.raises(AirflowFailException):
        _canary(params, try_number=2)


def test_canary_structure_keeps_no_keys_of_maps_that_flows_fill():
    from genesys_erasure.preflight.canary import structure

    shape = structure(
        {
            "participants": [
                {
                    "attributes": {"anna.berg@example.com": "x", "callback": "+441632960001"},
                    "purpose": "customer",
                }
            ]
        }
    )
    text = json.dumps(shape)
    assert "anna.berg" not in text and "callback" not in text
    assert shape == {"participants": [{"attributes": {"*": "string"}, "purpose": "string"}]}

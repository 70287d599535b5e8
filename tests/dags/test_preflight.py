"""End to end: the `genesys_preflight` DAG against a sandbox, and the purge's analytics retention check."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from genesys_devtools.demo import DEMO_HMAC_KEY
from genesys_erasure.evidence import key_from_text, verify_report
from tests.support.privacy_scan import scan_paths
from tests.support.sandbox import calls_to

pytestmark = pytest.mark.slow  # end-to-end dag.test() runs

DENIED = ("GET /api/v2/conversations/{conversationId}/recordingmetadata",)


def _reports(stack: Any) -> list[dict[str, Any]]:
    paths = sorted((Path(stack.home) / "reports" / "preflight").glob("preflight-report-*.json"))
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def test_preflight_dag_writes_a_signed_read_only_report(purge_stack):
    stack = purge_stack(divisions="Home,Sales EU,Support EU")
    run = stack.run("genesys_preflight")
    assert run.state == "success"
    [report] = _reports(stack)
    assert verify_report(report, key_from_text(DEMO_HMAC_KEY))
    assert report["mode"] == "read_only"
    assert report["facts"]["divisions"]["count"] == 3
    assert calls_to(stack.sandbox, "POST /api/v2/gdpr/requests") == 0


def test_preflight_dag_fails_naming_a_denied_permission_after_writing_the_report(purge_stack):
    stack = purge_stack(denied_paths=",".join(DENIED))
    run = stack.run("genesys_preflight")
    assert run.state == "failed"
    [report] = _reports(stack)
    assert report["facts"]["missing_permissions"] == [
        {"endpoint": DENIED[0], "permissions": ["recording:recording:view"]}
    ]


def test_a_short_analytics_retention_fails_the_purge_before_anything_is_read(purge_stack):
    stack = purge_stack(analytics_retention_days=400)
    run = stack.run(backfill=True)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate_settings"] == "failed"
    assert states["find_expired_customers"] == "upstream_failed"
    counts = stack.sandbox.control.request_counts()["by_endpoint"]
    assert set(counts) <= {"POST /oauth/token", "GET /api/v2/analytics/dataretention/settings"}
    assert stack.gdpr_request_count() == 0


def test_preflight_dag_runs_the_canary_only_when_asked_and_submits_once(purge_stack):
    stack = purge_stack()
    org = stack.sandbox.org
    customer = next(c for c in org.customers.values() if c.external_contact_id and c.emails)
    org.add_conversation(customer, start=org.clock.now() - timedelta(days=2))
    run = stack.run("genesys_preflight", canary_erasure=True, canary_contact_id=customer.external_contact_id)
    assert run.state == "success"
    [report] = _reports(stack)
    assert report["mode"] == "canary"
    assert report["canary"]["final_status"] == "COMPLETED"
    # the org deletes external contacts 48 h after COMPLETED (pessimistic profile): the canary reports the
    # contact as it found it right after COMPLETED
    assert report["canary"]["contact_after"] == "unchanged structure"
    assert calls_to(stack.sandbox, "POST /api/v2/gdpr/requests") == 1
    personal = [*customer.emails, *customer.phones, customer.name]
    hits = scan_paths([os.environ["AIRFLOW_HOME"], stack.home], [p for p in personal if p])
    assert hits == [], f"personal data found in: {sorted({str(h.path) for h in hits})}"

"""The nightly purge against a client whose role covers only some of the org's divisions: `dag.test()`
against the sandbox over HTTP, in the sandbox's pessimistic (silent) denial mode."""

from __future__ import annotations

import json

import pytest

from tests.support.dag_runs import task_result
from tests.support.sandbox import calls_to

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DIVISIONS = "Home,Sales EU,Support EU"


def test_a_role_covering_only_some_divisions_fails_the_first_task_before_anything_is_read(purge_stack):
    stack = purge_stack(divisions=DIVISIONS, role_divisions="Home", division_denial="silent")
    run = stack.run(backfill=True)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate_settings"] == "failed"
    assert states["find_expired_customers"] == "upstream_failed"
    assert calls_to(stack.sandbox, "POST /api/v2/analytics/conversations/details/jobs") == 0
    assert calls_to(stack.sandbox, "POST /api/v2/analytics/conversations/details/query") == 0
    assert calls_to(stack.sandbox, "GET /api/v2/externalcontacts/contacts") == 0
    assert stack.gdpr_request_count() == 0


def test_a_partial_role_accepted_in_the_config_runs_and_reports_division_counts_only(purge_stack):
    stack = purge_stack(divisions=DIVISIONS, role_divisions="Home", division_denial="silent")
    stack.configure(allow_partial_divisions=True)
    run = stack.run(backfill=True, dry_run=True)
    assert run.state == "success"
    settings = task_result(run, "validate_settings")
    assert settings["divisions"] == {
        "existing": 3,
        "covered": 1,
        "uncovered": 2,
        "permissions": ["analytics:conversationDetail:view", "externalContacts:contact:view"],
    }
    assert "Sales EU" not in json.dumps(settings)

"""The nightly purge against a client whose role covers only some of the org's divisions: `dag.test()`
against the sandbox over HTTP, in the sandbox's pessimistic (silent) denial mode."""

from __future__ import annotations

import pytest

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

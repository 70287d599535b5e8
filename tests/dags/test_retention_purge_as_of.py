"""The nightly purge triggered "as of" a past instant: `dag.test()` against the sandbox over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.dag_runs import task_result

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_dry_run_as_of_a_past_instant_scans_and_reports_that_instants_cutoff(purge_stack):
    stack = purge_stack()
    as_of = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)

    run = stack.run(backfill=True, dry_run=True, as_of=as_of.isoformat())

    assert run.state == "success"
    settings = task_result(run, "validate_settings")
    parameters = stack.report(run)["parameters"]
    assert settings["as_of"] == parameters["as_of"] == as_of.isoformat()
    assert settings["cutoff"] == parameters["cutoff"] == task_result(run, "find_expired_customers")["cutoff"]

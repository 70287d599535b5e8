"""The nightly purge triggered "as of" a past instant: `dag.test()` against the sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_dry_run_as_of_a_past_instant_scans_and_reports_that_instants_cutoff(purge_stack):
    stack = purge_stack()
    as_of = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)

    run = stack.run(backfill=True, dry_run=True, as_of=as_of.isoformat())

    assert run.state == "success"
    settings = _xcom(run, "validate_settings")
    parameters = stack.report(run)["parameters"]
    assert settings["as_of"] == parameters["as_of"] == as_of.isoformat()
    assert settings["cutoff"] == parameters["cutoff"] == _xcom(run, "find_expired_customers")["cutoff"]


def _xcom(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        ).first()
        value = row.value if row is not None else None
    return json.loads(value) if isinstance(value, str) else value

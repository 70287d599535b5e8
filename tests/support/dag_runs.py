"""Reading what a `dag.test()` run left in the Airflow metadata database."""

from __future__ import annotations

import json
from typing import Any


def task_result(run, task_id: str) -> Any:
    """The return value (XCom) of `task_id` in `run`, decoded; None when the task returned nothing."""
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

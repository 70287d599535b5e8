"""Answering the erasure flow's approval (an Airflow 3.3 Human-in-the-loop task) while `dag.test()` runs,
for the demo and the tests (a deployment answers it under Required Actions or through the REST API).

On Airflow 3.3 an `ApprovalOperator` parks its task instance in `awaiting_input`; `dag.test()` then waits
until something outside flips it back to `scheduled`. In production that is the Required Actions UI / the
HITL REST API (`PATCH …/hitlDetails`). Here a thread does exactly what that endpoint does, on the same
metadata database: record the response on the `hitl_detail` row and resume the task with
`handle_event_submit`, so the operator's own `execute_complete` (approve, or skip downstream) runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

APPROVE = "Approve"
REJECT = "Reject"


def _answer_if_waiting(dag_id: str, task_id: str, option: str) -> bool:
    from airflow._shared.timezones import timezone
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.task_id == task_id,
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            )
        ).first()
        if ti is None:
            return False
        detail = session.get(HITLDetail, ti.id)
        if detail is None:
            return False
        if detail.response_received:
            # answered, yet the task is still awaiting input: dag.test() wrote back its own copy of the
            # task instance over the resume (seen once); resume it again with the recorded answer
            handle_event_submit(
                TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
            )
            return False
        detail.responded_by = {"id": "test-approver", "name": "Test Approver"}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = [option]
        detail.params_input = {}
        session.add(detail)
        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
    return True


@contextmanager
def answer_approval(
    option: str, *, dag_id: str = "genesys_subject_erasure", task_id: str = "erasure.approve"
) -> Iterator[dict[str, int]]:
    """While the block runs, answer every approval request of `dag_id` with `option`; yields a counter
    of the answers given (a test can assert the approval was actually asked for)."""
    answered = {"count": 0}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                if _answer_if_waiting(dag_id, task_id, option):
                    answered["count"] += 1
            except Exception:  # the DB may be busy (SQLite); try again shortly
                pass
            stop.wait(0.5)

    thread = threading.Thread(target=watch, name="hitl-answer", daemon=True)
    thread.start()
    try:
        yield answered
    finally:
        stop.set()
        thread.join(timeout=10)
        time.sleep(0)

"""`GdprRequestsSensor`: wait until submitted GDPR requests are final (in the triggerer by default)."""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, BaseSensorOperator

from genesys_cloud.gdpr_status import StatusPoll, is_final, normalise_request_ids

# The hook and the trigger (requests, aiohttp) are imported when the sensor runs, not when a DAG file that
# uses it is parsed: DAG files are parsed again and again by the dag-processor.
DEFAULT_CONN_ID = "genesys_cloud_default"

# Let the trigger report its own "deadline" event before Airflow's defer timeout would fail the task.
_DEFER_TIMEOUT_GRACE = timedelta(hours=1)


class GdprRequestsSensor(BaseSensorOperator):
    """Wait until every GDPR request is COMPLETED, ERROR or NOT_FOUND (the API does not know the id).

    Shaped like the dbt Cloud provider's `DbtCloudJobRunSensor`: `poke()` checks once. Deferrable (the
    default), `execute` pokes once and, if a request is still open, defers to `GdprRequestsTrigger`;
    otherwise the base sensor pokes every `poll_interval` seconds (mode "poke" or "reschedule").

    The deadline is absolute: `timeout_days` after the start of the DAG run (after now, outside a DAG
    run), so a retried task does not extend it. At the deadline the sensor returns the statuses as they
    are, the open ones included: the caller marks those overdue.

    Returns `{request_id: status}` (ids and statuses only). A failed poll in the triggerer (bad
    connection, retries exhausted) fails the task.

    :param request_ids: GDPR request ids (templated; a list, or its JSON/Python text from XCom).
    :param genesys_conn_id: Genesys Cloud connection id.
    :param poll_interval: Seconds between polls (in the triggerer, or between pokes).
    :param timeout_days: Deadline, counted from the start of the DAG run.
    :param deferrable: Wait in the triggerer (True) or in the worker (False).
    """

    template_fields: Sequence[str] = ("request_ids",)
    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        request_ids: list[str] | str,
        genesys_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 600.0,
        timeout_days: float = 30.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be a positive number of seconds")
        if timeout_days <= 0:
            raise ValueError("timeout_days must be positive")
        # A backstop only: poke() itself answers True at the (absolute) deadline. Unless given, it follows
        # `timeout_days`, also when a subclass sets that only when the task runs.
        self._timeout_follows_deadline = "timeout" not in kwargs
        kwargs.setdefault("timeout", timedelta(days=timeout_days) + _DEFER_TIMEOUT_GRACE)
        kwargs.setdefault("poke_interval", poll_interval)
        super().__init__(**kwargs)
        self.request_ids = request_ids
        self.genesys_conn_id = genesys_conn_id
        self.poll_interval = poll_interval
        self.timeout_days = timeout_days
        self.deferrable = deferrable
        self._statuses: dict[str, str] = {}
        self._poll: StatusPoll | None = None  # kept between pokes: final requests are not read again

    def deadline(self, context: Any) -> datetime:
        """`timeout_days` after the start of the DAG run: the same for every try of the task."""
        dag_run = context.get("dag_run") if context else None
        started = getattr(dag_run, "start_date", None) or datetime.now(UTC)
        return started + timedelta(days=self.timeout_days)

    def poke(self, context: Any) -> bool:
        """Read the statuses once: True when every request is final, or the deadline has passed."""
        request_ids = normalise_request_ids(parse_request_ids(self.request_ids))
        self._statuses = self._read_statuses(request_ids)
        open_count = sum(not is_final(status) for status in self._statuses.values())
        if not open_count:
            self.log.info("All %d GDPR requests are final", len(self._statuses))
            return True
        if datetime.now(UTC) >= self.deadline(context):
            self.log.warning(
                "Deadline passed with %d of %d GDPR requests unfinished", open_count, len(self._statuses)
            )
            return True
        self.log.info("%d of %d GDPR requests still open", open_count, len(self._statuses))
        return False

    def execute(self, context: Any) -> dict[str, str]:
        if self._timeout_follows_deadline:
            self.timeout = (timedelta(days=self.timeout_days) + _DEFER_TIMEOUT_GRACE).total_seconds()
        if not self.deferrable:
            super().execute(context)  # pokes until poke() is True
            return dict(self._statuses)
        if self.poke(context):
            return dict(self._statuses)
        deadline = self.deadline(context)
        self.log.info("Deferring until every GDPR request is final or %s", deadline.isoformat())
        from genesys_cloud.triggers import GdprRequestsTrigger

        self.defer(
            trigger=GdprRequestsTrigger(
                conn_id=self.genesys_conn_id,
                request_ids=list(self._statuses),
                deadline_iso=deadline.isoformat(),
                poll_interval=self.poll_interval,
            ),
            method_name="execute_complete",
            timeout=deadline - datetime.now(UTC) + _DEFER_TIMEOUT_GRACE,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, str]:
        statuses = {str(k): str(v) for k, v in (event.get("requests") or {}).items()}
        status = event.get("status")
        if status == "error":
            raise AirflowException(f"polling the GDPR requests failed: {event.get('message')}")
        if status == "deadline":
            self.log.warning(
                "Deadline passed with %d of %d GDPR requests unfinished",
                sum(not is_final(s) for s in statuses.values()),
                len(statuses),
            )
        else:
            self.log.info("All %d GDPR requests are final", len(statuses))
        return statuses

    def _read_statuses(self, request_ids: list[str]) -> dict[str, str]:
        if not request_ids:
            return {}
        from genesys_cloud.hook import GenesysCloudHook

        if self._poll is None or self._poll.request_ids != request_ids:
            self._poll = StatusPoll(request_ids)
        with GenesysCloudHook(self.genesys_conn_id) as hook:
            return hook.poll_gdpr_request_statuses(self._poll)


def parse_request_ids(value: Any) -> list[str]:
    """Request ids from a list, or from the text a template renders (JSON, Python repr or commas)."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(text)
            except (ValueError, SyntaxError):
                continue
            return parse_request_ids(parsed) if not isinstance(parsed, str) else [parsed]
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, (list, tuple, set)):
        return list(value)
    raise ValueError(f"request_ids must be a list of GDPR request ids, not {type(value).__name__}")

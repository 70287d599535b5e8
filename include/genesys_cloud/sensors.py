"""`GdprRequestsSensor`: wait (deferred, in the triggerer) until submitted GDPR requests are final."""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, BaseSensorOperator

from genesys_cloud.gdpr_status import all_final, is_final, normalise_request_ids
from genesys_cloud.hook import GenesysCloudHook
from genesys_cloud.triggers import GdprRequestsTrigger

# Let the trigger report its own "deadline" event before Airflow's defer timeout would fail the task.
_DEFER_TIMEOUT_GRACE = timedelta(hours=1)


class GdprRequestsSensor(BaseSensorOperator):
    """Poke once; if any request is still open, defer to `GdprRequestsTrigger` until all are final.

    Returns `{request_id: status}` (ids and statuses only). Statuses: COMPLETED, ERROR, NOT_FOUND (the
    API does not know the id) or, after the deadline, whatever the request was still in: the caller
    marks those overdue. A failed poll in the triggerer (bad connection, retries exhausted) fails the task.

    :param request_ids: GDPR request ids (templated; a list, or its JSON/Python text from XCom).
    :param genesys_conn_id: Genesys Cloud connection id.
    :param poll_interval: Seconds between polls in the triggerer.
    :param timeout_days: Deadline, counted from the first execution of the task.
    """

    template_fields: Sequence[str] = ("request_ids",)
    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        request_ids: list[str] | str,
        genesys_conn_id: str = GenesysCloudHook.default_conn_name,
        poll_interval: float = 600.0,
        timeout_days: float = 30.0,
        **kwargs: Any,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be a positive number of seconds")
        if timeout_days <= 0:
            raise ValueError("timeout_days must be positive")
        kwargs.setdefault("timeout", timedelta(days=timeout_days) + _DEFER_TIMEOUT_GRACE)
        super().__init__(**kwargs)
        self.request_ids = request_ids
        self.genesys_conn_id = genesys_conn_id
        self.poll_interval = poll_interval
        self.timeout_days = timeout_days

    def execute(self, context: Any) -> dict[str, str]:
        deadline = datetime.now(UTC) + timedelta(days=self.timeout_days)
        request_ids = self._request_ids()
        statuses = self._statuses(request_ids)
        if all_final(statuses):
            self.log.info("All %d GDPR requests are already final", len(statuses))
            return statuses
        self.log.info(
            "%d of %d GDPR requests still open; deferring until %s",
            sum(not is_final(status) for status in statuses.values()),
            len(statuses),
            deadline.isoformat(),
        )
        self.defer(
            trigger=GdprRequestsTrigger(
                conn_id=self.genesys_conn_id,
                request_ids=request_ids,
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

    def _statuses(self, request_ids: list[str]) -> dict[str, str]:
        if not request_ids:
            return {}
        with GenesysCloudHook(self.genesys_conn_id) as hook:
            return hook.get_gdpr_request_statuses(request_ids)

    def _request_ids(self) -> list[str]:
        return normalise_request_ids(parse_request_ids(self.request_ids))


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

"""`GdprRequestsTrigger`: waits in the triggerer until a set of GDPR requests is final.

GDPR requests take hours to days, and Genesys publishes no notification topic for them, so the trigger
polls the paged request list (`GET /api/v2/gdpr/requests` from its newest end, stopping once every open id
was seen; single GETs only for ids the list does not show; see `gdpr_status.StatusPoll`): a round costs
about (requests still open) / (page size) calls, whatever the list's order and history. It only reads: no
request is ever submitted from here.

It yields exactly one event and never raises:
`{"status": "done" | "deadline" | "error", "requests": {id: status}, "message": str}`. Messages carry
exception classes, status codes and correlation ids, never bodies or personal data.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from genesys_cloud.async_hook import GenesysCloudAsyncHook
from genesys_cloud.errors import GenesysCloudError
from genesys_cloud.gdpr_status import StatusPoll, all_final, is_final


class GdprRequestsTrigger(BaseTrigger):
    """Poll GDPR requests until all are COMPLETED/ERROR or `deadline_iso` (absolute UTC) has passed.

    :param conn_id: Genesys Cloud connection id.
    :param request_ids: GDPR request ids to watch.
    :param deadline_iso: Absolute deadline (ISO-8601, UTC); survives triggerer restarts unchanged.
    :param poll_interval: Seconds between polls.
    """

    def __init__(self, conn_id: str, request_ids: list[str], deadline_iso: str, poll_interval: float) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.request_ids = list(request_ids)
        self.deadline_iso = deadline_iso
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "request_ids": list(self.request_ids),
                "deadline_iso": self.deadline_iso,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        payload = await self._wait()
        yield TriggerEvent(payload)

    async def _wait(self) -> dict[str, Any]:
        statuses: dict[str, str] = {}
        try:
            deadline = parse_deadline(self.deadline_iso)
            poll = StatusPoll(self.request_ids)
            async with GenesysCloudAsyncHook(self.conn_id) as hook:
                while True:
                    statuses = await hook.poll_gdpr_request_statuses(poll)
                    if all_final(statuses):
                        return event_payload("done", statuses, f"all {len(statuses)} requests are final")
                    remaining = (deadline - datetime.now(UTC)).total_seconds()
                    if remaining <= 0:
                        open_count = sum(not is_final(status) for status in statuses.values())
                        message = f"deadline {self.deadline_iso} passed with {open_count} requests unfinished"
                        return event_payload("deadline", statuses, message)
                    self.log.info(
                        "GDPR requests: %d of %d final; next poll in %.0fs",
                        sum(is_final(status) for status in statuses.values()),
                        len(statuses),
                        min(self.poll_interval, remaining),
                    )
                    await asyncio.sleep(min(self.poll_interval, remaining))
        except Exception as exc:
            return event_payload("error", statuses, describe_failure(exc))


def parse_deadline(deadline_iso: str) -> datetime:
    """An aware UTC datetime; a naive value is taken as UTC. Raises ValueError on bad text."""
    value = datetime.fromisoformat(deadline_iso.strip().replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def event_payload(status: str, statuses: dict[str, str], message: str) -> dict[str, Any]:
    return {"status": status, "requests": dict(statuses), "message": message}


def describe_failure(exc: BaseException) -> str:
    """Class, status, code and correlation id of a failure; text only from errors known to be safe."""
    if isinstance(exc, GenesysCloudError):
        parts = [type(exc).__name__]
        if exc.status is not None:
            parts.append(f"HTTP {exc.status}")
        if exc.code:
            parts.append(exc.code)
        parts.append(f"correlation id {exc.correlation_id or '-'}")
        return " ".join(parts)
    # Configuration errors (missing connection, bad host/region/credentials fields) say which field;
    # anything else may carry URLs or values, so only its class is reported.
    if type(exc).__name__ in {"AirflowNotFoundException", "AirflowException"} or isinstance(exc, ValueError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__

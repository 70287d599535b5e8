"""The daily DSR deadline check: requests near or past their GDPR due date, listed in the task log and,
when configured, sent through an Airflow notifier (SMTP or a webhook on an HTTP connection).

The ledger and the runtime are imported inside the functions: a DAG file must parse fast."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

from genesys_erasure.tasks.runtime import open_runtime

if TYPE_CHECKING:
    from genesys_erasure.deadlines import DeadlineEntry

log = logging.getLogger(__name__)

NOTIFIERS = ("none", "smtp", "webhook")


def check_notify_params(params: dict[str, Any]) -> None:
    """Fail on an incomplete notification setting (AirflowFailException, naming the Param or the
    connection), before anything is read. Checked on every run, also when nothing is due: a broken
    setting then shows on its first day, not on the day a request nears its deadline and the message
    matters. SmtpNotifier needs a sender: the connection's `from_email` extra."""
    kind = params.get("notify") or "none"
    if kind not in NOTIFIERS:
        raise AirflowFailException(f"param 'notify': must be one of {', '.join(NOTIFIERS)}")
    if kind == "none":
        return
    if kind == "smtp" and not params.get("notify_to"):
        raise AirflowFailException("param 'notify_to': required when notify is smtp")
    if kind == "webhook" and not params.get("notify_conn_id"):
        raise AirflowFailException("param 'notify_conn_id': required when notify is webhook")
    conn_id = _notify_conn_id(kind, params)
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:  # the SDK raises its own not-found type; the message must name the conn
        raise AirflowFailException(
            f"param 'notify_conn_id': Airflow connection '{conn_id}' is not defined"
        ) from exc
    if kind == "smtp" and not connection.extra_dejson.get("from_email"):
        raise AirflowFailException(
            f"SMTP connection '{conn_id}': set the sender as 'from_email' in its extras"
        )


def _notify_conn_id(kind: str, params: dict[str, Any]) -> str:
    """The connection to send through: the Param, else (SMTP only) Airflow's e-mail connection."""
    if params.get("notify_conn_id"):
        return params["notify_conn_id"]
    from airflow.providers.common.compat.sdk import conf
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    return conf.get("email", "email_conn_id", fallback=SmtpHook.default_conn_name)


def build_notifier(params: dict[str, Any], entries: list[DeadlineEntry]):
    """The notifier the run's Params ask for, or None; the Params were checked (`check_notify_params`)
    when the task started."""
    from genesys_erasure.deadlines import notification_html, notification_text

    kind = params.get("notify") or "none"
    if kind == "none":
        return None
    text = notification_text(entries)
    conn_id = _notify_conn_id(kind, params)
    if kind == "smtp":
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        return SmtpNotifier(
            to=params["notify_to"],
            subject=f"GDPR erasure deadlines: {len(entries)} request(s) need attention",
            html_content=notification_html(entries),
            smtp_conn_id=conn_id,
        )
    from airflow.providers.http.notifications.http import HttpNotifier

    payload = {"text": text, "requests": [e.to_dict() for e in entries]}
    return HttpNotifier(http_conn_id=conn_id, json=payload, headers={"Content-Type": "application/json"})


@task
def check_dsr_deadlines() -> dict[str, Any]:
    # The ledger (SQLAlchemy) is imported when the task runs, not when the DAG file is parsed.
    from genesys_erasure.deadlines import notification_text, requests_near_deadline

    context = get_current_context()
    params = context["params"]
    check_notify_params(params)
    days = int(params.get("days_before", 5))
    now = datetime.now(UTC)
    with open_runtime(params) as runtime:
        rows = runtime.ledger.due_soon(now, days)
    entries = requests_near_deadline(rows, now.date(), days)
    overdue = sum(e.overdue for e in entries)
    if entries:
        log.warning("%s", notification_text(entries))
    else:
        log.info("No data-subject request is due within %d day(s) or overdue", days)
    notifier = build_notifier(params, entries) if entries else None
    if notifier is not None:
        notifier(context)
        log.info("Notification sent through %s", type(notifier).__name__)
    return {
        "days_before": days,
        "flagged": len(entries),
        "overdue": overdue,
        "notified": notifier is not None,
        "requests": [e.to_dict() for e in entries],
    }

"""The daily deadline check's notifications against real local servers: `dag.test()` of
`genesys_dsr_deadline_check` sends through the smtp provider's `SmtpNotifier` to an aiosmtpd server and
through the http provider's `HttpNotifier` to a local HTTP server, each reached by an Airflow connection
(its URI in the environment); what arrives names tickets and keyed hashes, never a subject's identifier."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from genesys_erasure.dsr import add_one_month
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import Ledger, SubjectPlan, SubjectSource
from genesys_erasure.tasks.runtime import load_runtime
from tests.support.dag_runs import task_result

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
CHECK = "genesys_dsr_deadline_check"
TICKET = "DSR-2026-0027"
EMAIL = "nell.notify@example.org"
RECIPIENTS = ["dpo@example.org", "privacy.office@example.org"]


@pytest.fixture
def stack(purge_stack):
    stack = purge_stack()
    stack.configure(allow_inline_subjects=True)
    return stack


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(monkeypatch) -> Iterator[_Inbox]:
    """A plain SMTP server on loopback (no TLS, no auth) and the Airflow connection `deadline_smtp`."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        # a local server speaks neither STARTTLS nor SMTPS; the sender is the connection's
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@example.org",
                  "timeout": 10, "retry_limit": 0},
    }  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_DEADLINE_SMTP", json.dumps(connection))
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def webhook_server(monkeypatch) -> Iterator[list[tuple[str, dict, bytes]]]:
    """A local HTTP server answering 204 to every POST, and the Airflow connection `deadline_webhook`
    whose host is the webhook's URL."""
    received: list[tuple[str, dict, bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args) -> None:  # keep the test output to the test
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/gdpr-deadlines"
    monkeypatch.setenv("AIRFLOW_CONN_DEADLINE_WEBHOOK", json.dumps({"conn_type": "http", "host": url}))
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _request_near_its_deadline(stack) -> str:
    """A data-subject request received 26 days ago whose subject a dry run planned (so it is not erased),
    as the ad-hoc DAG's dry run leaves it in the ledger (`test_subject_erasure.py` runs that DAG): its
    subject's keyed hash. The customer is in the org, so its address is a value that could leak."""
    org = stack.sandbox.org
    customer = org.add_customer(emails=[EMAIL], phones=[], name="Nell Notify")
    org.add_conversation(customer, media="email", direction="inbound")
    runtime = load_runtime({})
    received = datetime.now(UTC).date() - timedelta(days=26)
    plan = SubjectPlan.build(
        [Identifier(IdentifierKind.EMAIL, EMAIL)],
        hasher=runtime.hasher,
        sealer=runtime.sealer,
        source=SubjectSource.DSR,
        conversation_ids=customer.conversation_ids,
        ticket=TICKET,
        received_on=received,
        due_date=add_one_month(received),
    )
    with Ledger.open(runtime.ledger_url) as ledger:
        ledger.plan([plan], "manual__dry-run-of-the-ticket", dry_run=True)
    return plan.subject_hash


def _body(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(
        p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
        for p in parts
        if p.get_content_maintype() == "text"
    )


def test_smtp_notification_reaches_the_recipients_with_tickets_and_hashes_only(stack, smtp_server):
    subject_hash = _request_near_its_deadline(stack)

    check = stack.run(CHECK, notify="smtp", notify_conn_id="deadline_smtp", notify_to=", ".join(RECIPIENTS))

    assert check.state == "success"
    [envelope] = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == sorted(RECIPIENTS)
    message = message_from_bytes(envelope.original_content)
    assert message["Subject"] == "GDPR erasure deadlines: 1 request(s) need attention"
    body = _body(message)
    assert TICKET in body and subject_hash[:16] in body  # the text names a subject by its hash's start
    assert EMAIL not in envelope.original_content.decode("utf-8", "replace").lower()
    assert task_result(check, "check_dsr_deadlines")["notified"] is True


def test_webhook_notification_posts_the_list_as_json_with_tickets_and_hashes_only(stack, webhook_server):
    subject_hash = _request_near_its_deadline(stack)

    check = stack.run(CHECK, notify="webhook", notify_conn_id="deadline_webhook")

    assert check.state == "success"
    [(path, headers, raw)] = webhook_server
    assert path == "/hooks/gdpr-deadlines"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(raw)
    assert TICKET in payload["text"] and subject_hash[:16] in payload["text"]
    assert [(r["ticket"], r["subject_hash"]) for r in payload["requests"]] == [(TICKET, subject_hash)]
    assert EMAIL not in raw.decode("utf-8").lower()


def test_smtp_notification_without_recipients_fails_the_check_naming_the_param(stack, smtp_server, capfd):
    _request_near_its_deadline(stack)

    check = stack.run(CHECK, notify="smtp", notify_conn_id="deadline_smtp")

    assert check.state == "failed"
    assert "param 'notify_to': required when notify is smtp" in "".join(capfd.readouterr())
    assert smtp_server.envelopes == []


@pytest.mark.parametrize(
    ("conf", "named"),
    [
        ({"notify_conn_id": "deadline_smtp"}, "param 'notify_to': required when notify is smtp"),
        (
            {"notify_conn_id": "smtp_without_sender", "notify_to": RECIPIENTS[0]},
            "SMTP connection 'smtp_without_sender': set the sender as 'from_email' in its extras",
        ),
    ],
    ids=["no_recipients", "no_sender"],
)
def test_an_incomplete_smtp_setting_fails_the_check_even_when_nothing_is_due(
    stack, smtp_server, monkeypatch, capfd, conf, named
):
    connection = json.loads(os.environ["AIRFLOW_CONN_DEADLINE_SMTP"])
    del connection["extra"]["from_email"]
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_WITHOUT_SENDER", json.dumps(connection))

    check = stack.run(CHECK, notify="smtp", **conf)

    assert check.state == "failed"
    assert named in "".join(capfd.readouterr())

"""The analyst's intake path end to end: a real `airflow api-server` with the plugin, the SimpleAuthManager
and the session's metadata DB; the subject list is posted to the intake page as the analyst (role `user`),
Airflow creates the run through its own REST endpoint, the DAG erases the subjects from the sandbox
reading the sealed file, the file is wiped, and afterwards no planted value is anywhere in the metadata DB
(every table, read as raw SQLite bytes and row by row), the task logs, the API server's log, the ledger
or the reports.

No scheduler runs in the tests: the run Airflow created stays queued and `dag.test()` runs the DAG with
the conf Airflow stored for it (the only thing a scheduler would hand the tasks).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from genesys_devtools.approvals import APPROVE, answer_approval
from genesys_devtools.demo import load_dag
from tests.dags.conftest import PAST_DELETE_LAG_HOURS
from tests.support.api_server import EvidenceServer, start_api_server, sync_dags_to_db, token
from tests.support.privacy_scan import scan_paths

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DAG_ID = "genesys_subject_erasure"
EMAIL = "ines.intake.4417@example.org"
PHONE = "+442079460917"
NEEDLES = [EMAIL, "ines.intake.4417", PHONE, "2079460917"]
CONF_KEYS = {
    "ticket",
    "received_on",
    "mode",
    "replacement_text",
    "subjects_file",
    "dry_run",
    "skip_invalid_rows",
}


@pytest.fixture
def stack(purge_stack):
    stack = purge_stack()
    sync_dags_to_db()
    return stack


@pytest.fixture
def server(stack, tmp_path: Path) -> Iterator[EvidenceServer]:
    yield from start_api_server(tmp_path)


def _form() -> dict[str, str]:
    # dry_run left unticked: the real run (a browser sends nothing for an unticked box)
    return {
        "ticket": "DSR-2026-0077",
        "received_on": (datetime.now(UTC).date() - timedelta(days=3)).isoformat(),
        "mode": "delete",
        "replacement_text": "REDACTED",
        "subjects": f"{EMAIL}\n{PHONE}\n",
    }


def _table_rows_holding(needles: list[str]) -> list[str]:
    """Every column of every row of every table of Airflow's metadata DB, read as text: the tables whose
    rows hold a needle (names only)."""
    from airflow.settings import engine
    from sqlalchemy import inspect, text

    found = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                cells = " ".join(
                    bytes(c).decode("utf-8", "replace") if isinstance(c, bytes | memoryview) else str(c)
                    for c in row
                ).lower()
                if any(n.lower() in cells for n in needles):
                    found.append(table)
                    break
    return found


def test_a_list_submitted_on_the_intake_page_is_erased_and_leaves_no_value_in_airflow(
    stack, server, tmp_path
):
    org = stack.sandbox.org
    customer = org.add_customer(emails=[EMAIL], phones=[PHONE], name="Ines Intake")
    org.add_conversation(customer, media="email", direction="inbound")
    url = f"{server.base_url}/erasure-evidence/intake"

    # the auditor (viewer) may read the evidence but not submit a request
    auditor = {"Authorization": f"Bearer {token(server, 'auditor')}"}
    assert requests.post(url, data=_form(), headers=auditor, timeout=60).status_code == 403

    analyst = {"Authorization": f"Bearer {token(server, 'analyst')}"}
    answer = requests.post(url, data=_form(), headers=analyst, timeout=120)
    assert answer.status_code == 200, answer.text[-2000:]
    run_id = re.search(r'id="run-id">([^<]+)<', answer.text).group(1)
    assert EMAIL not in answer.text and PHONE not in answer.text

    # Airflow's own record of the run: created by the analyst, conf = the sealed file's URI and the ticket
    stored = requests.get(
        f"{server.base_url}/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}",
        headers=analyst,
        timeout=30,
    ).json()
    assert stored["triggering_user_name"] == "analyst" and stored["state"] == "queued"
    conf = stored["conf"]
    assert set(conf) == CONF_KEYS and conf["dry_run"] is False and conf["ticket"] == "DSR-2026-0077"
    sealed = Path(urlsplit(conf["subjects_file"]).path)
    assert sealed.is_file() and sealed.parent == stack.home / "var" / "intake"
    assert scan_paths([sealed], NEEDLES) == []  # sealed: ciphertext only
    audit = requests.get(
        f"{server.base_url}/api/v2/eventLogs", params={"dag_id": DAG_ID}, headers=analyst, timeout=30
    ).json()["event_logs"]
    trigger_entries = [e for e in audit if "trigger" in e["event"]]
    assert trigger_entries and trigger_entries[0]["owner"] == "analyst"
    assert "subjects_file" in (trigger_entries[0]["extra"] or "")  # the audit log keeps the conf it got

    with answer_approval(APPROVE):
        run = load_dag(DAG_ID).test(run_conf=conf)

    assert run.state == "success", {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    details = json.dumps(stack.hook().get_conversations_details(customer.conversation_ids)).lower()
    assert EMAIL not in details, "the subject read from the sealed file was erased"
    # Genesys deletes the contact's remains later (the sandbox's lag): the subject is pending, so the list
    # is kept for the run of the ticket that certifies it
    assert sealed.is_file()
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    with answer_approval(APPROVE):
        again = load_dag(DAG_ID).test(run_conf=conf)

    assert again.state == "success"
    certificates = list((stack.home / "reports" / "certificates" / "DSR-2026-0077").glob("*.json"))
    assert certificates, "the ticket's certificate was issued"
    assert not sealed.exists(), "the sealed list was wiped once every subject was certified"

    # the scan sees what a conf holds (the ticket is in the run's conf and the audit log), and no value
    assert {"dag_run", "log"} <= set(_table_rows_holding(["DSR-2026-0077"]))
    assert _table_rows_holding(NEEDLES) == []
    hits = scan_paths([os.environ["AIRFLOW_HOME"], tmp_path], NEEDLES)
    assert hits == [], (
        "no planted value in the metadata DB file, task logs, API server log, ledger or reports"
    )

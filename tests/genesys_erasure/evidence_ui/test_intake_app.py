"""The analyst's intake page with Airflow's real SimpleAuthManager and JWTs: only a user who may trigger the
ad-hoc DAG sees or submits it; the form carries the models' rules for the browser; bad input is answered
field by field and row by row without any value; a good list is sealed into a file and the trigger gets
its URI and the ticket fields only. The trigger itself (Airflow's REST endpoint) is replaced here by a
recorder; the slow tier triggers through a real API server (tests/dags/test_intake_end_to_end.py)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from genesys_erasure import intake_files
from genesys_erasure.dsr import REPLACEMENT_PATTERN, TICKET_PATTERN
from genesys_erasure.evidence_ui import create_app
from genesys_erasure.evidence_ui.intake import TriggerRefused, html_pattern
from genesys_erasure.evidence_ui.settings import EvidenceSettings
from genesys_erasure.sealing import IdentifierSealer
from genesys_erasure.subject_input import parse_file
from tests.support.erasure import HMAC_KEY, PLANTED_EMAIL, PLANTED_PHONE

SEALING_KEY = Fernet.generate_key()
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
BAD_LINE = "broken@@intake-7731.example"


class Recorder:
    """Stands in for Airflow's trigger endpoint: records the conf, answers a run id or a refusal."""

    def __init__(self) -> None:
        self.confs: list[dict] = []
        self.refuse: TriggerRefused | None = None

    async def __call__(self, _request, conf: dict) -> str:
        self.confs.append(conf)
        if self.refuse:
            raise self.refuse
        return "manual__2026-12-07T07:00:00+00:00"


@pytest.fixture
def intake(tmp_path):
    settings = EvidenceSettings(
        report_dir=tmp_path / "reports",
        ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        hmac_key=lambda: HMAC_KEY,
        default_phone_region="GB",
        sealing_key=lambda: SEALING_KEY,
        intake_dir=tmp_path / "intake",
    )
    trigger = Recorder()
    return TestClient(create_app(lambda: settings, trigger)), trigger, tmp_path / "intake"


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _good(**overrides):
    return {
        "ticket": "DSR-2026-0042",
        "received_on": YESTERDAY,
        "mode": "delete",
        "replacement_text": "REDACTED",
        "dry_run": "true",
        "subjects": f"{PLANTED_EMAIL}\n\n{PLANTED_PHONE}\n",
        **overrides,
    }


def _sealed_files(directory):
    return sorted(directory.glob("*.sealed.json")) if directory.exists() else []


def test_anonymous_and_viewer_are_refused_the_form_and_the_submission(intake, tokens):
    client, trigger, directory = intake
    assert client.get("/intake").status_code == 401
    assert client.post("/intake", data=_good()).status_code == 401
    viewer = _as(tokens["viewer"])
    assert client.get("/", headers=viewer).status_code == 200  # the auditor reads the evidence...
    refused = client.post("/intake", data=_good(), headers=viewer)  # ...but submits nothing
    assert refused.status_code == 403 and "may not trigger genesys_subject_erasure" in refused.text
    assert client.get("/intake", headers=viewer).status_code == 403
    assert client.get("/intake", headers=_as(tokens["no_role"])).status_code == 403
    assert trigger.confs == [] and _sealed_files(directory) == []


def test_the_form_carries_the_dag_models_rules_so_the_browser_flags_values_as_typed(intake, tokens):
    client, _, _ = intake
    response = client.get("/intake", headers=_as(tokens["analyst"]))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    form = response.text
    ticket = re.search(r"<input id=\"ticket\"[^>]*>", form, re.S).group(0)
    assert "required" in ticket and f'pattern="{html_pattern(TICKET_PATTERN)}"' in ticket
    assert 'data-reason="required; 2-64 letters' in ticket
    received = re.search(r"<input id=\"received_on\"[^>]*>", form, re.S).group(0)
    assert 'type="date"' in received and "required" in received and "max=" in received
    replacement = re.search(r"<input id=\"replacement_text\"[^>]*>", form, re.S).group(0)
    assert 'maxlength="64"' in replacement and f'pattern="{html_pattern(REPLACEMENT_PATTERN)}"' in replacement
    assert 'id="ticket-error"' in form and 'addEventListener("input"' in form  # shown while typing
    assert '<form class="intake" method="post"' in form and "<script src" not in form and "<link" not in form
    assert 'name="dry_run" value="true" checked' in form  # a dry run unless unticked


@pytest.mark.parametrize(
    ("pattern", "samples"),
    [
        (TICKET_PATTERN, ["DSR-2026-0042", "X", "-DSR", "a/b#c:d.e_f-", "DSR 42", "A" * 65, "Ab"]),
        (REPLACEMENT_PATTERN, ["[ERASED]", "REDACTED", "<b>", "a-b_c.d e", ""]),
    ],
)
def test_the_html_pattern_accepts_exactly_what_the_model_accepts(pattern, samples):
    # the browser compiles `pattern` with the v flag (escaped / and -); Python's re reads the same escapes
    for sample in samples:
        assert bool(re.fullmatch(html_pattern(pattern), sample)) is bool(re.fullmatch(pattern, sample))
    assert "/" not in html_pattern(pattern).replace("\\/", "")


def test_bad_input_is_answered_field_by_field_and_line_by_line_without_any_value(intake, tokens, caplog):
    client, trigger, directory = intake
    caplog.set_level(logging.DEBUG)
    future = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    bad = _good(
        ticket="-bad ticket 9931",
        received_on=future,
        replacement_text="<b>9932</b>",
        subjects=f"{PLANTED_EMAIL}\n\n{BAD_LINE}\n",
    )
    response = client.post("/intake", data=bad, headers=_as(tokens["analyst"]))
    assert response.status_code == 400
    page = response.text
    assert "Not submitted: 4 problem(s)" in page
    assert "DSR ticket: required; 2-64 letters" in page
    assert "Request received on: is in the future" in page
    assert "Replacement text (pseudonymise): 1-64 letters" in page
    assert "Subject list, line 3: invalid email" in page  # the textarea's line, blank lines counted
    for value in ("-bad ticket 9931", "9932", future, PLANTED_EMAIL, BAD_LINE, "intake-7731"):
        assert value not in page and value not in caplog.text
    assert trigger.confs == [] and _sealed_files(directory) == []


def test_a_missing_list_and_a_pseudonymisation_of_ids_are_named_by_field(intake, tokens):
    client, _, _ = intake
    analyst = _as(tokens["analyst"])
    empty = client.post("/intake", data=_good(subjects="  \n"), headers=analyst)
    assert (
        empty.status_code == 400 and "Subject list: required; paste the list or choose a file" in empty.text
    )
    ids = ("list.csv", b"type,value\nuser_id,0f9e8d7c-1111-2222-3333-444455556666\n", "text/csv")
    refused = client.post(
        "/intake",
        data=_good(subjects="", mode="pseudonymise"),
        files={"subjects_upload": ids},
        headers=analyst,
    )
    assert refused.status_code == 400 and "Mode: pseudonymise replaces e-mail addresses" in refused.text
    assert "0f9e8d7c" not in refused.text


def test_an_uploaded_csv_with_a_bad_row_is_named_by_row_never_by_value_or_file_name(intake, tokens):
    client, trigger, _ = intake
    csv = f"type,value\nemail,{PLANTED_EMAIL}\nfax,{PLANTED_PHONE}\n".encode()
    response = client.post(
        "/intake",
        data=_good(subjects=""),
        files={"subjects_upload": ("zelda-quarantino.csv", csv, "text/csv")},
        headers=_as(tokens["analyst"]),
    )
    assert response.status_code == 400
    assert "Subject list, row 3: unknown type" in response.text
    for value in (PLANTED_EMAIL, PLANTED_PHONE, "zelda", "quarantino"):
        assert value not in response.text
    assert trigger.confs == []


def test_a_good_list_is_sealed_and_the_run_conf_holds_only_its_uri_and_the_ticket(intake, tokens, caplog):
    client, trigger, directory = intake
    caplog.set_level(logging.DEBUG)
    response = client.post("/intake", data=_good(), headers=_as(tokens["analyst"]))
    assert response.status_code == 200, response.text
    assert "manual__2026-12-07T07:00:00+00:00" in response.text and "dry run" in response.text
    (sealed,) = _sealed_files(directory)
    (conf,) = trigger.confs
    assert conf == {
        "ticket": "DSR-2026-0042",
        "received_on": YESTERDAY,
        "mode": "delete",
        "replacement_text": "REDACTED",
        "subjects_file": sealed.as_uri(),
        "dry_run": True,
        "skip_invalid_rows": False,
    }
    assert oct(sealed.stat().st_mode & 0o777) == "0o600"
    data = sealed.read_bytes()
    for shown in (data.decode(), json.dumps(conf), response.text, caplog.text):
        assert PLANTED_EMAIL not in shown and PLANTED_PHONE not in shown and "7700900317" not in shown
    plain, name = intake_files.open_sealed(data, IdentifierSealer(SEALING_KEY).cipher)
    assert [i.value for i in parse_file(plain, name=name).identifiers] == [PLANTED_EMAIL, PLANTED_PHONE]


def test_a_trigger_airflow_refuses_leaves_no_sealed_file_behind(intake, tokens):
    client, trigger, directory = intake
    trigger.refuse = TriggerRefused(403, "Forbidden")
    response = client.post("/intake", data=_good(), headers=_as(tokens["analyst"]))
    assert response.status_code == 403 and "did not start the run (HTTP 403)" in response.text
    assert len(trigger.confs) == 1 and _sealed_files(directory) == []


def test_submission_is_by_post_only(intake, tokens):
    client, trigger, directory = intake
    analyst = _as(tokens["analyst"])
    # a GET with the fields in its query string only shows the empty form
    shown = client.get(f"/intake?ticket=DSR-1&subjects={PLANTED_EMAIL}", headers=analyst)
    assert shown.status_code == 200 and PLANTED_EMAIL not in shown.text
    assert client.put("/intake", data=_good(), headers=analyst).status_code == 405
    assert trigger.confs == [] and _sealed_files(directory) == []


def test_after_a_dry_run_the_real_run_of_the_same_sealed_list_is_one_button_away(intake, tokens, tmp_path):
    client, trigger, directory = intake
    analyst = _as(tokens["analyst"])
    done = client.post("/intake", data=_good(), headers=analyst)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', done.text))
    assert set(hidden) == {"ticket", "received_on", "mode", "replacement_text", "subjects_file"}

    assert client.post("/intake/real-run", data=hidden, headers=_as(tokens["viewer"])).status_code == 403
    real = client.post("/intake/real-run", data=hidden, headers=analyst)

    assert real.status_code == 200 and "waits for approval" in real.text
    dry, wet = trigger.confs
    assert wet == {**dry, "dry_run": False} and len(_sealed_files(directory)) == 1
    elsewhere = tmp_path / "DSR-2026-0042-0123456789abcdef.sealed.json"
    elsewhere.write_text("{}")
    refused = client.post(
        "/intake/real-run", data={**hidden, "subjects_file": elsewhere.as_uri()}, headers=analyst
    )
    assert refused.status_code == 400 and "Sealed subject list: not found" in refused.text
    assert len(trigger.confs) == 2

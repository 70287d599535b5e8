"""The evidence page's FastAPI app with Airflow's real SimpleAuthManager and JWTs: anonymous is refused, a
viewer reads, the look-up is a POST that hashes the value on the server and never echoes or logs it, and
every signed document's check is shown (a tampered one as INVALID)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from genesys_erasure import signing
from genesys_erasure.evidence import (
    build_certificate,
    build_run_report,
    publish_verifying_key,
    sign_document,
    write_document,
)
from genesys_erasure.evidence_ui import create_app
from genesys_erasure.evidence_ui.settings import EvidenceSettings
from genesys_erasure.ledger import Ledger
from tests.support.erasure import (
    HMAC_KEY,
    PLANTED_EMAIL,
    PLANTED_PHONE,
    T0,
    drive_to_verified,
    identifier_hash_set,
    plan_for,
)

PRIVATE = signing.private_key_from_text("hex:" + "33" * 32)
TODAY = datetime.now(UTC).date()


@pytest.fixture
def evidence(tmp_path):
    """A report directory and ledger as two nights leave them: one Ed25519 report with a legal hold, one
    certificate, one HMAC report from before Ed25519, one report tampered with; a DSR overdue."""
    reports = tmp_path / "reports"
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger.open(url) as ledger:
        drive_to_verified(
            ledger, plan_for(0, ticket="DSR-7", due_date=TODAY + timedelta(days=9)), "run-2", "r-0"
        )
        ledger.plan([plan_for(1, ticket="DSR-8", due_date=TODAY - timedelta(days=3))], "run-2", now=T0)
        rows = ledger.rows_for_run("run-2")
    verified = next(r for r in rows if r.state.value == "verified")
    report = build_run_report(run_id="run-2", rows=rows, parameters={}, generated_at=T0 + timedelta(days=1))
    report["legal_hold_exemptions"] = [
        {
            "subject_hash": verified.subject_hash,
            "conversation_id": "conv-9",
            "recording_id": "rec-9",
            "reason": "litigation",
        }
    ]
    write_document(sign_document(report, PRIVATE), reports / "erasure-report-run-2.json")
    legacy = build_run_report(run_id="run-1", rows=[], parameters={}, generated_at=T0)
    write_document(sign_document(legacy, HMAC_KEY), reports / "erasure-report-run-1.json")
    tampered = sign_document(
        build_run_report(run_id="run-3", rows=[], parameters={}, generated_at=T0), PRIVATE
    )
    write_document({**tampered, "total_subjects": 99}, reports / "erasure-report-run-3.json")
    certificate = build_certificate(
        verified, systems_covered=["Genesys Cloud"], issued_at=T0 + timedelta(days=1)
    )
    certificate["ticket"] = "DSR-7"
    name = f"certificate-{verified.subject_hash[:16]}.json"
    write_document(sign_document(certificate, PRIVATE), reports / "certificates" / "DSR-7" / name)
    publish_verifying_key(reports, PRIVATE)
    settings = EvidenceSettings(report_dir=reports, ledger_url=url, hmac_key=lambda: HMAC_KEY)
    return TestClient(create_app(lambda: settings)), verified


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_anonymous_requests_are_refused_on_every_route(evidence, tokens):
    client, _ = evidence
    assert client.get("/").status_code == 401
    assert client.get("/signing-public-key.pem").status_code == 401
    assert client.get("/documents/erasure-report-run-2.html").status_code == 401
    assert client.post("/lookup", data={"kind": "email", "value": PLANTED_EMAIL}).status_code == 401


def test_a_user_the_auth_manager_refuses_gets_403(evidence, tokens):
    client, _ = evidence
    assert client.get("/", headers=_as(tokens["no_role"])).status_code == 403


def test_the_viewer_sees_runs_signature_checks_deadlines_certificates_and_legal_holds(evidence, tokens):
    client, verified = evidence
    response = client.get("/", headers=_as(tokens["viewer"]))
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    page = response.text
    run_2 = page[page.index("run-2</td>") : page.index("</tr>", page.index("run-2</td>"))]
    assert "valid" in run_2 and "Ed25519" in run_2 and "INVALID" not in run_2
    run_1 = page[page.index("run-1</td>") : page.index("</tr>", page.index("run-1</td>"))]
    assert "valid (HMAC, before Ed25519)" in run_1
    run_3 = page[page.index("run-3</td>") : page.index("</tr>", page.index("run-3</td>"))]
    assert "INVALID" in run_3
    assert signing.public_key_id(PRIVATE.public_key()) in page
    assert "overdue by 3" in page and "DSR-8" in page  # the overdue request
    assert "rec-9" in page and "litigation" in page  # the legal hold
    assert verified.subject_hash[:16] in page and "DSR-7" in page  # the certificate
    assert "<b>1</b><span>overdue requests</span>" in page
    assert '<form method="post" action="/lookup"' in page


def test_the_viewer_opens_a_signed_report_a_certificate_and_the_public_key_but_nothing_else(evidence, tokens):
    client, verified = evidence
    viewer = _as(tokens["viewer"])
    report = client.get("/documents/erasure-report-run-2.html", headers=viewer)
    assert report.status_code == 200 and "Verdict:" in report.text
    signed = client.get("/documents/erasure-report-run-2.json", headers=viewer).json()
    key = signing.public_key_from_pem(client.get("/signing-public-key.pem", headers=viewer).text)
    from genesys_erasure.evidence import verify_report

    assert verify_report(signed, key)
    path = f"/documents/certificates/DSR-7/certificate-{verified.subject_hash[:16]}.json"
    assert client.get(path, headers=viewer).json()["subject_hash"] == verified.subject_hash
    for outside in ("../ledger.sqlite", "certificates/../../ledger.sqlite", "signing-keys/x.pem", "a.json"):
        assert client.get(f"/documents/{outside}", headers=viewer).status_code == 404


def test_lookup_hashes_the_value_on_the_server_and_never_echoes_or_logs_it(evidence, tokens, caplog):
    client, verified = evidence
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/lookup", data={"kind": "email", "value": PLANTED_EMAIL}, headers=_as(tokens["viewer"])
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "Erased and verified" in response.text and verified.subject_hash[:16] in response.text
    assert (
        sorted(identifier_hash_set(0))[0] in response.text
        or sorted(identifier_hash_set(0))[1] in response.text
    )
    assert "erasure-report-run-2.html" in response.text  # the run report the erasure is in
    for shown in (response.text, json.dumps(dict(response.headers)), caplog.text):
        assert PLANTED_EMAIL not in shown and PLANTED_EMAIL.split("@")[0] not in shown


def test_lookup_of_an_unknown_or_invalid_value_answers_without_the_value(evidence, tokens, caplog):
    client, _ = evidence
    caplog.set_level(logging.DEBUG)
    viewer = _as(tokens["viewer"])
    unknown = client.post("/lookup", data={"kind": "phone", "value": "+447700900999"}, headers=viewer)
    assert unknown.status_code == 200 and "Never planned for erasure" in unknown.text
    invalid = client.post("/lookup", data={"kind": "email", "value": "not-an-address-7731"}, headers=viewer)
    assert invalid.status_code == 400 and "Not a valid email" in invalid.text
    missing_kind = client.post("/lookup", data={"value": PLANTED_PHONE}, headers=viewer)
    assert missing_kind.status_code == 400  # FastAPI's own 422 would repeat the input
    odd_kind = client.post("/lookup", data={"kind": PLANTED_PHONE, "value": PLANTED_PHONE}, headers=viewer)
    assert odd_kind.status_code == 400 and "Not a valid identifier kind" in odd_kind.text
    for response in (unknown, invalid, missing_kind, odd_kind):
        for value in ("+447700900999", "7700900999", "not-an-address-7731", PLANTED_PHONE):
            assert value not in response.text
    for value in ("+447700900999", "not-an-address-7731", PLANTED_PHONE):
        assert value not in caplog.text


def test_lookup_by_get_is_not_offered(evidence, tokens):
    client, _ = evidence
    response = client.get(f"/lookup?kind=email&value={PLANTED_EMAIL}", headers=_as(tokens["viewer"]))
    assert response.status_code == 405


def test_nothing_on_the_page_acts(evidence, tokens):
    client, _ = evidence
    page = client.get("/", headers=_as(tokens["viewer"])).text
    forms = page.count("<form")
    assert forms == 1 and page.count('method="post"') == 1  # the look-up, which only reads
    assert "/api/v2" not in page and "dagRuns" not in page


def test_deadline_chart_counts_unverified_requests_by_how_soon_they_are_due(tmp_path):
    from genesys_erasure.evidence_ui.collect import ledger_view

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger.open(url) as ledger:
        due = {1: -3, 2: 5, 3: 6, 4: 20, 5: 45}  # subject -> days until its due date
        ledger.plan(
            [plan_for(n, ticket=f"DSR-{n}", due_date=TODAY + timedelta(days=d)) for n, d in due.items()], "r"
        )
        drive_to_verified(
            ledger, plan_for(0, ticket="DSR-0", due_date=TODAY), "r0", "q-0"
        )  # done: not counted
    view = ledger_view(url, TODAY)
    assert view.deadline_buckets == [
        ("overdue", 1),
        ("due in 0-7 days", 2),
        ("8-14 days", 0),
        ("15-30 days", 1),
    ]
    assert [e.ticket for e in view.overdue] == ["DSR-1"]


def test_a_crafted_document_path_with_dot_dot_is_refused_even_where_it_would_land_inside(tmp_path):
    # an HTTP client normalises "..", a crafted request need not: the path check refuses it by itself
    from genesys_erasure.evidence_ui.collect import document_path

    name = "certificate-0123456789abcdef.json"
    (tmp_path / "certificates" / "T").mkdir(parents=True)
    for path in (tmp_path / "certificates" / "T" / name, tmp_path / name):
        path.write_text("{}", encoding="utf-8")
    assert document_path(tmp_path, f"certificates/T/{name}") == tmp_path / "certificates" / "T" / name
    assert document_path(tmp_path, f"certificates/../{name}") is None

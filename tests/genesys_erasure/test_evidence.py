"""Run reports and erasure certificates: signed, readable, and free of personal data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from genesys_erasure.evidence import (
    attach_warehouse_results,
    build_certificate,
    build_run_report,
    canonical_json,
    key_from_text,
    sign_document,
    summary_table,
    verify_report,
    write_document,
)
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.report_html import render_html
from genesys_erasure.steps.evidence import ErasureNotCompliant, check_compliance
from genesys_erasure.verification import (
    ConversationFinding,
    PendingFinding,
    VerificationResult,
    verify_subject,
)
from tests.support.conversation_builder import voice_call
from tests.support.erasure import (
    DUE,
    HMAC_KEY,
    PLANTED_PHONE,
    T0,
    drive_to_completed,
    drive_to_verified,
    needles,
    plan_for,
)
from tests.support.privacy_scan import scan_paths

REPO = Path(__file__).resolve().parents[2]
GENERATED = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
PARAMETERS = {
    "retention_days": 730,
    "region": "mypurecloud.ie",
    "client_secret": "s3cr3t-value",
    "dry_run": False,
}


@pytest.fixture
def run_rows(ledger):
    """run-1: one verified subject with a legal hold, one failed with findings, one deferred, one planned."""
    drive_to_verified(ledger, plan_for(0, due_date=DUE, ticket="DSR-1042"), "run-1", "req-0")
    drive_to_completed(ledger, plan_for(1), "run-1", "req-1")
    subject = [Identifier(IdentifierKind.PHONE, "+4477009004" + "01")]
    leaky = voice_call("leaky", start=T0, customer_number="tel:+447700900401")
    ledger.mark_failed(
        plan_for(1).subject_hash,
        "verification_found_data",
        verification=verify_subject(subject, analytics_conversations=[leaky]),
    )
    drive_to_completed(ledger, plan_for(2), "run-1", "req-2")
    ledger.mark_deferred(plan_for(2).subject_hash)
    ledger.plan([plan_for(3)], "run-1", now=T0)
    return ledger.rows_for_run("run-1")


def _report(rows, **overrides):
    options = {
        "run_id": "run-1",
        "rows": rows,
        "parameters": PARAMETERS,
        "generated_at": GENERATED,
        **overrides,
    }
    return sign_document(build_run_report(**options), HMAC_KEY)


def test_report_signature_verifies(run_rows, tmp_path):
    path = write_document(_report(run_rows), tmp_path / "report.json")
    assert verify_report(path, HMAC_KEY)
    assert verify_report(json.loads(path.read_text()), HMAC_KEY)


def test_changing_one_byte_breaks_signature(run_rows, tmp_path):
    path = write_document(_report(run_rows), tmp_path / "report.json")
    content = path.read_bytes()
    position = content.index(b'"verified": 1') + len(b'"verified": ')
    path.write_bytes(content[:position] + b"2" + content[position + 1 :])
    assert not verify_report(path, HMAC_KEY)


def test_another_key_does_not_verify(run_rows):
    assert not verify_report(_report(run_rows), b"another-key-0123456789abcdef!!!!")


def test_signature_covers_everything_but_itself_and_names_the_key_without_revealing_it(run_rows):
    report = _report(run_rows)
    assert report["signature_algorithm"] == "HMAC-SHA256"
    assert report["signature_key_id"] == hashlib.sha256(HMAC_KEY).hexdigest()[:8]
    assert b"signature_key_id" in canonical_json(report) and report[
        "signature"
    ].encode() not in canonical_json(report)
    assert HMAC_KEY.decode() not in json.dumps(report)
    assert not verify_report({**report, "signature_key_id": "00000000"}, HMAC_KEY)


def test_report_counts_subjects_per_state(run_rows):
    counts = _report(run_rows)["counts"]
    assert {k: v for k, v in counts.items() if v} == {"verified": 1, "failed": 1, "deferred": 1, "planned": 1}


def test_report_lists_legal_hold_exemptions_and_keeps_a_warehouse_placeholder(ledger):
    plan = plan_for(0)
    drive_to_completed(ledger, plan, "run-1", "req-0")
    call = voice_call("held", start=T0, customer_number="tel:+447700900999")
    held = {"id": "rec-held", "conversationId": call["conversationId"], "fileState": "AVAILABLE"}
    result = verify_subject(
        [Identifier(IdentifierKind.PHONE, PLANTED_PHONE)],
        analytics_conversations=[call],
        recordings=[held],
        protected_conversation_ids=[call["conversationId"]],
    )
    ledger.mark_verified(plan.subject_hash, result)
    report = _report(ledger.rows_for_run("run-1"))
    assert [(x["recording_id"], x["reason"]) for x in report["legal_hold_exemptions"]] == [
        ("rec-held", "legal_hold")
    ]
    assert (report["warehouse"]["status"], report["warehouse"]["tables"]) == ("not_run", [])


def test_secret_parameters_are_redacted(run_rows):
    report = _report(run_rows)
    assert report["parameters"]["client_secret"] == "<redacted>"
    assert report["parameters"]["retention_days"] == 730
    assert "s3cr3t-value" not in json.dumps(report)


def test_report_holds_no_raw_identifiers(run_rows, ledger, tmp_path):
    write_document(_report(run_rows), tmp_path / "out" / "report.json")
    certificate = sign_document(
        build_certificate(
            ledger.get(plan_for(0).subject_hash), systems_covered=["Genesys Cloud"], issued_at=GENERATED
        ),
        HMAC_KEY,
    )
    write_document(certificate, tmp_path / "out" / "certificate.json")
    planted = needles(0) + needles(1) + needles(2) + needles(3)
    assert len(list((tmp_path / "out").iterdir())) == 4
    (tmp_path / "control.html").write_text(f"<td>{needles(2)[1]}</td>")
    assert scan_paths([tmp_path / "control.html"], planted), "the scanner must see a planted identifier"
    assert scan_paths([tmp_path / "out"], planted) == []


def test_html_escapes_values(run_rows):
    report = _report(
        run_rows, run_id="<script>alert(1)</script>", parameters={"note": '"><img src=x onerror=1>'}
    )
    page = render_html(report)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_report_shows_counts_disclosure_and_warehouse_section(run_rows):
    page = render_html(_report(run_rows))
    for text in ("Counts per state", "Warehouse copies", "SIP", "billing", "Backups", "Legal holds"):
        assert text in page


def test_summary_table_lists_counts_per_state(run_rows):
    table = summary_table(_report(run_rows))
    lines = table.splitlines()
    assert lines[0].split() == ["state", "subjects"]
    assert "verified" in table and lines[-1].split() == ["total", "4"]
    assert len({len(line) for line in lines}) == 1  # fixed width


def test_warehouse_results_are_attached_and_signed_again(run_rows):
    tables = [
        {
            "system": "snowflake",
            "table": "CRM.CALLS",
            "rows_affected": 12,
            "unrecoverable_after": "2026-04-09",
        }
    ]
    updated = attach_warehouse_results(_report(run_rows), tables, HMAC_KEY)
    assert updated["warehouse"]["status"] == "done" and updated["warehouse"]["tables"] == tables
    assert verify_report(updated, HMAC_KEY)
    with pytest.raises(ValueError, match=r"tables\[0\]"):
        attach_warehouse_results(_report(run_rows), [{"system": "bigquery"}], HMAC_KEY)


def test_certificate_is_signed_and_lists_what_was_done(ledger, run_rows, tmp_path):
    row = ledger.get(plan_for(0).subject_hash)
    certificate = sign_document(
        build_certificate(row, systems_covered=["Genesys Cloud", "Snowflake CRM"], issued_at=GENERATED),
        HMAC_KEY,
    )
    assert verify_report(certificate, HMAC_KEY)
    assert (certificate["ticket"], certificate["request_ids"], certificate["due_date"]) == (
        "DSR-1042",
        ["req-0"],
        DUE.isoformat(),
    )
    assert certificate["completed_within_deadline"] is True
    assert certificate["dates"]["verified_at"] == (T0 + timedelta(hours=4)).isoformat()
    assert "Certificate of erasure" in render_html(certificate)


def test_certificate_is_refused_for_a_subject_not_verified(ledger, run_rows):
    with pytest.raises(ValueError, match="not verified"):
        build_certificate(
            ledger.get(plan_for(2).subject_hash), systems_covered=["Genesys Cloud"], issued_at=GENERATED
        )


def test_key_text_decodes_base64_hex_and_plain():
    assert key_from_text("hex:00ff") == b"\x00\xff"
    assert key_from_text("base64:AP8=") == b"\x00\xff"
    assert key_from_text("plain-key") == b"plain-key"


def _cli(*args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GENESYS_ERASURE_HMAC_KEY"}
    env["PYTHONPATH"] = str(REPO / "include")
    if key is not None:
        env["GENESYS_ERASURE_HMAC_KEY"] = key
    command = [sys.executable, "-m", "genesys_erasure.evidence", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow  # the CLI in fresh interpreters, several times
def test_cli_verify_exit_codes(run_rows, tmp_path):
    good = write_document(_report(run_rows), tmp_path / "good.json")
    bad = tmp_path / "bad.json"
    bad.write_text(good.read_text().replace('"run-1"', '"run-X"', 1))
    verify = ["verify", "--key-env", "GENESYS_ERASURE_HMAC_KEY"]
    key = HMAC_KEY.decode()
    assert _cli(*verify, str(good), key=key).returncode == 0
    assert _cli(*verify, str(bad), key=key).returncode == 1
    assert _cli(*verify, str(good)).returncode == 2  # key variable not set
    assert _cli(*verify, str(tmp_path / "missing.json"), key=key).returncode == 2
    assert _cli("verify", str(good), key=key).returncode == 2  # --key-env missing


@pytest.mark.slow  # the CLI in fresh interpreters, several times
def test_cli_render_writes_html(run_rows, tmp_path):
    path = write_document(_report(run_rows), tmp_path / "report.json", html=False)
    completed = _cli("render", str(path), "-o", str(tmp_path / "page.html"))
    assert completed.returncode == 0
    assert "Genesys Cloud erasure run" in (tmp_path / "page.html").read_text()


def test_report_lists_needs_review_subjects_of_earlier_runs_and_pending_ones_of_this_run(ledger):
    drive_to_completed(ledger, plan_for(0), "run-0", "req-0")
    ledger.mark_failed(plan_for(0).subject_hash, "verification_failed", review_after_attempts=1)
    drive_to_completed(ledger, plan_for(1), "run-1", "req-1")
    pending = VerificationResult(ok=True, pending=(PendingFinding("recording", "rec-1", "scheduled"),))
    ledger.mark_erasure_pending(plan_for(1).subject_hash, pending, "recording_delete_scheduled")

    report = _report(
        ledger.rows_for_run("run-1"), awaiting_review=ledger.rows_in_states([SubjectState.NEEDS_REVIEW])
    )

    assert [(e["subject_hash"], e["run_id"]) for e in report["needs_review"]] == [
        (plan_for(0).subject_hash, "run-0")
    ]
    assert [e["subject_hash"] for e in report["erasure_pending"]] == [plan_for(1).subject_hash]
    assert report["counts"]["erasure_pending"] == 1


def test_compliance_verdict_fails_on_a_subject_that_needs_review():
    evidence = {"counts": {"verified": 3, "needs_review": 1}, "report_html": "report.html"}
    with pytest.raises(ErasureNotCompliant, match="1 subject"):
        check_compliance(evidence)


def test_compliance_verdict_warns_but_passes_on_a_subject_left_in_a_header_shared_with_somebody_else(caplog):
    evidence = {
        "counts": {"verified": 3, "needs_review": 1},
        "needs_review_reasons": {"shared_with_person_not_erased": 1},
        "report_html": "report.html",
    }

    assert check_compliance(evidence)["needs_review"] == 1
    assert "shared_with_person_not_erased" in caplog.text


def test_compliance_verdict_still_fails_on_other_needs_review_beside_a_shared_header():
    evidence = {
        "counts": {"verified": 3, "needs_review": 2},
        "needs_review_reasons": {"shared_with_person_not_erased": 1, "verification_failed": 1},
        "report_html": "report.html",
    }
    with pytest.raises(ErasureNotCompliant, match="1 subject"):
        check_compliance(evidence)


def test_report_counts_this_runs_needs_review_subjects_by_reason(ledger):
    drive_to_completed(ledger, plan_for(0), "run-1", "req-0")
    left = VerificationResult(ok=True, shared_findings=(ConversationFinding("c-1", ("analytics.x",)),))
    ledger.mark_needs_review(plan_for(0).subject_hash, left, "shared_with_person_not_erased")

    report = _report(ledger.rows_for_run("run-1"))

    assert report["needs_review_reasons"] == {"shared_with_person_not_erased": 1}
    assert "shared_with_person_not_erased" in render_html(report)


def test_html_report_has_needs_review_and_erasure_pending_sections(run_rows):
    html = render_html(_report(run_rows))
    assert "<h2>Needs review</h2>" in html and "Erasure pending at Genesys" in html

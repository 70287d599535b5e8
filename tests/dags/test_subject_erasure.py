"""The ad-hoc erasure for analysts end to end: `dag.test()` of `genesys_subject_erasure` against the
Genesys Cloud sandbox over HTTP, with the approval answered as the Required Actions UI would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from genesys_devtools.approvals import APPROVE, REJECT, answer_approval
from genesys_devtools.demo import DEMO_HMAC_KEY
from genesys_erasure.evidence import verify_report
from genesys_erasure.ledger import Ledger
from genesys_erasure.tasks.runtime import load_runtime
from tests.conftest import REPO_ROOT
from tests.dags.conftest import PAST_DELETE_LAG_HOURS
from tests.support.dag_runs import task_result
from tests.support.privacy_scan import scan_paths

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
DAG_ID = "genesys_subject_erasure"


@pytest.fixture
def stack(purge_stack):
    """Most tests here type their subjects inline: a deployment that switched `allow_inline_subjects` on
    (the intake page's sealed files are tested in test_intake_end_to_end.py)."""
    stack = purge_stack()
    stack.configure(allow_inline_subjects=True)
    return stack


def _today() -> date:
    return datetime.now(UTC).date()


def _request(**conf):
    return {"ticket": "DSR-2026-0042", "received_on": (_today() - timedelta(days=3)).isoformat(), **conf}


def _task_states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _details_text(stack, conversation_ids) -> str:
    return json.dumps(stack.hook().get_conversations_details(conversation_ids)).lower()


def _certificates(stack, ticket="DSR-2026-0042") -> list[dict]:
    directory = stack.home / "reports" / "certificates" / ticket
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


def _lookup(stack, *args: str) -> dict:
    env = {
        **os.environ,
        "GENESYS_ERASURE_HMAC_KEY": DEMO_HMAC_KEY,
        "PYTHONPATH": str(REPO_ROOT / "include"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "genesys_erasure.lookup", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_approved_inline_request_erases_customer_and_former_staff_with_signed_certificates(stack):
    org = stack.sandbox.org
    customer = org.add_customer(emails=["ada.adhoc@example.org"], phones=["+442079460555"], name="Ada Adhoc")
    org.add_conversation(customer, media="email", direction="inbound")
    org.add_conversation(
        customer, media="voice", direction="inbound", start=datetime.now(UTC) - timedelta(days=90)
    )
    leaver = org.add_agent("Lee Leaver", "lee.leaver@corp.example", active=False)
    served = org.add_conversation(
        customer, media="voice", agent=leaver, start=datetime.now(UTC) - timedelta(days=40)
    )

    with answer_approval(APPROVE) as answered:
        run = stack.run(
            DAG_ID,
            **_request(
                dry_run=False,
                subjects=["Ada.Adhoc@example.org", {"type": "user_id", "value": leaver.id}],
            ),
        )

    assert run.state == "success", _task_states(run)
    assert answered["count"] == 1, "the run waited for approval"
    text = _details_text(stack, customer.conversation_ids)
    assert "ada.adhoc@example.org" not in text
    assert "+442079460555" not in text, "identity resolution reached the customer's phone"
    assert leaver.id.lower() not in _details_text(stack, [served])
    assert org.agents[leaver.id].email is None

    # both subjects' recordings are deleted 48 h after COMPLETED (pessimistic profile): no certificate
    # while pending; a later run of the same ticket verifies them and certifies, without a new request
    assert _certificates(stack) == []
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    with answer_approval(APPROVE):
        later = stack.run(
            DAG_ID,
            **_request(
                dry_run=False,
                subjects=["Ada.Adhoc@example.org", {"type": "user_id", "value": leaver.id}],
            ),
        )
    assert later.state == "success", _task_states(later)
    certificates = _certificates(stack)
    assert len(certificates) == 2
    key = load_runtime({}).signing_key
    assert all(verify_report(c, key) for c in certificates)
    assert all(c["ticket"] == "DSR-2026-0042" and c["request_ids"] for c in certificates)
    assert all(Path(stack.home / "reports" / "certificates" / "DSR-2026-0042").glob("*.html"))

    found = _lookup(stack, "--email", "ADA.ADHOC@example.org")
    assert found["erased"] is True
    assert found["subjects"][0]["ticket"] == "DSR-2026-0042"
    assert found["subjects"][0]["run_id"] == later.run_id  # the run that verified the pending erasure


def test_file_request_in_pseudonymise_mode_leaves_the_replacement_and_skips_a_bad_row(stack, tmp_path):
    org = stack.sandbox.org
    customer = org.add_customer(emails=["pia.pseudo@example.org"], phones=[], name="Pia Pseudo")
    org.add_conversation(
        customer, media="email", direction="inbound", start=datetime.now(UTC) - timedelta(days=60)
    )
    listing = tmp_path / "DSR-2026-0042.csv"
    listing.write_text("type,value\nemail,pia.pseudo@example.org\nphone,12\n", encoding="utf-8")

    with answer_approval(APPROVE):
        run = stack.run(
            DAG_ID,
            **_request(
                dry_run=False,
                subjects_file=listing.as_uri(),
                mode="pseudonymise",
                replacement_text="ERASED-BY-DSR",
                skip_invalid_rows=True,
            ),
        )

    assert run.state == "success", _task_states(run)
    text = _details_text(stack, customer.conversation_ids)
    assert "pia.pseudo@example.org" not in text
    assert "erased-by-dsr" in text
    types = {r["requestType"] for r in stack.hook().iter_gdpr_requests()}
    assert types == {"GDPR_UPDATE"}
    validated = task_result(run, "validate_subject_request")
    assert validated["skipped"] == [{"row": 3, "field": "value", "reason": "invalid_phone: too_short"}]
    hits = scan_paths([os.environ["AIRFLOW_HOME"], stack.home], ["pia.pseudo@example.org"])
    assert hits == [], "the file route leaves the value in no Airflow table, log, report or certificate"


def test_xlsx_request_erases_the_listed_subject_and_skips_a_formula_row_naming_sheet_and_column(
    stack, tmp_path
):
    import openpyxl

    org = stack.sandbox.org
    customer = org.add_customer(emails=["xavier.xlsx@example.org"], phones=[], name="Xavier Xlsx")
    org.add_conversation(
        customer, media="email", direction="inbound", start=datetime.now(UTC) - timedelta(days=60)
    )
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "DSR export"
    for row in (["type", "value"], ["email", "xavier.xlsx@example.org"], ["email", '=LOWER("a@b.org")']):
        sheet.append(row)
    listing = tmp_path / "DSR-2026-0042.xlsx"
    workbook.save(listing)

    with answer_approval(APPROVE):
        run = stack.run(
            DAG_ID, **_request(dry_run=False, subjects_file=listing.as_uri(), skip_invalid_rows=True)
        )

    assert run.state == "success", _task_states(run)
    assert "xavier.xlsx@example.org" not in _details_text(stack, customer.conversation_ids)
    validated = task_result(run, "validate_subject_request")
    assert validated["skipped"] == [
        {
            "row": 3,
            "field": "value",
            "reason": "formula (type the value instead)",
            "sheet": "DSR export",
            "column": "B",
        }
    ]
    hits = scan_paths([os.environ["AIRFLOW_HOME"], stack.home], ["xavier.xlsx@example.org"])
    assert hits == [], "the workbook route leaves the value in no Airflow table, log, report or certificate"


def test_rerun_of_a_ticket_whose_erasure_is_pending_submits_nothing_again(stack):
    org = stack.sandbox.org
    customer = org.add_customer(emails=["rhea.rerun@example.org"], phones=["+442079460556"], name="Rhea")
    org.add_conversation(customer, media="email", direction="inbound")
    with answer_approval(APPROVE):
        stack.run(DAG_ID, **_request(dry_run=False, subjects=["rhea.rerun@example.org"]))
    requests_after_first = stack.gdpr_request_count()
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    with answer_approval(APPROVE):
        stack.run(DAG_ID, **_request(dry_run=False, subjects=["rhea.rerun@example.org"]))
    assert stack.gdpr_request_count() == requests_after_first


def test_rejected_approval_submits_nothing(stack):
    org = stack.sandbox.org
    customer = org.add_customer(emails=["rex.rejected@example.org"], phones=[], name="Rex Rejected")
    org.add_conversation(customer, media="email", direction="inbound")

    with answer_approval(REJECT) as answered:
        run = stack.run(DAG_ID, **_request(dry_run=False, subjects=["rex.rejected@example.org"]))

    assert answered["count"] == 1
    assert stack.gdpr_request_count() == 0
    assert "rex.rejected@example.org" in _details_text(stack, customer.conversation_ids)
    assert _certificates(stack) == []
    assert run.state == "success", _task_states(run)
    with Ledger.open(load_runtime({}).ledger_url) as ledger:
        rows = ledger.rows_for_run(run.run_id)
    assert rows and not any(row.has_sealed_identifiers for row in rows), "rejected plans keep no identifiers"


def test_dry_run_by_default_submits_nothing_and_the_deadline_check_flags_it(stack):
    org = stack.sandbox.org
    customer = org.add_customer(emails=["dora.dry@example.org"], phones=[], name="Dora Dry")
    org.add_conversation(customer, media="email", direction="inbound")
    received = _today() - timedelta(days=26)

    run = stack.run(
        DAG_ID, ticket="DSR-2026-0026", received_on=received.isoformat(), subjects=["dora.dry@example.org"]
    )
    check = stack.run("genesys_dsr_deadline_check")

    assert run.state == "success", _task_states(run)
    assert stack.gdpr_request_count() == 0
    flagged = task_result(check, "check_dsr_deadlines")
    assert [r["ticket"] for r in flagged["requests"]] == ["DSR-2026-0026"]
    assert flagged["requests"][0]["days_left"] <= 5


def test_bad_row_fails_the_first_task_naming_row_field_and_reason_before_any_submission(stack, capfd):
    run = stack.run(DAG_ID, **_request(dry_run=False, subjects=["good.row@example.org", "broken@@example"]))

    states = _task_states(run)
    assert run.state == "failed"
    assert states["validate_subject_request"].endswith("failed")
    assert stack.gdpr_request_count() == 0
    output = "".join(capfd.readouterr())
    assert "row 2, field 'value': invalid_email" in output
    assert "broken@@example" not in output


def test_subject_erased_by_the_nightly_purge_is_not_submitted_again_and_certified_by_that_erasure(stack):
    org = stack.sandbox.org
    old = datetime.now(UTC) - timedelta(days=int(365 * 5.8))
    customer = org.add_customer(emails=["nina.nightly@example.org"], phones=["+442079460321"], name="Nina")
    org.add_conversation(customer, media="email", direction="inbound", start=old)
    stack.run(backfill=True)
    # the recording's delete lands later (pessimistic profile): the next night verifies the erasure
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    nightly = stack.run()
    requests_after_nightly = stack.gdpr_request_count()

    run = stack.run(DAG_ID, **_request(dry_run=False, subjects=["nina.nightly@example.org"]))

    assert nightly.state == "success" and run.state == "success", _task_states(run)
    assert stack.gdpr_request_count() == requests_after_nightly
    (certificate,) = _certificates(stack)
    assert certificate["erasure"]["run_id"] == nightly.run_id
    assert certificate["erasure"]["erased_before_this_request"] is True
    assert certificate["ticket"] == "DSR-2026-0042"
    assert verify_report(certificate, load_runtime({}).signing_key)


def test_request_left_in_flight_by_a_dead_adhoc_run_is_verified_by_the_next_one(stack):
    from genesys_erasure.identifiers import Identifier, IdentifierKind
    from genesys_erasure.ledger.records import SubjectPlan
    from genesys_erasure.ledger.states import SubjectSource
    from genesys_erasure.steps.subjects_api import gdpr_subject_body

    org = stack.sandbox.org
    orphan = org.add_customer(emails=["orphan.request@example.org"], phones=[], external_contact=False)
    org.add_conversation(orphan, media="email", direction="inbound")
    runtime = load_runtime({})
    identifiers = [Identifier(IdentifierKind.EMAIL, "orphan.request@example.org")]
    plan = SubjectPlan.build(
        identifiers,
        hasher=runtime.hasher,
        sealer=runtime.sealer,
        source=SubjectSource.DSR,
        conversation_ids=orphan.conversation_ids,
        ticket="DSR-2026-0001",
    )
    posted = stack.hook().submit_gdpr_request("GDPR_DELETE", gdpr_subject_body(identifiers))
    with Ledger.open(runtime.ledger_url) as ledger:
        ledger.plan([plan], "dead-adhoc-run")
        ledger.mark_submitting(plan.subject_hash, "dead-adhoc-run")
        ledger.record_submission(plan.subject_hash, posted["id"])
    # ...and that run died before waiting: nothing would ever verify this subject.

    other = org.add_customer(emails=["next.request@example.org"], phones=[], external_contact=False)
    org.add_conversation(other, media="email", direction="inbound")
    with answer_approval(APPROVE):
        stack.run(DAG_ID, **_request(dry_run=False, subjects=["next.request@example.org"]))
    with Ledger.open(load_runtime({}).ledger_url) as ledger:
        row = ledger.get(plan.subject_hash)
    # its recording's delete lands later (pessimistic profile): pending, then verified by the run after
    assert row.state.value == "erasure_pending" and row.request_ids == (posted["id"],)
    stack.advance_clock(PAST_DELETE_LAG_HOURS)
    with answer_approval(APPROVE):
        stack.run(DAG_ID, **_request(dry_run=False, subjects=["next.request@example.org"]))
    with Ledger.open(load_runtime({}).ledger_url) as ledger:
        row = ledger.get(plan.subject_hash)
    assert row.state.value == "verified" and row.request_ids == (posted["id"],)

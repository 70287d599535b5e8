"""The auditor's evidence page in a real browser: one nightly `dag.test()` run of the retention purge
against the sandbox fills the metadata DB, the ledger and the report directory; a real `airflow api-server`
serves them with the SimpleAuthManager; Playwright drives Debian's chromium as the read-only auditor.

The analyst's intake page in the same browser: a bad ticket and a bad line are flagged while typing and
the browser refuses to submit; a good list is sealed and the run triggered.

Screenshots are saved under the test's directory (`evidence-page.png`, `evidence-page-in-airflow-ui.png`,
`report.png`, `lookup.png`, `intake-flagged.png`, `intake-submitted.png`); set EVIDENCE_SCREENSHOTS=DIR to
keep copies (the README's docs/evidence-page.png, and docs/intake-page.png from intake-flagged.png, come
from there).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from genesys_devtools.demo import DEMO_HMAC_KEY
from genesys_erasure.evidence import key_from_text
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import IdentifierKind, parse_identifier
from genesys_erasure.ledger import Ledger
from genesys_erasure.steps.runtime import sqlite_ledger_url
from tests.support.api_server import EvidenceServer, start_api_server, sync_dags_to_db, token
from tests.support.browser import chromium_page, log_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def nightly(purge_stack):
    """One nightly run of the retention purge: the metadata DB, ledger and reports the page reads."""
    stack = purge_stack()
    run = stack.run(backfill=True)
    assert run.state == "success"
    return stack, stack.report(run)


@pytest.fixture
def server(nightly, tmp_path: Path) -> Iterator[EvidenceServer]:
    """The API server the browser talks to (started after the night's run has written its evidence)."""
    yield from start_api_server(tmp_path)


def _erased_email(stack, report) -> str:
    """The e-mail address of a customer the run verified erased (found by its keyed hash)."""
    from genesys_erasure.steps.runtime import load_run_config

    verified = {s["subject_hash"] for s in report["subjects"] if s["state"] == "verified"}
    hasher = KeyedHasher(key_from_text(DEMO_HMAC_KEY))
    with Ledger.open(sqlite_ledger_url(load_run_config({}))) as ledger:
        for customer in stack.sandbox.org.customers_where(activity="expired", placeholder=False):
            for email in customer.emails:
                identifier_hash = hasher.hash_identifier(parse_identifier(IdentifierKind.EMAIL, email))
                if any(r.subject_hash in verified for r in ledger.lookup_identifier_hash(identifier_hash)):
                    return email
    raise AssertionError("the run verified no customer with an e-mail address")


def test_the_auditor_reads_the_evidence_looks_up_a_subject_and_cannot_trigger(nightly, server, tmp_path):
    stack, report = nightly
    email = _erased_email(stack, report)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with chromium_page() as (context, page):
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))

        # anonymous: the page itself is refused
        assert page.goto(f"{server.base_url}/erasure-evidence/").status == 401

        # log in through Airflow's own login form, as the read-only auditor
        log_in(page, server.base_url, "auditor", server.users["auditor"])

        # the evidence page: the run, its valid Ed25519 signature, the public key
        response = page.goto(f"{server.base_url}/erasure-evidence/")
        assert response.status == 200
        run_row = page.locator("tr", has_text=report["run_id"])
        assert "valid" in run_row.inner_text() and "Ed25519" in run_row.inner_text()
        assert report["signature_key_id"] in page.locator("#public-key").inner_text()
        page.screenshot(path=str(shots / "evidence-page.png"), full_page=True)

        # the same page inside Airflow's own UI, where the plugin's menu entry (url_route) frames it
        page.goto(f"{server.base_url}/plugin/erasure-evidence")
        framed = page.frame_locator("iframe").locator("#public-key")
        framed.wait_for(timeout=60_000)
        assert report["signature_key_id"] in framed.inner_text()
        page.screenshot(path=str(shots / "evidence-page-in-airflow-ui.png"))
        page.goto(f"{server.base_url}/erasure-evidence/")

        # the signed report opens, verdict first
        run_row.get_by_role("link", name="open").click()
        page.wait_for_load_state()
        assert page.locator("h2").first.inner_text().startswith("Verdict:")
        page.screenshot(path=str(shots / "report.png"))
        page.go_back()

        # the look-up: the value goes in a POST body, and comes back nowhere
        page.select_option("select[name=kind]", "email")
        page.fill("input[name=value]", email)
        page.get_by_role("button", name="Look up").click()
        page.wait_for_load_state()
        assert "Erased and verified" in page.locator("#lookup-answer").inner_text()
        assert email not in page.content()
        page.screenshot(path=str(shots / "lookup.png"), full_page=True)
        history = page.evaluate("() => window.location.href")
        assert email not in history and all(
            email not in url and email.split("@")[0] not in url for url in urls
        )

        # the auditor's session cannot trigger the purge (the cookie the UI holds, Airflow's own API)
        refused = context.request.post(
            f"{server.base_url}/api/v2/dags/genesys_retention_purge/dagRuns", data={"logical_date": None}
        )
        assert refused.status == 403
    # the same request as admin is not refused: the 403 above is the auditor's role, not a broken request
    allowed = requests.post(
        f"{server.base_url}/api/v2/dags/genesys_retention_purge/dagRuns",
        json={"logical_date": None},
        headers={"Authorization": f"Bearer {token(server, 'admin')}"},
        timeout=30,
    )
    assert allowed.status_code != 403, allowed.text
    api_log = (tmp_path / "api-server.log").read_text(errors="replace")
    assert email not in api_log and email.split("@")[0] not in api_log
    keep = os.environ.get("EVIDENCE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, Path(keep) / shot.name)


@pytest.fixture
def intake_server(purge_stack, tmp_path: Path) -> Iterator[EvidenceServer]:
    """An API server over a fresh deployment whose DAGs are in the metadata DB (no run needed)."""
    purge_stack()
    sync_dags_to_db()
    yield from start_api_server(tmp_path)


def test_the_analyst_sees_bad_values_flagged_while_typing_and_submits_a_list_on_the_intake_page(
    intake_server, tmp_path
):
    server = intake_server
    email, phone = "ida.intake.5523@example.org", "+442079460918"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with chromium_page(height=1100) as (_context, page):
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        log_in(page, server.base_url, "analyst", server.users["analyst"])

        # the form, inside Airflow's UI where the Browse menu entry frames it
        page.goto(f"{server.base_url}/plugin/erasure-intake")
        page.frame_locator("iframe").locator("#ticket").wait_for(timeout=60_000)
        page.goto(f"{server.base_url}/erasure-evidence/intake")

        # a bad ticket is flagged as it is typed, before anything is submitted
        page.fill("#ticket", "-bad ticket")
        assert "2-64 letters" in page.locator("#ticket-error").inner_text()
        assert page.locator("#ticket").get_attribute("aria-invalid") == "true"
        assert page.locator("#ticket:invalid").count() == 1
        page.fill("#subjects", "not a subject")
        assert "line 1: not an e-mail address or phone number" in page.locator("#subjects-error").inner_text()
        page.screenshot(path=str(shots / "intake-flagged.png"), full_page=True)
        posts_before = [u for u in urls if u.endswith("/intake")]
        page.get_by_role("button", name="Seal the list and trigger the erasure").click()
        assert page.locator("#ticket").count() == 1  # still the form: the browser refused to submit
        assert [u for u in urls if u.endswith("/intake")] == posts_before

        # fixed, the messages go; the list is sealed and the run triggered
        page.fill("#ticket", "DSR-2026-0099")
        assert page.locator("#ticket-error").inner_text() == ""
        page.fill("#received_on", (datetime.now(UTC).date() - timedelta(days=2)).isoformat())
        page.fill("#subjects", f"{email}\n{phone}")
        assert page.locator("#subjects-error").inner_text() == ""
        page.get_by_role("button", name="Seal the list and trigger the erasure").click()
        page.locator("#run-id").wait_for(timeout=60_000)
        run_id = page.locator("#run-id").inner_text()
        assert run_id.startswith("manual__") and "dry run" in page.locator("#intake-done").inner_text()
        assert email not in page.content() and phone not in page.content()
        page.screenshot(path=str(shots / "intake-submitted.png"), full_page=True)
        # the dry run's plan looked right: the real run of the same sealed list, one button away
        page.get_by_role("button", name="Start the real run").click()
        page.locator("#intake-done", has_text="waits for approval").wait_for(timeout=60_000)
        assert page.locator("#run-id").inner_text() not in ("", run_id)
        assert all(email not in u and "ida.intake" not in u and phone[1:] not in u for u in urls)
    api_log = (tmp_path / "api-server.log").read_text(errors="replace")
    assert email not in api_log and "ida.intake" not in api_log and phone[1:] not in api_log
    _keep_screenshots(shots)


def test_the_nightly_trigger_form_offers_dry_run_as_a_choice_whose_empty_value_is_the_configuration(
    intake_server, tmp_path
):
    server = intake_server
    with chromium_page(height=1400) as (_context, page):
        log_in(page, server.base_url, "analyst", server.users["analyst"])
        page.goto(f"{server.base_url}/dags/genesys_retention_purge")
        page.get_by_role("button", name="Trigger").first.click()
        run_mode = page.locator("#element_run_mode")
        run_mode.wait_for(timeout=60_000)
        # a dropdown, not a switch reading "off": empty says what it means
        assert run_mode.inner_text().strip() == "As in the configuration file"
        assert page.locator("#element_scan").inner_text().strip() == "As in the configuration file"
        run_mode.locator("input[role=combobox]").click()
        page.get_by_text("Dry run: plan and report, submit nothing", exact=True).click()
        assert run_mode.get_by_text("Dry run: plan and report, submit nothing", exact=True).is_visible()
        page.screenshot(path=str(tmp_path / "nightly-trigger-form.png"), full_page=True)
        page.get_by_role("button", name="Trigger").last.click()
        page.wait_for_url(lambda url: "/runs/" in url, timeout=60_000)
    runs = requests.get(
        f"{server.base_url}/api/v2/dags/genesys_retention_purge/dagRuns",
        headers={"Authorization": f"Bearer {token(server, 'analyst')}"},
        timeout=30,
    ).json()["dag_runs"]
    # the analyst's run (a test before may have triggered runs in this worker's metadata DB)
    mine = [run for run in runs if run.get("triggering_user_name") == "analyst"]
    assert [(run["conf"].get("run_mode"), run["conf"].get("scan")) for run in mine] == [("dry run", None)]


def test_airflows_own_trigger_form_answers_a_bad_ticket_in_words_without_the_value(intake_server, tmp_path):
    server = intake_server
    with chromium_page(height=1400) as (_context, page):
        log_in(page, server.base_url, "analyst", server.users["analyst"])
        page.goto(f"{server.base_url}/dags/genesys_subject_erasure")
        page.get_by_role("button", name="Trigger").first.click()
        page.locator("#element_ticket").wait_for(timeout=60_000)
        page.fill("#element_ticket", "-bad ticket")
        page.fill("#element_received_on", (datetime.now(UTC).date() - timedelta(days=2)).isoformat())
        page.get_by_role("button", name="Trigger").last.click()
        refusal = page.get_by_text("'DSR ticket' (ticket): required; 2-64 letters, digits")
        refusal.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "trigger-refused.png"), full_page=True)
        assert "Failed validating" not in page.content()
        assert "-bad ticket" not in refusal.inner_text()


def _keep_screenshots(shots: Path) -> None:
    keep = os.environ.get("EVIDENCE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, Path(keep) / shot.name)

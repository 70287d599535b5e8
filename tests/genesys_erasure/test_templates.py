"""The Jinja2 templates of the run report, the certificates and the deadline notification: values are
escaped, a missing variable fails, and the documents keep their order."""

from __future__ import annotations

import re
from datetime import date

import pytest
from jinja2 import UndefinedError

from genesys_erasure.deadlines import DeadlineEntry, notification_html, notification_text
from genesys_erasure.evidence import CERTIFICATE, RUN_REPORT
from genesys_erasure.report_html import render_html
from genesys_erasure.steps.certificates import certificate_html
from genesys_erasure.templates import environment, render

HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39;"
SUBJECT = "ab" * 32


def _report() -> dict:
    return {
        "document_type": RUN_REPORT,
        "run_id": "run-1",
        "counts": {"verified": 1},
        "legal_hold_exemptions": [
            {"subject_hash": SUBJECT, "conversation_id": "c-1", "recording_id": "r-1", "reason": HOSTILE}
        ],
        "warehouse": {
            "status": "done",
            "note": HOSTILE,
            "tables": [{"system": "snowflake", "table": "CRM." + HOSTILE, "rows_affected": 3}],
        },
        "subjects": [{"subject_hash": SUBJECT, "state": "failed", "reason": HOSTILE}],
        "parameters": {"ticket": HOSTILE},
        "residual_data_disclosure": [{"topic": "Backups", "text": HOSTILE}],
    }


def _certificate(**erasure) -> dict:
    return {
        "document_type": CERTIFICATE,
        "subject_hash": SUBJECT,
        "ticket": "DSR-" + HOSTILE,
        "exemptions": [{"conversation_id": "c-1", "recording_id": "r-1", "reason": HOSTILE}],
        "input_identifier_hashes": [{"kind": "email", "hash": "h-" + HOSTILE}],
        "erasure": {
            "run_id": "run-" + HOSTILE,
            "source": "dsr",
            "erased_before_this_request": False,
            **erasure,
        },
    }


def _entry(ticket: str | None, days_left: int) -> DeadlineEntry:
    return DeadlineEntry(SUBJECT, ticket, date(2026, 10, 1), date(2026, 11, 1), "planned", days_left)


def test_run_report_escapes_reasons_table_names_notes_and_parameters():
    page = render_html(_report())
    assert "<script>" not in page and "'quoted'" not in page
    assert page.count(ESCAPED) == 6  # reason twice, note, table name, parameter, disclosure text
    assert f"CRM.{ESCAPED}" in page


def test_certificate_escapes_the_ticket_and_the_exemption_reason():
    page = render_html(_certificate())
    assert "<script>" not in page
    assert f"DSR-{ESCAPED}" in page and page.count(ESCAPED) == 2


@pytest.mark.parametrize("earlier", [False, True])
def test_dsr_certificate_escapes_the_run_it_rests_on_and_the_identifier_hashes(earlier):
    page = certificate_html(_certificate(erased_before_this_request=earlier))
    assert "<script>" not in page
    assert f"<code>run-{ESCAPED}</code>" in page and f"<code>h-{ESCAPED}</code>" in page
    assert ("no new request was sent for ticket DSR-" + ESCAPED in page) is earlier


def test_run_report_opens_with_the_verdict_and_headline_then_summaries_then_the_per_subject_table():
    page = render_html(_report())
    headings = [
        "<h1>",
        "Verdict:",
        'id="headline"',
        "<svg",
        "Counts per state",
        "Exemptions (legal hold)",
        "Warehouse copies",
        "What this erasure does not cover",
        "Skipped: already erased",
        "<h2>Subjects</h2>",
        "Parameters",
        'class="sig"',
    ]
    positions = [page.index(h) for h in headings]
    assert positions == sorted(positions)


def test_dsr_certificate_section_comes_before_the_exemptions():
    page = certificate_html(_certificate())
    assert page.index("Certificate of erasure (GDPR Art. 17)") < page.index(
        "Erasure this certificate rests on"
    )
    assert page.index("Identifiers named in the request") < page.index("<h2>Exemptions (legal hold)")


def test_notification_text_is_plain_and_its_email_body_is_escaped():
    entries = [_entry(HOSTILE, -2), _entry(None, 3)]
    text = notification_text(entries)
    assert text.splitlines() == [
        "2 GDPR erasure request(s) need attention (1 overdue):",
        f"- ticket {HOSTILE}: subject {SUBJECT[:16]}… OVERDUE by 2 day(s) (due 2026-11-01, state planned)",
        f"- ticket -: subject {SUBJECT[:16]}… due in 3 day(s) (due 2026-11-01, state planned)",
    ]
    assert not text.endswith("\n")
    body = notification_html(entries)
    assert body.startswith("<pre>") and body.endswith("</pre>") and "<script>" not in body
    assert f"- ticket {ESCAPED}: subject" in body


@pytest.mark.parametrize("template", ["run_report.html.j2", "certificate.html.j2", "dsr_certificate.html.j2"])
def test_a_template_without_its_document_fails_instead_of_printing_nothing(template):
    with pytest.raises(UndefinedError):
        render(template)


def test_a_missing_value_fails_loudly():
    with pytest.raises(UndefinedError, match="erasure"):
        certificate_html({k: v for k, v in _certificate().items() if k != "erasure"})
    with pytest.raises(UndefinedError, match="overdue"):
        render("deadline_notification.txt.j2", entries=[])
    with pytest.raises(UndefinedError):
        environment().from_string("<p>{{ ticket }}</p>").render()


def test_every_template_compiles_and_html_is_autoescaped():
    env = environment()
    names = env.list_templates(extensions=["j2"])
    assert {"run_report.html.j2", "certificate.html.j2", "deadline_notification.txt.j2"} <= set(names)
    for name in names:
        env.get_template(name)
    assert env.autoescape("run_report.html.j2") and not env.autoescape("deadline_notification.txt.j2")


def test_run_report_shows_what_the_plan_left_out():
    plan = {"quarantined": 3, "incomplete_lookups": 2, "unrelated_records": 17, "needs_review": 1}
    page = render_html({**_report(), "parameters": {"plan": plan}})

    section = page[page.index("Left out of the plan") : page.index("Skipped: already erased")]
    assert re.findall(r"<td>(\d+)</td></tr>", section) == ["3", "2", "17", "1"]


WATCH = "Verdict: Compliant, with subjects still to watch"


@pytest.mark.parametrize(
    ("counts", "reasons", "warehouse", "verdict"),
    [
        ({"verified": 3}, {}, "done", "Verdict: Compliant: no subject"),
        ({"verified": 3, "erasure_pending": 1}, {}, "done", WATCH),
        (
            {"verified": 3, "needs_review": 1},
            {"shared_with_person_not_erased": 1},
            "done",
            WATCH,
        ),
        ({"verified": 3, "needs_review": 1}, {"attempts_exhausted": 1}, "done", "Verdict: Not compliant"),
        ({"verified": 3, "failed": 1}, {}, "done", "Verdict: Not compliant"),
        ({"verified": 3}, {}, "unverified", "Verdict: Not compliant"),
    ],
)
def test_run_report_verdict_follows_the_rules_that_fail_the_run(counts, reasons, warehouse, verdict):
    report = {**_report(), "counts": counts, "needs_review_reasons": reasons}
    report["warehouse"] = {**report["warehouse"], "status": warehouse}
    page = render_html(report)
    assert verdict in page
    assert page.index(verdict) < page.index("Counts per state")


def test_run_report_headline_counts_and_chart_bars_per_state():
    report = {**_report(), "counts": {"verified": 7, "failed": 2, "planned": 0}, "total_subjects": 9}
    page = render_html(report)
    headline = page[page.index('id="headline"') : page.index("</svg>")]
    assert "<b>7</b><span>verified erased</span>" in headline and "<b>2</b><span>failed</span>" in headline
    assert "<b>3</b><span>warehouse rows deleted</span>" in headline
    bars = re.findall(r"<text x=\"0\" y=\"\d+\">(\w+)</text>", headline)
    assert bars == ["verified", "failed"]  # states with no subject draw no bar

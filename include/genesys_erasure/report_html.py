"""Readable HTML for the run report and the erasure certificate. Every value is escaped (`_e`), however
harmless it looks: a run id, a ticket or a reason can contain anything an operator typed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

_CSS = (
    "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:90rem;"
    "color:#1b1b1b;line-height:1.45}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;"
    "border-bottom:1px solid #ccc}table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}"
    "code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:.85rem;word-break:break-all}"
    ".ok{color:#176f2c}.bad{color:#a4161a}.note{background:#fff8e1;border-left:4px solid #f0b400;"
    "padding:.5rem 1rem}.sig{color:#555;font-size:.85rem}"
)


def _e(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return escape(json.dumps(value, sort_keys=True, ensure_ascii=False), quote=True)
    return escape(str(value), quote=True)


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], empty: str = "None.") -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{_e(empty)}</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _mono(value: Any) -> str:
    return f'<span class="mono">{_e(value)}</span>'


def _verification(verification: Mapping[str, Any] | None) -> str:
    if not verification:
        return "—"
    status = verification.get("status", "?")
    css = "ok" if status == "verified" else "bad"
    problems = (
        len(verification.get("conversation_findings", []))
        + len(verification.get("recording_findings", []))
        + len(verification.get("external_contact_findings", []))
    )
    fields = sorted(
        {f for c in verification.get("conversation_findings", []) for f in c.get("fields", [])}
        | {f for c in verification.get("external_contact_findings", []) for f in c.get("fields", [])}
    )
    detail = f"<br><small>fields: {_e(', '.join(fields))}</small>" if fields else ""
    return f'<span class="{css}">{_e(status)}</span> ({_e(problems)} findings){detail}'


def _disclosure(items: Iterable[Mapping[str, str]]) -> str:
    return "".join(f"<h3>{_e(i.get('topic'))}</h3><p>{_e(i.get('text'))}</p>" for i in items)


def _signature(document: Mapping[str, Any]) -> str:
    return (
        f'<p class="sig">Signed {_e(document.get("signature_algorithm"))}, key id '
        f"{_mono(document.get('signature_key_id'))}, signature {_mono(document.get('signature'))}. "
        "The JSON file is the authoritative record: check it with "
        "<code>python -m genesys_erasure.evidence verify &lt;file&gt;.json --key-env VAR</code>.</p>"
    )


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def render_run_report_html(report: Mapping[str, Any]) -> str:
    counts = report.get("counts", {})
    subjects = report.get("subjects", [])
    warehouse = report.get("warehouse", {})
    body = [
        f"<h1>Genesys Cloud erasure run {_e(report.get('run_id'))}</h1>",
        f"<p>Generated {_e(report.get('generated_at'))}. Subjects: {_e(report.get('total_subjects'))}."
        + (" <strong>Dry run: nothing was submitted.</strong>" if report.get("dry_run") else "")
        + "</p>",
        "<h2>Counts per state</h2>",
        _table(["state", "subjects"], ([_e(s), _e(n)] for s, n in counts.items())),
        "<h2>Skipped: already erased by an earlier run</h2>",
        _table(
            ["subject (keyed hash)", "erased by run", "completed", "verified"],
            (
                [
                    _mono(s.get("subject_hash")),
                    _e(s.get("erased_by_run_id")),
                    _e(s.get("completed_at")),
                    _e(s.get("verified_at")),
                ]
                for s in report.get("skipped_already_erased", [])
            ),
        ),
        "<h2>Exemptions (legal hold)</h2>",
        _table(
            ["subject (keyed hash)", "conversation", "recording", "reason"],
            (
                [
                    _mono(x.get("subject_hash")),
                    _mono(x.get("conversation_id")),
                    _mono(x.get("recording_id")),
                    _e(x.get("reason")),
                ]
                for x in report.get("legal_hold_exemptions", [])
            ),
        ),
        "<h2>Warehouse copies</h2>",
        f'<p class="note">Status: {_e(warehouse.get("status"))}. {_e(warehouse.get("note"))}</p>',
        _table(
            ["system", "table", "rows affected", "unrecoverable after"],
            (
                [
                    _e(t.get("system")),
                    _e(t.get("table")),
                    _e(t.get("rows_affected")),
                    _e(t.get("unrecoverable_after")),
                ]
                for t in warehouse.get("tables", [])
            ),
            empty="No warehouse results recorded yet.",
        ),
        "<h2>Subjects</h2>",
        "<p>One row per subject, by keyed hash (the HMAC key verifies it; no value is shown).</p>",
        _table(
            [
                "subject (keyed hash)",
                "state",
                "request ids",
                "submitted",
                "completed",
                "final",
                "verification",
                "reason",
            ],
            (
                [
                    _mono(s.get("subject_hash")),
                    _e(s.get("state")),
                    _mono(", ".join(s.get("request_ids", []))),
                    _e(s.get("timestamps", {}).get("submitted_at")),
                    _e(s.get("timestamps", {}).get("completed_at")),
                    _e(s.get("timestamps", {}).get("final_at")),
                    _verification(s.get("verification")),
                    _e(s.get("reason")),
                ]
                for s in subjects
            ),
        ),
        "<h2>Parameters</h2>",
        _table(["parameter", "value"], ([_e(k), _mono(v)] for k, v in report.get("parameters", {}).items())),
        "<h2>What this erasure does not cover</h2>",
        _disclosure(report.get("residual_data_disclosure", [])),
        _signature(report),
    ]
    return _page(f"Erasure run {report.get('run_id')}", "".join(body))


def render_certificate_html(certificate: Mapping[str, Any]) -> str:
    dates = certificate.get("dates", {})
    facts = [
        ("Subject (keyed hash)", _mono(certificate.get("subject_hash"))),
        ("Ticket", _e(certificate.get("ticket"))),
        ("Request received", _e(certificate.get("received_on"))),
        ("Due date", _e(certificate.get("due_date"))),
        ("Completed within deadline", _e(certificate.get("completed_within_deadline"))),
        ("Systems covered", _e(", ".join(certificate.get("systems_covered", [])))),
        ("Genesys request type", _e(certificate.get("request_type"))),
        ("Genesys request ids", _mono(", ".join(certificate.get("request_ids", [])))),
        ("First planned", _e(dates.get("first_planned_at"))),
        ("Submitted", _e(dates.get("submitted_at"))),
        ("Completed (Genesys)", _e(dates.get("completed_at"))),
        ("Independently verified", _e(dates.get("verified_at"))),
        ("Verification", _verification(certificate.get("verification"))),
        ("Warehouse rows affected", _mono(certificate.get("warehouse_rows"))),
        ("Issued", _e(certificate.get("issued_at"))),
        ("Issuer", _e(certificate.get("issuer"))),
    ]
    body = [
        "<h1>Certificate of erasure (GDPR Art. 17)</h1>",
        _table(["", ""], ([f"<strong>{_e(k)}</strong>", v] for k, v in facts)),
        "<h2>Exemptions (legal hold)</h2>",
        _table(
            ["conversation", "recording", "reason"],
            (
                [_mono(x.get("conversation_id")), _mono(x.get("recording_id")), _e(x.get("reason"))]
                for x in certificate.get("exemptions", [])
            ),
        ),
        "<h2>What this erasure does not cover</h2>",
        _disclosure(certificate.get("residual_data_disclosure", [])),
        _signature(certificate),
    ]
    return _page("Certificate of erasure", "".join(body))


def render_html(document: Mapping[str, Any]) -> str:
    """HTML for either document type (chosen by `document_type`)."""
    from genesys_erasure.evidence import CERTIFICATE, RUN_REPORT

    kind = document.get("document_type")
    if kind == RUN_REPORT:
        return render_run_report_html(document)
    if kind == CERTIFICATE:
        return render_certificate_html(document)
    raise ValueError(f"document_type: expected {RUN_REPORT!r} or {CERTIFICATE!r}")

"""Readable HTML for the run report and the erasure certificate, rendered from the Jinja2 templates in
`genesys_erasure/templates` (`run_report.html.j2`, `certificate.html.j2`), which escape every value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genesys_erasure.templates import render


def render_run_report_html(report: Mapping[str, Any]) -> str:
    return render("run_report.html.j2", report=report)


def render_certificate_html(certificate: Mapping[str, Any]) -> str:
    return render("certificate.html.j2", certificate=certificate)


def render_html(document: Mapping[str, Any]) -> str:
    """HTML for either document type (chosen by `document_type`)."""
    from genesys_erasure.evidence import CERTIFICATE, RUN_REPORT

    kind = document.get("document_type")
    if kind == RUN_REPORT:
        return render_run_report_html(document)
    if kind == CERTIFICATE:
        return render_certificate_html(document)
    raise ValueError(f"document_type: expected {RUN_REPORT!r} or {CERTIFICATE!r}")

"""The Jinja2 templates of the documents the pipelines write (the run report and certificate pages, the
deadline notification) and `render`, which fills one in.

HTML templates are autoescaped: a run id, a ticket, a reason or a table name can hold anything an operator
typed, so no value reaches a page unescaped, however harmless it looks. Undefined names raise
(`StrictUndefined`), so a template that refers to something its caller did not pass fails instead of
printing an empty cell.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


def show(value: Any) -> str:
    """A document value as it reads on a page: None as a dash, booleans as yes/no, lists and mappings as
    sorted JSON. Escaping is left to the environment, so this filter returns plain text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def verification_summary(verification: Mapping[str, Any]) -> dict[str, Any]:
    """Status, number of findings and the sorted names of the fields still holding data, for one
    verification result."""
    conversations = verification.get("conversation_findings", [])
    contacts = verification.get("external_contact_findings", [])
    fields = {f for c in conversations for f in c.get("fields", [])} | {
        f for c in contacts for f in c.get("fields", [])
    }
    status = verification.get("status", "?")
    attributes = verification.get("participant_attributes") or {}
    return {
        "status": status,
        "ok": status == "verified",
        "findings": len(conversations) + len(verification.get("recording_findings", [])) + len(contacts),
        "pending": len(verification.get("pending", [])),
        "fields": sorted(fields),
        # conversations whose participant attributes were not read, per reason (never silently "checked")
        "attributes_not_verified": sorted((attributes.get("not_verified") or {}).items()),
    }


def _autoescape(name: str | None) -> bool:
    # Plain-text templates feed a log line and a webhook payload, where an HTML entity would be a wrong
    # character; every other template is HTML.
    return not (name or "").endswith(".txt.j2")


def _report_verdict(report: Mapping[str, Any]):
    from genesys_erasure.verdict import report_verdict  # it loads the run's rules: only when a report renders

    return report_verdict(report)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("genesys_erasure", "templates"),
        autoescape=_autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["show"] = show
    env.globals["verification_summary"] = verification_summary
    env.globals["report_verdict"] = _report_verdict
    return env


def render(template: str, /, **context: Any) -> str:
    """The named template of this folder filled in with `context`."""
    return environment().get_template(template).render(**context)

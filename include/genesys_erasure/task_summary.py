"""How every task's log ends: one plain sentence and a short table an auditor reads in the Airflow UI
without the code. Airflow's own "Done. Returned value was: {...}" line is switched off (the DAGs'
`default_args`), because a step's result is a dict for the next task, full of 64-character hashes.

`task_summary(step_name, result)` renders the ending for one step's result: the step's own sentence where
one is written below, a generic one otherwise; the table shows counts, states, short ids and paths, never
a list of hashes (only how many it holds). Nothing here sees a raw identifier: steps return none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_HASH = re.compile(r"^[0-9a-f]{64}$")
_MAX_ROWS = 24
_MAX_TEXT = 90


def task_summary(step_name: str, result: Any) -> str:
    """The last lines of a task's log for `step_name`'s `result` (a sentence, then a table)."""
    sentence = _sentence(step_name, result)
    rows = summary_rows(result)
    if not rows:
        return sentence
    width = max(len(name) for name, _ in rows)
    lines = [sentence, "", f"{'item':<{width}}  value", f"{'-' * width}  {'-' * 5}"]
    lines += [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)


def summary_rows(result: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(name, value) rows for a result: scalars as they are, lists as their length, nested mappings one
    level deep (`outer.inner`); 64-character hashes shortened; at most `_MAX_ROWS` rows."""
    if not isinstance(result, Mapping):
        if isinstance(result, list | tuple):
            return [(prefix or "items", f"{len(result)} item(s)")]
        return [(prefix or "result", _scalar(result))] if result is not None else []
    rows: list[tuple[str, str]] = []
    for key, value in result.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            if not value:
                continue
            if prefix:  # deeper than one level: how many entries, not what they are
                rows.append((name, f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"))
            else:
                rows += summary_rows(value, name)
        elif isinstance(value, list | tuple):
            rows.append((name, f"{len(value)} item(s)"))
        elif value is not None:
            rows.append((name, _scalar(value)))
    if len(rows) > _MAX_ROWS:
        rows = [*rows[: _MAX_ROWS - 1], ("…", f"{len(rows) - _MAX_ROWS + 1} more in the task's XCom")]
    return rows


def _scalar(value: Any) -> str:
    text = str(value)
    if _HASH.match(text):
        return f"{text[:12]}…"
    return text if len(text) <= _MAX_TEXT else f"{text[: _MAX_TEXT - 1]}…"


def _count(result: Mapping[str, Any], key: str) -> int:
    value = result.get(key, 0)
    return value if isinstance(value, int) else 0


def _sentence(step_name: str, result: Any) -> str:
    write = SENTENCES.get(step_name)
    if write is not None and isinstance(result, Mapping):
        try:
            return write(result)
        except (KeyError, TypeError, ValueError):
            pass  # a result of another shape: the generic sentence still ends the log
    return f"Step {step_name.strip('_').replace('_', ' ')} finished."


def _plan(r: Mapping[str, Any]) -> str:
    if r.get("dry_run"):
        return f"Dry run: {_count(r, 'to_submit')} subject(s) would be submitted; nothing was sent."
    waits = {
        "first_contact": " It waits for a person's approval: the first run that submits to this org.",
        "over_threshold": " It waits for a person's approval: the plan is larger than the threshold.",
    }.get(
        str(r.get("approval_reason")), " It waits for a person's approval." if r.get("needs_approval") else ""
    )
    return f"Planned {_count(r, 'to_submit')} subject(s) for erasure.{waits}"


def _submit(r: Mapping[str, Any]) -> str:
    text = f"Created {_count(r, 'submitted')} GDPR request(s) at Genesys"
    if _count(r, "rejected"):
        text += f"; Genesys rejected {_count(r, 'rejected')} subject(s) (failed, see the log above)"
    if _count(r, "deferred_gdpr_quota"):
        text += f"; {_count(r, 'deferred_gdpr_quota')} wait for the next run (GDPR quota reached)"
    return text + "."


def _verify(r: Mapping[str, Any]) -> str:
    return (
        f"Verified {_count(r, 'verified')} subject(s) erased; {_count(r, 'erasure_pending')} pending at "
        f"Genesys, {_count(r, 'needs_review')} for a person to review, {_count(r, 'failed')} failed."
    )


def _evidence(r: Mapping[str, Any]) -> str:
    return f"Signed report written: {r['report_html']}."


def _compliance(r: Mapping[str, Any]) -> str:
    pending = _count(r, "erasure_pending")
    review = _count(r, "needs_review")
    text = "Compliant: no subject of this run failed."
    if pending or review:
        text += f" {pending} pending at Genesys (re-checked by later runs), {review} listed for review."
    return text


def _external(r: Mapping[str, Any]) -> str:
    if r.get("dry_run"):
        return (
            f"Dry run: {_count(r, 'would_record')} erasure(s) made outside the pipeline would be recorded; "
            "nothing was written."
        )
    text = f"Recorded {_count(r, 'recorded')} erasure(s) made outside the pipeline"
    if _count(r, "adopted_from_earlier_runs"):
        text += (
            f"; took over {_count(r, 'adopted_from_earlier_runs')} an earlier listener run recorded and "
            "never verified"
        )
    return text + "."


def _settle(r: Mapping[str, Any]) -> str:
    return "Recorded what Genesys answered for this run's requests."


def _warehouses(r: Mapping[str, Any]) -> str:
    status = str(r.get("status", "unknown"))
    if status == "not_configured":
        return "No warehouse mapping is configured: no warehouse copies were cleaned."
    return f"Warehouse copies: {status.replace('_', ' ')}."


def _scan(r: Mapping[str, Any]) -> str:
    return (
        f"Read {_count(r, 'conversations_read')} conversation(s): {_count(r, 'expired_identifiers')} "
        f"identifier(s) past retention, {_count(r, 'recent_identifiers')} with recent contact (kept)."
    )


SENTENCES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "find_expired_customers": _scan,
    "plan_retention_purge": _plan,
    "plan_for_ticket": _plan,
    "submit_batch": _submit,
    "_resubmit_errors": _submit,
    "verify_completed": _verify,
    "write_run_evidence": _evidence,
    "check_compliance": _compliance,
    "settle_requests": _settle,
    "record_external_erasures": _external,
    "_clean_warehouses": _warehouses,
}

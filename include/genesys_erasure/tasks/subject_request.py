"""The ad-hoc erasure's own steps around the shared flow: validate the analyst's input, plan, and issue
the per-subject certificates for the ticket.

Raw identifiers go from `validate_subject_request` to `plan_subject_erasure` through the run workspace
(encrypted); XCom carries counts, keyed hashes and the ticket only. The steps, the ledger, the input
parsers and the runtime are imported inside the functions: a DAG file must parse fast.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

if TYPE_CHECKING:
    from genesys_erasure.identifiers import Identifier
    from genesys_erasure.steps.runtime import ErasureRuntime
    from genesys_erasure.subject_input import SubjectList

log = logging.getLogger(__name__)

SUBJECTS_HANDOFF = "dsr_subjects"


def read_subjects(params: dict[str, Any], default_region: str | None) -> SubjectList:
    """The subject list from the form: inline or from the file the URI names (any ObjectStoragePath
    scheme; `file://` out of the box). Exactly one of the two must be given."""
    from genesys_erasure.subject_input import (
        InputLimits,
        RowProblem,
        SubjectInputError,
        missing_file,
        parse_file,
        parse_inline,
    )

    inline, uri = params.get("subjects"), params.get("subjects_file")
    skip = bool(params.get("skip_invalid_rows"))
    if inline and uri:
        raise SubjectInputError([RowProblem(None, "subjects", "give either subjects or subjects_file")])
    if not inline and not uri:
        raise SubjectInputError([RowProblem(None, "subjects", "empty_list (or give subjects_file)")])
    limits = InputLimits()
    if inline:
        return parse_inline(inline, skip_invalid_rows=skip, default_region=default_region, limits=limits)
    from airflow.sdk import ObjectStoragePath

    try:
        path = ObjectStoragePath(uri)
        if not path.is_file():
            raise missing_file()
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except SubjectInputError:
        raise
    except FileNotFoundError:
        raise missing_file() from None
    except Exception as error:  # unknown scheme, permissions, storage errors: the class name only
        problem = RowProblem(None, "subjects_file", f"unreadable ({type(error).__name__})")
        raise SubjectInputError([problem]) from None
    return parse_file(
        data, name=str(uri), skip_invalid_rows=skip, default_region=default_region, limits=limits
    )


def _hashes(runtime: ErasureRuntime, identifiers) -> list[dict[str, str]]:
    return [{"kind": i.kind.value, "hash": runtime.hasher.hash_identifier(i)} for i in identifiers]


@task
def validate_subject_request() -> dict[str, Any]:
    """Fails first, naming row, field and reason, before anything is read from or sent to Genesys. Bad
    input fails without retries (it does not fix itself); a passing storage or ledger outage is retried."""
    from genesys_erasure.config import ConfigError
    from genesys_erasure.dsr import DsrError, DsrRequest, check_mode_allows
    from genesys_erasure.steps.runtime import load_runtime
    from genesys_erasure.subject_input import SubjectInputError

    context = get_current_context()
    params, run_id = context["params"], context["run_id"]
    try:
        runtime = load_runtime(params)
        request = DsrRequest.from_params(params, today=datetime.now(UTC).date())
        subjects = read_subjects(params, runtime.config.default_phone_region)
        check_mode_allows([i.kind.value for i in subjects.identifiers], request.mode)
    except (ConfigError, DsrError, SubjectInputError) as bad:
        raise AirflowFailException(str(bad)) from None
    runtime.workspace().put(run_id, SUBJECTS_HANDOFF, [[i.kind.value, i.value] for i in subjects.identifiers])
    summary = subjects.summary()
    log.info("Ticket %s, received %s, due %s", request.ticket, request.received_on, request.due_date)
    log.info("Subject list: %s", summary)
    return {
        **summary,
        "ticket": request.ticket,
        "received_on": request.received_on.isoformat(),
        "due_date": request.due_date.isoformat(),
        "mode": request.mode.value,
        "dry_run": runtime.config.dry_run,
        "input_identifier_hashes": _hashes(runtime, subjects.identifiers),
    }


def _erased_earlier(runtime: ErasureRuntime, identifiers) -> dict[Identifier, dict[str, Any]]:
    """Identifiers already erased (verified) under an earlier run: not submitted again. Compared per
    identifier hash: the nightly purge's subject holds more identifiers than an analyst gives."""
    from genesys_erasure.ledger import SubjectState

    earlier: dict[Identifier, dict[str, Any]] = {}
    with runtime.open_ledger() as ledger:
        for identifier in identifiers:
            rows = ledger.lookup_identifier_hash(runtime.hasher.hash_identifier(identifier))
            verified = [r for r in rows if r.state is SubjectState.VERIFIED]
            if verified:
                row = max(verified, key=lambda r: r.final_at or r.updated_at)
                earlier[identifier] = {"subject_hash": row.subject_hash, "run_id": row.run_id}
    return earlier


def approval_text(summary: dict[str, Any]) -> str:
    """The plan as the approver sees it: counts and keyed-hash prefixes only."""
    subjects = [h[:16] + "…" for batch in summary["batches"] for h in batch]
    lines = [
        f"**Ticket {summary['ticket']}** (received {summary['received_on']}, due {summary['due_date']}), "
        f"mode **{summary['mode']}** ({summary['request_type']}).",
        f"- Identifiers given: {summary['input']['identifiers']} "
        f"({', '.join(f'{k}: {v}' for k, v in summary['input']['identifiers_by_type'].items() if v)}); "
        f"duplicates merged: {summary['input']['duplicates_merged']}; "
        f"invalid rows skipped: {summary['input']['invalid_rows_skipped']}",
        f"- Already erased by an earlier run (not submitted again): {summary['erased_earlier']}",
        f"- Subjects to erase: {summary['to_submit']} (identifiers after identity resolution: "
        f"{summary['resolved_identifiers_by_type']})",
        f"- Conversations affected: {summary['conversations_affected']} "
        f"(still active, deferred: {summary['active_conversations']}; under legal hold, recordings kept: "
        f"{summary['protected_conversations']})",
        f"- Quarantined (implausibly shared identifiers, not erased): {summary['quarantined']}",
        "- Subjects (keyed hashes): "
        + (", ".join(subjects[:50]) or "none")
        + (f" and {len(subjects) - 50} more" if len(subjects) > 50 else ""),
    ]
    return "\n".join(lines)


@task
def plan_subject_erasure(validated: dict[str, Any]) -> dict[str, Any]:
    from genesys_erasure.dsr import DsrRequest
    from genesys_erasure.identifiers import Identifier, IdentifierKind
    from genesys_erasure.ledger import SubjectSource
    from genesys_erasure.steps.plan import PlanRequest, Seed, plan_erasure
    from genesys_erasure.steps.runtime import load_runtime
    from genesys_erasure.steps.subject_conversations import find_conversations

    context = get_current_context()
    params, run_id = context["params"], context["run_id"]
    now = datetime.now(UTC)
    runtime = load_runtime(params)
    request = DsrRequest.from_params(params, today=now.date())
    handoff = runtime.workspace().get(run_id, SUBJECTS_HANDOFF)
    identifiers = [Identifier(IdentifierKind(kind), value) for kind, value in handoff]
    earlier = _erased_earlier(runtime, identifiers)
    fresh = [i for i in identifiers if i not in earlier]
    conversations = find_conversations(runtime.hook(), fresh, now) if fresh else {}
    all_ids = sorted({c for ids in conversations.values() for c in ids})
    protected = runtime.hook().get_protected_conversation_ids(all_ids) if all_ids else set()
    seeds = [
        Seed(
            identifier,
            conversation_ids=tuple(conversations.get(identifier, {})),
            conversation_count=len(conversations.get(identifier, {})),
            stalled=any(conversations.get(identifier, {}).values()),
        )
        for identifier in fresh
    ]
    summary = plan_erasure(
        runtime,
        run_id,
        PlanRequest(
            seeds=seeds,
            source=SubjectSource.DSR,
            request_type=request.request_type,
            ticket=request.ticket,
            received_on=request.received_on,
            due_date=request.due_date,
            hold_staff=False,  # former staff are erased by user id on request
            extra={
                "ticket": request.ticket,
                "received_on": request.received_on.isoformat(),
                "due_date": request.due_date.isoformat(),
                "mode": request.mode.value,
                "request_type": request.request_type,
                "input": {k: v for k, v in validated.items() if k != "input_identifier_hashes"},
                "erased_earlier": len(earlier),
                "conversations_affected": len(all_ids),
                "active_conversations": sum(a for ids in conversations.values() for a in ids.values()),
                "protected_conversations": len(protected),
            },
        ),
        now,
    )
    with runtime.open_ledger() as ledger:
        rows = [ledger.get(h) for batch in summary["batches"] for h in batch]
    resolved = Counter(h.kind.value for row in rows if row for h in row.identifier_hashes)
    summary["resolved_identifiers_by_type"] = dict(sorted(resolved.items()))
    # Every real ad-hoc erasure waits for a human; a dry run or an empty plan has nothing to approve.
    summary["needs_approval"] = not runtime.config.dry_run and bool(summary["batches"])
    summary["approval_text"] = approval_text(summary)
    log.info("Plan for approval:\n%s", summary["approval_text"])
    return summary


@task
def issue_certificates(validated: dict[str, Any]) -> dict[str, Any]:
    """One signed certificate (JSON + HTML) per erased subject of the ticket, under
    `report_dir/certificates/<ticket>/`, including subjects an earlier run had already erased."""
    from genesys_erasure.dsr import DsrRequest
    from genesys_erasure.steps import certificates
    from genesys_erasure.steps.runtime import load_runtime

    context = get_current_context()
    params, run_id = context["params"], context["run_id"]
    runtime = load_runtime(params)
    request = DsrRequest.from_params(params, today=datetime.now(UTC).date())
    return certificates.issue_for_ticket(
        runtime, run_id, request, validated["input_identifier_hashes"], datetime.now(UTC)
    )

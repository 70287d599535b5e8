"""The ad-hoc erasure's own steps around the shared flow: validate the analyst's input, plan, and issue
the per-subject certificates for the ticket.

Raw identifiers go from `validate_subject_request` to `plan_subject_erasure` through the run workspace
(encrypted); XCom carries counts, keyed hashes and the ticket only. The steps, the ledger, the input
parsers and the runtime are imported inside the functions: a DAG file must parse fast.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.sdk import get_current_context, task

from genesys_erasure.tasks.runtime import load_runtime, run_step

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

    from genesys_erasure.steps.runtime import ErasureRuntime
    from genesys_erasure.subject_input import SubjectList

log = logging.getLogger(__name__)


def read_subjects(
    params: dict[str, Any],
    default_region: str | None,
    *,
    allow_inline: bool = False,
    cipher: MultiFernet | None = None,
) -> SubjectList:
    """The subject list from the form: inline (only with `allow_inline_subjects`) or from the file the URI
    names (any ObjectStoragePath scheme; `file://` out of the box), which may be a list the intake page
    sealed (opened with `cipher`). Exactly one of the two must be given."""
    from genesys_erasure import intake_files
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
    if inline and not allow_inline:
        # refused before anything is read: the values are in the run's conf already, so say how to avoid it
        reason = (
            "inline subjects are switched off (allow_inline_subjects); submit the list on the intake page "
            "or give subjects_file"
        )
        raise SubjectInputError([RowProblem(None, "subjects", reason)])
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
    name = str(uri)
    if cipher is not None and intake_files.is_sealed(data):
        data, name = intake_files.open_sealed(data, cipher)
    return parse_file(data, name=name, skip_invalid_rows=skip, default_region=default_region, limits=limits)


def _hashes(runtime: ErasureRuntime, identifiers) -> list[dict[str, str]]:
    return [{"kind": i.kind.value, "hash": runtime.hasher.hash_identifier(i)} for i in identifiers]


@task
def validate_subject_request() -> dict[str, Any]:
    """Fails first, naming row, field and reason, before anything is read from or sent to Genesys. Bad
    input fails without retries (it does not fix itself); a passing storage or ledger outage is retried."""
    from genesys_erasure.config import ConfigError
    from genesys_erasure.dsr import DsrError, DsrRequest, check_form, check_mode_allows
    from genesys_erasure.steps.plan_requests import SUBJECTS_HANDOFF
    from genesys_erasure.subject_input import SubjectInputError

    context = get_current_context()
    params, run_id = context["params"], context["run_id"]
    try:
        runtime = load_runtime(params)
        request = DsrRequest.from_params(params, today=datetime.now(UTC).date())
        check_form(params)
        subjects = read_subjects(
            params,
            runtime.config.default_phone_region,
            allow_inline=runtime.config.allow_inline_subjects,
            cipher=runtime.sealer.cipher,
        )
        check_mode_allows([i.kind.value for i in subjects.identifiers], request.mode)
    except (ConfigError, DsrError, SubjectInputError) as bad:
        raise AirflowFailException(str(bad)) from None
    with runtime:
        handoff = [[i.kind.value, i.value] for i in subjects.identifiers]
        runtime.workspace().put(run_id, SUBJECTS_HANDOFF, handoff)
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


@task
def plan_subject_erasure(validated: dict[str, Any]) -> dict[str, Any]:
    from genesys_erasure.dsr import DsrRequest
    from genesys_erasure.steps.plan_requests import plan_for_ticket

    request = DsrRequest.from_params(get_current_context()["params"], today=datetime.now(UTC).date())
    return run_step(plan_for_ticket, request=request, validated=validated)


@task
def issue_certificates(validated: dict[str, Any]) -> dict[str, Any]:
    """One signed certificate (JSON + HTML) per erased subject of the ticket, under
    `report_dir/certificates/<ticket>/`, including subjects an earlier run had already erased; then a
    real run wipes the sealed list the intake page wrote for it."""
    from genesys_erasure.dsr import DsrRequest
    from genesys_erasure.steps import certificates

    params = get_current_context()["params"]
    request = DsrRequest.from_params(params, today=datetime.now(UTC).date())
    return run_step(
        certificates.issue_for_ticket,
        request=request,
        input_hashes=validated["input_identifier_hashes"],
        subjects_file=params.get("subjects_file"),
    )

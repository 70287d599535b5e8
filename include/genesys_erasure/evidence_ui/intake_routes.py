"""The intake page's routes: GET shows the form, POST checks, seals, triggers and answers (see `intake`
for the checks and the trigger); after a dry run, POST /intake/real-run triggers the real run of the same
sealed list. All need the permission to trigger the ad-hoc DAG.

The answer names each problem by field, line or row and reason; no submitted subject value is written
back into a page, a header or a log line (the ticket fields that passed are refilled).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.params import Depends as DependsMarker
from fastapi.responses import HTMLResponse

from genesys_erasure import intake_files
from genesys_erasure.evidence_ui import intake
from genesys_erasure.evidence_ui.render import page
from genesys_erasure.evidence_ui.settings import EvidenceSettings
from genesys_erasure.subject_input import DEFAULT_MAX_ROWS

if TYPE_CHECKING:
    from genesys_erasure.dsr import DsrRequest
    from genesys_erasure.subject_input import SubjectList

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
TextField = Annotated[str, Form()]


def _form_page(
    request: Request, *, values: dict[str, Any], errors: list[intake.FieldError], status: int
) -> HTMLResponse:
    field_errors: dict[str, str] = {}
    for error in errors:
        text = f"{error.row}: {error.reason}" if error.row else error.reason
        field_errors[error.field] = (
            f"{field_errors[error.field]}; {text}" if error.field in field_errors else text
        )
    body = page(
        "intake.html.j2",
        base=request.scope.get("root_path", "").rstrip("/"),
        fields=intake.form_fields(),
        values=values,
        errors=errors,
        field_errors=field_errors,
        today=datetime.now(UTC).date().isoformat(),
        max_rows=f"{DEFAULT_MAX_ROWS:,}",
    )
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def intake_routes(
    app: FastAPI,
    settings: Callable[[], EvidenceSettings],
    trigger: intake.Trigger,
    *,
    submitter: DependsMarker,
) -> None:
    @app.get("/intake", response_class=HTMLResponse, dependencies=[submitter])
    def intake_form(request: Request) -> HTMLResponse:
        return _form_page(request, values={}, errors=[], status=200)

    @app.post("/intake", response_class=HTMLResponse)
    async def intake_submit(
        request: Request,
        ticket: TextField = "",
        received_on: TextField = "",
        mode: TextField = "",
        replacement_text: TextField = "",
        dry_run: TextField = "",
        skip_invalid_rows: TextField = "",
        subjects: TextField = "",
        subjects_upload: Annotated[UploadFile | None, File()] = None,
        user: Any = submitter,  # a default, not Annotated: the marker is local to this function
    ) -> HTMLResponse:
        current = settings()
        today = datetime.now(UTC).date()
        values = {
            "ticket": ticket,
            "received_on": received_on,
            "mode": mode,
            "replacement_text": replacement_text,
        }
        request_fields, errors = intake.check_request(values, today)
        data, source_format, subject_list, subject_errors = await intake.read_subject_input(
            subjects,
            subjects_upload,
            skip_invalid_rows=bool(skip_invalid_rows),
            default_region=current.default_phone_region,
        )
        errors += subject_errors
        if request_fields is not None and subject_list is not None:
            errors += intake.check_mode(request_fields, subject_list)
        flags = {"dry_run": bool(dry_run), "skip_invalid_rows": bool(skip_invalid_rows)}
        if errors or request_fields is None or subject_list is None:
            log.info("Intake refused: %s", "; ".join(f"{e.field} {e.row or ''}".strip() for e in errors))
            kept = {k: v for k, v in values.items() if k not in {e.field for e in errors}}
            return _form_page(request, values={**kept, **flags}, errors=errors, status=400)
        return await _seal_and_trigger(
            request, current, trigger, user, request_fields, flags, data, source_format, subject_list
        )

    @app.post("/intake/real-run", response_class=HTMLResponse)
    async def real_run(
        request: Request,
        ticket: TextField = "",
        received_on: TextField = "",
        mode: TextField = "",
        replacement_text: TextField = "",
        skip_invalid_rows: TextField = "",
        subjects_file: TextField = "",
        user: Any = submitter,
    ) -> HTMLResponse:
        """The real run of a list a dry run planned: the same sealed file, dry run off (it waits for
        approval). Only a file this page wrote, still in the intake directory, is accepted."""
        current = settings()
        values = {
            "ticket": ticket,
            "received_on": received_on,
            "mode": mode,
            "replacement_text": replacement_text,
        }
        request_fields, errors = intake.check_request(values, datetime.now(UTC).date())
        path = intake_files.managed_path(subjects_file, current.intake_dir) if current.intake_dir else None
        if path is None or not path.is_file():
            reason = (
                "not found (wiped after its real run, or not written by this page): submit the list again"
            )
            errors.append(intake.FieldError("subjects", "Sealed subject list", reason))
        if errors or request_fields is None or path is None:
            return _form_page(request, values={}, errors=errors, status=400)
        flags = {"dry_run": False, "skip_invalid_rows": bool(skip_invalid_rows)}
        try:
            return await _trigger(request, trigger, user, request_fields, flags, path.as_uri(), None)
        except intake.TriggerRefused as refused:
            return _refused(request, request_fields, refused)


async def _seal_and_trigger(
    request: Request,
    current: EvidenceSettings,
    trigger: intake.Trigger,
    user: Any,
    request_fields: DsrRequest,
    flags: dict[str, bool],
    data: bytes,
    source_format: Any,
    subject_list: SubjectList,
) -> HTMLResponse:
    from genesys_erasure.sealing import IdentifierSealer

    if current.sealing_key is None or current.intake_dir is None:
        raise RuntimeError("the evidence UI has no sealing key or intake directory configured")
    path = intake_files.seal_subject_list(
        data,
        source_format=source_format,
        ticket=request_fields.ticket,
        directory=current.intake_dir,
        cipher=IdentifierSealer(current.sealing_key()).cipher,
    )
    try:
        return await _trigger(
            request, trigger, user, request_fields, flags, path.as_uri(), subject_list.summary()
        )
    except intake.TriggerRefused as refused:
        intake_files.wipe(path.as_uri(), current.intake_dir)  # no run will read it
        return _refused(request, request_fields, refused)
    except BaseException:
        intake_files.wipe(path.as_uri(), current.intake_dir)
        raise


def _refused(request: Request, request_fields: DsrRequest, refused: intake.TriggerRefused) -> HTMLResponse:
    log.warning(
        "Intake for ticket %s: Airflow refused the trigger (HTTP %d)", request_fields.ticket, refused.status
    )
    reason = f"did not start the run (HTTP {refused.status}): {refused.detail}"
    error = intake.FieldError("request", "Airflow", reason)
    return _form_page(request, values={}, errors=[error], status=403 if refused.status == 403 else 502)


async def _trigger(
    request: Request,
    trigger: intake.Trigger,
    user: Any,
    request_fields: DsrRequest,
    flags: dict[str, bool],
    uri: str,
    summary: dict[str, Any] | None,
) -> HTMLResponse:
    """Trigger the ad-hoc DAG for the sealed list at `uri` and answer with the run id."""
    conf = {
        "ticket": request_fields.ticket,
        "received_on": request_fields.received_on.isoformat(),
        "mode": request_fields.mode.value,
        "replacement_text": request_fields.replacement_text,
        "subjects_file": uri,
        **flags,
    }
    run_id = await trigger(request, conf)
    log.info(
        "Intake for ticket %s by %s: %s subject(s) sealed, run %s triggered (dry run: %s)",
        request_fields.ticket,
        user.get_name(),
        summary["identifiers"] if summary else "the same",
        run_id,
        flags["dry_run"],
    )
    base = request.scope.get("root_path", "").rstrip("/")
    body = page(
        "intake_done.html.j2",
        base=base,
        airflow_root=base.rsplit("/", 1)[0],
        dag_id=intake.INTAKE_DAG_ID,
        run_id=run_id,
        request_fields=request_fields,
        skip_invalid_rows=flags["skip_invalid_rows"],
        summary=summary,
        uri=uri,
        dry_run=flags["dry_run"],
    )
    return HTMLResponse(body, headers=NO_STORE)

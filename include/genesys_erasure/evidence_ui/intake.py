"""The analyst's erasure request intake: a POST form whose subject list never enters Airflow's run
configuration or audit log.

The form's rules (pattern, required, date, length) come from the pydantic models the DAG validates with
(`DsrForm` through `genesys_erasure.params`), so the browser flags a bad value as it is typed. The server
checks everything again with the same models and the row parser (`subject_input`), answers every problem
by field, row and reason (never a value), seals the list into a file under the intake directory
(`intake_files`) and triggers `genesys_subject_erasure` through Airflow's own REST endpoint, in process,
with the user's own credentials: Airflow's permission check, parameter validation and audit log apply,
and the run's conf holds the file's URI and the ticket fields only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import HTTPException, Request, UploadFile
from pydantic import ValidationError

from genesys_erasure.dsr import FIELD_REASONS, DsrError, DsrRequest, check_mode_allows
from genesys_erasure.params import subject_erasure_params
from genesys_erasure.subject_input import (
    DEFAULT_MAX_BYTES,
    InputLimits,
    SubjectInputError,
    SubjectList,
    parse_file,
)

log = logging.getLogger(__name__)

INTAKE_DAG_ID = "genesys_subject_erasure"
REQUEST_FIELDS = ("ticket", "received_on", "mode", "replacement_text")
SUBJECTS_TITLE = "Subject list"


class TriggerRefused(Exception):
    """Airflow did not create the run: its HTTP status and what it said (no subject data is in the conf)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


# `(request, conf) -> run id`: the real one calls Airflow's REST endpoint; tests of the page hand in theirs.
Trigger = Callable[[Request, dict[str, Any]], Awaitable[str]]


async def require_trigger(request: Request, user: Any) -> Any:
    """The auth manager's verdict on triggering the ad-hoc DAG (403 if refused): a viewer may read the
    evidence but not submit a request. Airflow checks the same again when the run is created."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    allowed = get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=INTAKE_DAG_ID), user=user
    )
    if not allowed:
        raise HTTPException(status_code=403, detail=f"Your role may not trigger {INTAKE_DAG_ID}.")
    return user


async def trigger_through_airflow(request: Request, conf: dict[str, Any]) -> str:
    """POST /api/v2/dags/genesys_subject_erasure/dagRuns to the API server's own app, in process, with the
    caller's bearer token or UI cookie: exactly what Airflow's UI does, checks and logs."""
    import httpx
    from airflow.api_fastapi.app import cached_app

    headers = {"Content-Type": "application/json"}
    for name in ("authorization", "cookie"):
        if request.headers.get(name):
            headers[name] = request.headers[name]
    transport = httpx.ASGITransport(app=cached_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://airflow-api-server") as client:
        answer = await client.post(
            f"/api/v2/dags/{INTAKE_DAG_ID}/dagRuns",
            json={"logical_date": None, "conf": conf, "note": "Submitted on the erasure request intake page"},
            headers=headers,
            timeout=60,
        )
    if answer.status_code != 200:
        try:
            detail = str(answer.json().get("detail"))
        except ValueError:
            detail = answer.text
        raise TriggerRefused(answer.status_code, detail[:300])
    return str(answer.json()["dag_run_id"])


# ---- the form -------------------------------------------------------------------------------------------


def html_pattern(regex: str) -> str:
    """A model's regex as an HTML `pattern`: without the anchors (the attribute always matches the whole
    value), and with what the browsers' `v` flag requires escaped inside a character class (`( ) { } / |`
    and a `-` that starts or ends the class); a pattern the browser cannot compile would check nothing."""
    body = regex.removeprefix("^").removesuffix("$")
    out: list[str] = []
    in_class, index = False, 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            out.append(body[index : index + 2])
            index += 2
            continue
        if in_class:
            first = body[index - 1] == "[" and (index < 2 or body[index - 2] != "\\")
            if char == "]":
                in_class = False
            elif char in "(){}/|[" or (char == "-" and (first or body[index + 1 : index + 2] == "]")):
                char = "\\" + char
        elif char == "[":
            in_class = True
        out.append(char)
        index += 1
    return "".join(out)


def form_fields() -> dict[str, dict[str, Any]]:
    """The request fields as the page renders them: the DAG form's title, description and rules, and the
    reason shown when a value is refused."""
    specs = subject_erasure_params()
    fields: dict[str, dict[str, Any]] = {}
    for name in (*REQUEST_FIELDS, "dry_run", "skip_invalid_rows"):
        spec = specs[name]
        fields[name] = {
            "title": spec["title"],
            "description": spec["description"],
            "required": "default" not in spec,
            "default": spec.get("default"),
            "pattern": html_pattern(spec["pattern"]) if "pattern" in spec else None,
            "maxlength": spec.get("maxLength"),
            "enum": spec.get("enum"),
            "reason": FIELD_REASONS.get(name, ""),
        }
    return fields


# ---- the server's checks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem: the field (its title), the row or line where there is one, and the reason."""

    field: str
    title: str
    reason: str
    row: str | None = None

    def describe(self) -> str:
        return f"{self.title}{', ' + self.row if self.row else ''}: {self.reason}"


def check_request(values: dict[str, str], today: date) -> tuple[DsrRequest | None, list[FieldError]]:
    """The request fields through `DsrRequest`, every problem reported (the DAG stops at the first)."""
    titles = form_fields()
    given: dict[str, Any] = {name: values.get(name, "") for name in REQUEST_FIELDS}
    given = {k: v for k, v in given.items() if v or k not in ("mode", "replacement_text")}  # blank: default
    try:
        return DsrRequest.model_validate(given, context={"today": today}), []
    except ValidationError as error:
        problems: dict[str, FieldError] = {}
        for problem in error.errors(include_url=False):
            name = str(problem["loc"][0]) if problem["loc"] else "ticket"
            reason = "is in the future" if problem["type"] == "future" else FIELD_REASONS.get(name, "invalid")
            title = titles[name]["title"] if name in titles else name
            problems.setdefault(name, FieldError(name, title, reason))
        return None, list(problems.values())


def lines_as_json(text: str) -> tuple[bytes, list[int]]:
    """The textarea's non-blank lines as a JSON list (what is sealed) and each entry's line number."""
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    return json.dumps([line for _, line in numbered]).encode("utf-8"), [n for n, _ in numbered]


def subject_errors(error: SubjectInputError, line_numbers: list[int] | None) -> list[FieldError]:
    """Row problems in words: the line of the textarea, or the row of the file (as a spreadsheet counts)."""
    found = []
    for problem in error.problems:
        if problem.row is None:
            where = None
        elif line_numbers is not None:
            where = f"line {line_numbers[problem.row - 1]}" if problem.row <= len(line_numbers) else None
        else:
            where = f"row {problem.row}"
        column = f" ({problem.field})" if problem.field in ("type", "value", "header") else ""
        reason = problem.reason.replace("_", " ")
        found.append(FieldError("subjects", SUBJECTS_TITLE, f"{reason}{column}", where))
    return found


async def read_subject_input(
    text: str, upload: UploadFile | None, *, skip_invalid_rows: bool, default_region: str | None
) -> tuple[bytes, str, SubjectList | None, list[FieldError]]:
    """The list from the textarea or the uploaded file (exactly one): its bytes as they will be sealed,
    their format, the parsed list, and the problems. The file's name is used for its suffix only (a name
    can itself be personal data)."""
    limits = InputLimits()
    has_file = upload is not None and bool(upload.filename)
    if text.strip() and has_file:
        return (
            b"",
            "json",
            None,
            [FieldError("subjects", SUBJECTS_TITLE, "give the list or a file, not both")],
        )
    if has_file:
        suffix = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        data, line_numbers = await upload.read(DEFAULT_MAX_BYTES + 1), None
        source_format = suffix if suffix in ("csv", "json") else ""
    elif text.strip():
        (data, line_numbers), source_format = lines_as_json(text), "json"
    else:
        return (
            b"",
            "json",
            None,
            [FieldError("subjects", SUBJECTS_TITLE, "required; paste the list or choose a file")],
        )
    try:
        subjects = parse_file(
            data,
            name=f"subjects.{source_format or 'unknown'}",
            skip_invalid_rows=skip_invalid_rows,
            default_region=default_region,
            limits=limits,
        )
    except SubjectInputError as error:
        return data, source_format, None, subject_errors(error, line_numbers)
    return data, source_format, subjects, []


def check_mode(request: DsrRequest, subjects: SubjectList) -> list[FieldError]:
    try:
        check_mode_allows([i.kind.value for i in subjects.identifiers], request.mode)
    except DsrError as refused:
        return [FieldError("mode", form_fields()["mode"]["title"], refused.reason)]
    return []

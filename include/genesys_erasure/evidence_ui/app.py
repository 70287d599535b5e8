"""The erasure evidence page: a FastAPI app that the Airflow plugin mounts in the API server.

Every evidence route depends on `require_reader`: Airflow's own user resolution (`get_user`: a bearer
token, else the UI's JWT cookie) and its auth manager's answer to "may this user read the runs of the
erasure DAG?". An anonymous request gets 401; a user the auth manager refuses gets 403; a read-only
(viewer) role reads. The evidence page offers nothing that acts; approving stays in Airflow's UI. The
one page that acts, the analyst's intake (`intake_routes`), depends on `require_submitter` (may this user
trigger the ad-hoc DAG?) and triggers through Airflow's own REST endpoint, which checks the user again.

The look-up is a POST form (the value stays out of URLs, server logs and the browser's history); the
value is normalised and hashed with the keyed hash at once, and only the hash goes further. Responses
are `Cache-Control: no-store`.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from genesys_erasure import signing
from genesys_erasure.evidence_ui import collect, intake
from genesys_erasure.evidence_ui.intake_routes import intake_routes
from genesys_erasure.evidence_ui.render import page
from genesys_erasure.evidence_ui.settings import EvidenceSettings, from_airflow
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import InvalidIdentifier, parse_identifier
from genesys_erasure.lookup import KINDS

log = logging.getLogger(__name__)

# Reading the runs of this DAG is what the page asks of the auth manager: whoever may see the purge's runs
# (a viewer included) may see their evidence.
EVIDENCE_DAG_ID = "genesys_retention_purge"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def current_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> Any:
    """Airflow's user for this request (bearer token, else the UI's cookie; 401 without one)."""
    # Imported per request, in the API server where they are loaded anyway: importing them with the plugin
    # would cost every Airflow component that loads plugins (scheduler, workers) about two seconds.
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, bearer)


async def require_reader(user: Annotated[Any, Depends(current_user)]) -> Any:
    """The auth manager's verdict on reading the purge's runs (403 if refused)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    allowed = get_auth_manager().is_authorized_dag(
        method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=EVIDENCE_DAG_ID), user=user
    )
    if not allowed:
        raise HTTPException(status_code=403, detail="Forbidden")
    return user


async def require_submitter(request: Request, user: Annotated[Any, Depends(current_user)]) -> Any:
    """The auth manager's verdict on triggering the ad-hoc DAG (the intake page; 403 if refused)."""
    return await intake.require_trigger(request, user)


def create_app(
    settings: Callable[[], EvidenceSettings] = from_airflow,
    trigger: intake.Trigger = intake.trigger_through_airflow,
) -> FastAPI:
    """`settings` is called per request (a changed connection or config needs no API server restart);
    `trigger` starts the ad-hoc DAG for the intake page (Airflow's REST endpoint, in process)."""
    app = FastAPI(title="Erasure evidence", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    def refuse_without_echo(request: Request, _exc: RequestValidationError) -> PlainTextResponse:
        # FastAPI's default 422 body repeats the submitted input: no form value may come back
        what = (
            "fill in the form" if request.url.path.endswith("/intake") else "choose a kind and enter a value"
        )
        return PlainTextResponse(f"Bad request: {what}.", status_code=400, headers=NO_STORE)

    reader = Depends(require_reader)
    Settings = Annotated[EvidenceSettings, Depends(settings)]

    @app.get("/", response_class=HTMLResponse, dependencies=[reader])
    def evidence_page(request: Request, current: Settings) -> HTMLResponse:
        runs = collect.runs(current.report_dir, current.hmac_key)
        keys = collect.public_keys(current.report_dir)
        current_key = current.report_dir / signing.CURRENT_KEY_FILE
        body = page(
            "evidence.html.j2",
            base=request.scope.get("root_path", "").rstrip("/"),
            runs=runs,
            nights=collect.erasures_per_night(runs),
            ledger=collect.ledger_view(current.ledger_url, datetime.now(UTC).date()),
            certificates=collect.certificates(current.report_dir, current.hmac_key),
            exemptions=[e for run in runs for e in run.exemptions],
            current_key_id=signing.public_key_id(signing.public_key_from_pem(current_key.read_bytes()))
            if current_key.is_file()
            else None,
            key_ids=sorted(keys),
            kinds=list(KINDS),
        )
        return HTMLResponse(body, headers=NO_STORE)

    @app.post("/lookup", response_class=HTMLResponse, dependencies=[reader])
    def lookup(
        request: Request,
        current: Settings,
        kind: Annotated[str, Form()],
        value: Annotated[str, Form()],
    ) -> HTMLResponse:
        identifier_kind = KINDS.get(kind)
        error = identifier_hash = None
        rows = []
        try:
            if identifier_kind is None:
                raise InvalidIdentifier("identifier kind", "unknown_kind")
            identifier = parse_identifier(identifier_kind, value, current.default_phone_region)
            identifier_hash = KeyedHasher(current.hmac_key()).hash_identifier(identifier)
            rows = collect.subject_history(current.ledger_url, identifier_hash)
        except InvalidIdentifier as invalid:
            # a known kind and a reason code only: neither field's text comes back
            error = f"Not a valid {kind if identifier_kind else 'identifier kind'}: {invalid.reason}"
        log.info("Evidence look-up by %s: %d subject(s) found", kind if identifier_kind else "?", len(rows))
        body = page(
            "lookup.html.j2",
            base=request.scope.get("root_path", "").rstrip("/"),
            kind=kind if identifier_kind else None,
            identifier_hash=identifier_hash,
            error=error,
            rows=sorted(rows, key=lambda r: (r.state.value != "verified", r.subject_hash)),
            certificates=[
                c
                for c in collect.certificates(current.report_dir, current.hmac_key)
                if any(c.subject_hash == r.subject_hash for r in rows)
            ],
            reports={r.run_id: r.path for r in collect.runs(current.report_dir, current.hmac_key)},
        )
        return HTMLResponse(body, status_code=400 if error else 200, headers=NO_STORE)

    intake_routes(app, settings, trigger, submitter=Depends(require_submitter))

    @app.get("/documents/{relative:path}", dependencies=[reader])
    def document(relative: str, current: Settings) -> FileResponse:
        path = collect.document_path(current.report_dir, relative)
        if path is None:
            raise HTTPException(status_code=404, detail="No such report or certificate")
        media = "text/html; charset=utf-8" if path.suffix == ".html" else "application/json"
        return FileResponse(path, media_type=media, headers=NO_STORE)

    @app.get("/signing-public-key.pem", response_class=PlainTextResponse, dependencies=[reader])
    def public_key(current: Settings) -> PlainTextResponse:
        path = current.report_dir / signing.CURRENT_KEY_FILE
        if not path.is_file():
            raise HTTPException(status_code=404, detail="No report has been signed with Ed25519 yet")
        return PlainTextResponse(path.read_text(encoding="ascii"), media_type="application/x-pem-file")

    return app

"""The FastAPI application: one middleware applies what every Genesys endpoint shares (auth, layered
rate limits, injected faults, latency, correlation id and rate-limit headers, request counting), and the
routers serve the endpoints."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from genesys_sandbox import (
    routes_admin,
    routes_analytics,
    routes_conversations,
    routes_external_contacts,
    routes_gdpr,
    routes_oauth,
    routes_org,
    routes_users,
)
from genesys_sandbox.errors import (
    CORRELATION_HEADER,
    ApiError,
    error_body,
    server_error,
    too_many_requests,
)
from genesys_sandbox.limits import Token
from genesys_sandbox.state import SandboxState


def create_app(state: SandboxState) -> FastAPI:
    app = FastAPI(
        title="Genesys Cloud sandbox",
        docs_url="/sandbox/docs",
        openapi_url="/sandbox/openapi.json",
        redoc_url=None,
    )
    app.state.sandbox = state
    for module in (
        routes_oauth,
        routes_gdpr,
        routes_analytics,
        routes_external_contacts,
        routes_conversations,
        routes_users,
        routes_admin,
    ):
        app.include_router(module.router)
    routes_org.install(app)  # org facts and denied permissions (the preflight's endpoints)
    app.middleware("http")(_sandbox_middleware)
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    return app


def _error_response(request: Request, error: ApiError) -> JSONResponse:
    context_id = getattr(request.state, "correlation_id", "") or str(uuid.uuid4())
    body = error_body(error.status, error.code, error.message, context_id, error.details)
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def _api_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return _error_response(request, error)


async def _validation_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
        details.append({"errorCode": "invalid.value", "fieldName": ".".join(location) or "body"})
    names = ", ".join(d["fieldName"] for d in details)
    return _error_response(
        request, ApiError(400, "bad.request", f"Invalid value for: {names}", details=details)
    )


async def _http_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        api_error = ApiError(404, "not.found", "The requested resource could not be found.")
    elif error.status_code == 405:
        api_error = ApiError(405, "method.not.allowed", "The HTTP method is not allowed on this resource.")
    else:
        api_error = ApiError(error.status_code, "bad.request", str(error.detail))
    return _error_response(request, api_error)


def endpoint_key(request: Request) -> str:
    """`METHOD /path/{template}` of the route serving the request, for the request counters."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return f"{request.method} {getattr(route, 'path', request.url.path)}"
    return f"{request.method} <unmatched>"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _sandbox_middleware(request: Request, call_next: Any) -> Response:
    state: SandboxState = request.app.state.sandbox
    correlation_id = str(uuid.uuid4())
    request.state.correlation_id = correlation_id
    path = request.url.path
    if path.startswith("/sandbox"):
        response = await call_next(request)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

    latency = state.faults.latency_ms
    if latency:
        await asyncio.sleep(latency / 1000)
    is_api = path.startswith("/api/")
    token: Token | None = None
    error: ApiError | None = None
    if is_api:
        try:
            token = state.tokens.check(_bearer(request))
        except ApiError as auth_error:
            error = auth_error
    rate = state.limiter.hit(token.token_id if token else None, path)
    if token is not None:
        request.state.token = token
        if rate.exceeded:
            error = too_many_requests(rate.reset_seconds)
    if error is None and is_api:
        error = state.faults.injected_error()
    if error is None:
        state.gdpr.tick()
        try:
            response = await call_next(request)
        except Exception:  # the 500 must still carry the correlation id and rate headers
            response = _error_response(request, server_error(500))
    else:
        response = _error_response(request, error)
    response.headers[CORRELATION_HEADER] = correlation_id
    for name, value in rate.headers().items():
        response.headers[name] = value
    state.counter.record(endpoint_key(request), token.token_id if token else None, response.status_code)
    return response

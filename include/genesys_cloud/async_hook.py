"""`GenesysCloudAsyncHook`: the aiohttp twin of `GenesysCloudHook`, for triggers.

Same connection fields, same process-wide token cache and pacer, same retry decisions (`retry_policy`);
only the I/O is asynchronous. It covers what the triggers need: `request`, the GDPR request list and
single requests. Use it as an async context manager so its `aiohttp.ClientSession` is closed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import BaseHook

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import (
    GenesysNotFoundError,
    GenesysTransportError,
    correlation_id_from,
    error_from_response,
)
from genesys_cloud.gdpr_status import LIST_PAGE_SIZE, MAX_LIST_PAGES, NOT_FOUND, StatusCollector
from genesys_cloud.operations import segment
from genesys_cloud.paging import first_sightings, has_next_page
from genesys_cloud.protocol import (
    DEFAULT_HEADERS,
    TOKEN_FORM,
    TOKEN_PATH,
    decode_json_body,
    json_or_none,
    token_from_answer,
)
from genesys_cloud.retry_policy import (
    RETRY_LOG_FORMAT,
    Action,
    AttemptTracker,
    TransportFailure,
    is_idempotent,
    parse_rate_limit_headers,
    parse_retry_after,
    retry_log_args,
    shared_pacer,
    strip_query,
)
from genesys_cloud.token_cache import SHARED_TOKENS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Answer:
    """What the retry loop needs from an aiohttp response, read before the response is released."""

    status: int
    headers: Any  # case-insensitive multidict
    body: bytes

    def json_or_none(self) -> Any:
        return json_or_none(self.body)


class GenesysCloudAsyncHook(BaseHook):
    """Asynchronous Genesys Cloud client (see `GenesysCloudHook` for the parameters)."""

    conn_name_attr = "genesys_conn_id"
    default_conn_name = "genesys_cloud_default"
    conn_type = "genesys_cloud"
    hook_name = "Genesys Cloud (async)"

    def __init__(
        self,
        genesys_conn_id: str = default_conn_name,
        *,
        max_attempts: int | None = None,
        max_wait_seconds: float | None = None,
        rate_limit_per_minute: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.genesys_conn_id = genesys_conn_id
        self._overrides = {
            "max_attempts": max_attempts,
            "max_wait_seconds": max_wait_seconds,
            "rate_limit_per_minute": rate_limit_per_minute,
            "timeout": timeout,
        }
        self._settings: ClientSettings | None = None
        self._session: aiohttp.ClientSession | None = None
        self._token_lock = asyncio.Lock()
        self._rng = random.Random()

    async def get_settings(self) -> ClientSettings:
        """The connection, read the async-safe way (no blocking call on the triggerer's event loop)."""
        if self._settings is None:
            conn = await get_async_connection(self.genesys_conn_id, hook=self)
            extra = await get_async_extra_dejson(conn)
            self._settings = ClientSettings.from_connection(
                conn_id=self.genesys_conn_id,
                host=conn.host,
                port=conn.port,
                schema=conn.schema,
                login=conn.login,
                password=conn.password,
                extra=extra,
                overrides=self._overrides,
            )
        return self._settings

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            settings = await self.get_settings()
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=settings.connect_timeout_seconds, sock_read=settings.timeout_seconds
            )
            self._session = aiohttp.ClientSession(timeout=timeout, headers=DEFAULT_HEADERS)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> GenesysCloudAsyncHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- calls ------------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call `path` and return the decoded JSON; same retries, pacing and errors as the sync hook."""
        method = method.upper()
        settings = await self.get_settings()
        pacer = shared_pacer(settings.token_key, settings.rate_limit_per_minute)
        tracker = AttemptTracker(
            settings.retry,
            idempotent=is_idempotent(method) if idempotent is None else idempotent,
            rng=self._rng,
        )
        if not path.startswith("/"):
            raise ValueError("the path must start with '/', e.g. /api/v2/gdpr/requests")
        url = settings.api_url + path
        while True:
            token = await self.get_token()
            wait = pacer.reserve(time.monotonic())
            try:
                await asyncio.sleep(wait)
                answer = await self._send(method, url, params, json, {"Authorization": f"Bearer {token}"})
            except (TimeoutError, aiohttp.ClientError) as exc:
                pacer.complete(None, time.monotonic())
                await self._after_transport_failure(method, path, exc, tracker)
                continue
            except BaseException:
                pacer.complete(None, time.monotonic())
                raise
            pacer.complete(parse_rate_limit_headers(answer.headers), time.monotonic())
            retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            if answer.status == 429:
                pacer.rate_limited(retry_after, time.monotonic())
            step = tracker.on_status(answer.status, retry_after)
            if step.action is Action.RETURN:
                return decode_json_body(answer.status, answer.body, answer.headers, method=method, path=path)
            if step.action is Action.RENEW_TOKEN:
                log.info("Genesys Cloud %s %s: token refused (401), renewing it", method, strip_query(path))
                SHARED_TOKENS.invalidate(settings.token_key, token)
                continue
            correlation_id = correlation_id_from(answer.headers)
            if step.action is Action.RETRY:
                args = retry_log_args(method, path, answer.status, correlation_id, step, tracker)
                log.warning(RETRY_LOG_FORMAT, *args)
                await asyncio.sleep(step.wait_seconds)
                continue
            raise error_from_response(
                answer.status, answer.json_or_none(), answer.headers, method=method, path=path
            )

    async def get_token(self, *, force_new: bool = False) -> str:
        settings = await self.get_settings()
        key = settings.token_key
        if not force_new and (token := SHARED_TOKENS.get(key, time.monotonic())):
            return token
        async with self._token_lock:
            if not force_new and (token := SHARED_TOKENS.get(key, time.monotonic())):
                return token
            token, expires_in, requested_at = await self._fetch_token(settings)
            SHARED_TOKENS.store(key, token, expires_in, requested_at)
            return token

    async def iter_entities(
        self, path: str, params: dict[str, Any] | None = None, page_size: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every entity of a `pageNumber`/`pageCount` listing, each exactly once."""
        seen: set[str] = set()
        page_number = 1
        while True:
            query = {**(params or {}), "pageSize": page_size, "pageNumber": page_number}
            listing = await self.request("GET", path, params=query) or {}
            for entity in first_sightings(listing.get("entities") or [], seen):
                yield entity
            if not has_next_page(listing, page_number, page_size):
                return
            page_number += 1

    def iter_gdpr_requests(self, page_size: int = 100) -> AsyncIterator[dict[str, Any]]:
        return self.iter_entities("/api/v2/gdpr/requests", page_size=page_size)

    async def get_gdpr_request(self, request_id: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v2/gdpr/requests/{segment(request_id)}")

    async def get_gdpr_request_statuses(self, request_ids: Iterable[str]) -> dict[str, str]:
        """{id: status}: the request list until all ids are seen, then single GETs (404 → NOT_FOUND)."""
        collector = StatusCollector(request_ids)
        if collector.complete:
            return {}
        listing = self.iter_gdpr_requests(page_size=LIST_PAGE_SIZE)
        try:
            number = 0
            async for entity in listing:
                collector.add([entity])
                number += 1
                if collector.complete or number >= LIST_PAGE_SIZE * MAX_LIST_PAGES:
                    break
        finally:
            await listing.aclose()  # type: ignore[attr-defined]
        for request_id in collector.missing:
            try:
                collector.add([await self.get_gdpr_request(request_id)])
            except GenesysNotFoundError:
                collector.set(request_id, NOT_FOUND)
        return collector.statuses()

    # -- transport --------------------------------------------------------------------------------------

    async def _fetch_token(self, settings: ClientSettings) -> tuple[str, float, float]:
        tracker = AttemptTracker(settings.retry, idempotent=True, rng=self._rng)
        auth = aiohttp.BasicAuth(settings.client_id, settings.client_secret)
        url = settings.login_url + TOKEN_PATH
        while True:
            requested_at = time.monotonic()
            try:
                answer = await self._send("POST", url, None, None, {}, data=TOKEN_FORM, auth=auth)
            except (TimeoutError, aiohttp.ClientError) as exc:
                await self._after_transport_failure("POST", TOKEN_PATH, exc, tracker)
                continue
            retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            step = tracker.on_status(answer.status, retry_after) if answer.status != 401 else None
            if step is not None and step.action is Action.RETURN:
                return (*token_from_answer(answer.status, answer.body, answer.headers), requested_at)
            if step is not None and step.action is Action.RETRY:
                cid = correlation_id_from(answer.headers)
                args = retry_log_args("POST", TOKEN_PATH, answer.status, cid, step, tracker)
                log.warning(RETRY_LOG_FORMAT, *args)
                await asyncio.sleep(step.wait_seconds)
                continue
            raise error_from_response(
                answer.status, answer.json_or_none(), answer.headers, method="POST", path=TOKEN_PATH
            )

    async def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json: Any,
        headers: dict[str, str],
        **kwargs: Any,
    ) -> _Answer:
        session = await self._get_session()
        settings = await self.get_settings()
        async with session.request(
            method, url, params=params, json=json, headers=headers, ssl=_ssl_option(settings.verify), **kwargs
        ) as response:
            body = await response.read()
            return _Answer(response.status, response.headers, body)

    async def _after_transport_failure(
        self, method: str, path: str, exc: BaseException, tracker: AttemptTracker
    ) -> None:
        failure = _classify(exc)
        step = tracker.on_transport_failure(failure)
        if step.action is not Action.RETRY:
            raise GenesysTransportError(
                None, failure.value, f"{type(exc).__name__} on {method} {strip_query(path)}"
            ) from None
        args = retry_log_args(method, path, type(exc).__name__, None, step, tracker)
        log.warning(RETRY_LOG_FORMAT, *args)
        await asyncio.sleep(step.wait_seconds)


def _classify(exc: BaseException) -> TransportFailure:
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        return TransportFailure.CONNECT
    if isinstance(exc, asyncio.TimeoutError):
        return TransportFailure.TIMEOUT
    return TransportFailure.OTHER


def _ssl_option(verify: bool | str) -> bool | ssl.SSLContext:
    """aiohttp's `ssl=`: True (verify), False (do not), or a context trusting the CA bundle at `verify`."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return bool(verify)

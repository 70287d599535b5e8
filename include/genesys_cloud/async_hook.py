"""`GenesysCloudAsyncHook`: the aiohttp driver of the transport core, for triggers.

Same connection fields, token cache, pacer, retry decisions and errors as `GenesysCloudHook`: both drive
`transport.py`; only the I/O is asynchronous. It covers what the triggers need: `request`, paging, the
GDPR request statuses and single requests. Use it as an async context manager so its
`aiohttp.ClientSession` is closed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, TypeVar, Unpack

import aiohttp
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

from genesys_cloud import transport
from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.gdpr_listing import GDPR_REQUESTS_PATH, read_requests_since
from genesys_cloud.gdpr_status import StatusPoll, collect_statuses
from genesys_cloud.hook_base import GenesysHookBase
from genesys_cloud.paging import EntityPager
from genesys_cloud.protocol import DEFAULT_HEADERS, segment
from genesys_cloud.retry_policy import TransportFailure
from genesys_cloud.transport import Answer, Failed, Send, Steps

T = TypeVar("T")


class GenesysCloudAsyncHook(GenesysHookBase):
    """Asynchronous Genesys Cloud client (parameters: see `GenesysHookBase`)."""

    hook_name = "Genesys Cloud (async)"
    _session: aiohttp.ClientSession | None = None
    _lock: asyncio.Lock | None = None

    async def get_settings(self) -> ClientSettings:
        """The connection, read the async-safe way (no blocking call on the triggerer's event loop)."""
        if self._settings is None:
            conn = await get_async_connection(self.genesys_conn_id, hook=self)
            return self._settings_from(conn, await get_async_extra_dejson(conn))
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

    async def request(self, method: str, path: str, **options: Unpack[transport.CallOptions]) -> Any:
        """Call `path` and return the decoded JSON; same retries, pacing and errors as the sync hook."""
        settings = await self.get_settings()
        call = transport.api_call(settings, method, path, rng=self._rng, **options)
        return await self._drive(call)

    async def get_token(self, *, force_new: bool = False) -> str:
        settings = await self.get_settings()
        if token := transport.cached_token(settings, force_new=force_new):
            return token
        # One coroutine of this hook logs in; the others wait and take its token.
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            return transport.cached_token(settings, force_new=force_new) or await self._drive(
                transport.token_exchange(settings, self._rng)
            )

    async def iter_entities(
        self, path: str, params: dict[str, Any] | None = None, page_size: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every entity of a `pageNumber`/`pageCount` listing, each exactly once."""
        pager = EntityPager(params, page_size)
        while (query := pager.next_query()) is not None:
            for entity in pager.take(await self.request("GET", path, params=query)):
                yield entity

    async def iter_gdpr_requests(self, since: datetime | None = None) -> AsyncIterator[dict[str, Any]]:
        """GDPR requests created at or after `since` (every one when None), newest first, each once."""
        settings = await self.get_settings()
        for entity in await self._drive(read_requests_since(settings, since, self._rng)):
            yield entity

    async def get_gdpr_request(self, request_id: str) -> dict[str, Any]:
        return await self.request("GET", f"{GDPR_REQUESTS_PATH}/{segment(request_id)}")

    async def get_gdpr_request_statuses(self, request_ids: Iterable[str]) -> dict[str, str]:
        """{id: status} of GDPR requests (see `gdpr_status.collect_statuses`)."""
        settings = await self.get_settings()
        return (await self._drive(collect_statuses(settings, request_ids, self._rng))).statuses()

    async def poll_gdpr_request_statuses(self, poll: StatusPoll) -> dict[str, str]:
        """One more round of `poll` (only the requests still open are read)."""
        return await self._drive(poll.round(await self.get_settings(), self._rng))

    # -- the driver of the transport core ---------------------------------------------------------------

    async def _drive(self, core: Steps[T]) -> T:
        reply: Any = None
        try:
            while True:
                step = core.send(reply)
                if isinstance(step, transport.Sleep):
                    reply = await asyncio.sleep(step.seconds)
                else:
                    reply = await (self.get_token() if step is transport.NEED_TOKEN else self._send(step))
        except StopIteration as stop:
            return stop.value
        finally:
            core.close()  # a cancellation or an I/O exception ends the core's attempt (frees its slot)

    async def _send(self, send: Send) -> Answer | Failed:
        session = await self._get_session()
        auth = aiohttp.BasicAuth(*send.basic_auth) if send.basic_auth else None
        ssl_option = _ssl_option((await self.get_settings()).verify)
        try:
            async with session.request(
                send.method,
                send.url,
                auth=auth,
                ssl=ssl_option,
                **send.options(),
            ) as response:
                return Answer(response.status, response.headers, await response.read())
        except (TimeoutError, aiohttp.ClientError) as exc:
            return Failed(_classify(exc), type(exc).__name__)


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

"""`GenesysCloudHook`: the synchronous Genesys Cloud Platform API client for tasks.

It owns one `requests.Session` and drives the transport core (`transport.py`: pacing, OAuth token,
retries, typed errors, retry logging) with it. The Genesys operations themselves (GDPR, analytics,
external contacts, recordings) live in `operations.py`; the connection type in `hook_base.py`.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar, Unpack

import requests
from urllib3.exceptions import ConnectTimeoutError

from genesys_cloud import transport
from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.gdpr_listing import read_requests_since
from genesys_cloud.gdpr_status import StatusPoll, collect_statuses
from genesys_cloud.hook_base import GenesysHookBase
from genesys_cloud.operations import GenesysCloudOperationsMixin
from genesys_cloud.protocol import DEFAULT_HEADERS
from genesys_cloud.provider_info import UI_FIELD_BEHAVIOUR
from genesys_cloud.retry_policy import TransportFailure
from genesys_cloud.shared_state import SharedStateStore
from genesys_cloud.token_cache import SHARED_TOKENS
from genesys_cloud.transport import Answer, Failed, Send, Steps

T = TypeVar("T")


class _RedactQueryStrings(logging.Filter):
    """urllib3 logs request lines (with query strings) at DEBUG; mask the queries before they are kept."""

    _QUERY = re.compile(r"\?[^\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = self._QUERY.sub("?<redacted>", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryStrings())


class GenesysCloudHook(GenesysCloudOperationsMixin, GenesysHookBase):
    """Call the Genesys Cloud Platform API with the client credentials of an Airflow connection
    (parameters: see `GenesysHookBase`). Use it as a context manager so its session is closed.

    :param shared_state: A store every process of the deployment reaches: they then share the client's
        token and pacing through it (`genesys_cloud.shared_state`). None: pacing is per process.
    """

    _session: requests.Session | None = None

    def __init__(self, *args: Any, shared_state: SharedStateStore | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_state = shared_state

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return copy.deepcopy(UI_FIELD_BEHAVIOUR)

    @property
    def settings(self) -> ClientSettings:
        if self._settings is None:
            conn = self.get_connection(self.genesys_conn_id)
            settings = self._settings_from(conn, conn.extra_dejson)
            self._settings = replace(settings, shared_state=self.shared_state)
        return self._settings

    def get_conn(self) -> requests.Session:
        """The hook's one `requests.Session` (created on first use, reused by every call)."""
        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update(DEFAULT_HEADERS)
            self._session.verify = self.settings.verify
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> GenesysCloudHook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_token(force_new=True)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {getattr(exc, 'message', 'failed')}"
        return True, "Obtained an OAuth token with the client credentials"

    # -- public calls -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, **options: Unpack[transport.CallOptions]) -> Any:
        """Call `path` (`/api/v2/...`) and return the decoded JSON (see `transport.api_call`)."""
        call = transport.api_call(self.settings, method, path, rng=self._rng, **options)
        return self._drive(call)

    def get_token(self, *, force_new: bool = False) -> str:
        """A valid access token: the process-wide cached one, or a fresh one (POST /oauth/token)."""
        settings = self.settings
        if token := transport.cached_token(settings, force_new=force_new):
            return token
        # One thread logs in per client; the others wait and take its token.
        with SHARED_TOKENS.fetch_lock(settings.token_key):
            return transport.cached_token(settings, force_new=force_new) or self._drive(
                transport.token_exchange(settings, self._rng)
            )

    def get_gdpr_request_statuses(self, request_ids: Iterable[str]) -> dict[str, str]:
        """{id: status} of GDPR requests (see `gdpr_status.collect_statuses`)."""
        return self._drive(collect_statuses(self.settings, request_ids, self._rng)).statuses()

    def poll_gdpr_request_statuses(self, poll: StatusPoll) -> dict[str, str]:
        """One more round of `poll` (only the requests still open are read)."""
        return self._drive(poll.round(self.settings, self._rng))

    def iter_gdpr_requests(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """GDPR requests created at or after `since` (every one when None), newest first, each once;
        only the pages that reach back to `since` are read (see `gdpr_listing`)."""
        yield from self._drive(read_requests_since(self.settings, since, self._rng))

    # -- the driver of the transport core ---------------------------------------------------------------

    def _drive(self, core: Steps[T]) -> T:
        reply: Any = None
        try:
            while True:
                step = core.send(reply)
                if isinstance(step, transport.Sleep):
                    reply = time.sleep(step.seconds)
                elif step is transport.NEED_TOKEN:
                    reply = self.get_token()
                else:
                    reply = self._send(step)
        except StopIteration as stop:
            return stop.value
        finally:
            core.close()  # an exception from the I/O ends the core's attempt (frees its pacer slot)

    def _send(self, send: Send) -> Answer | Failed:
        timeout = (self.settings.connect_timeout_seconds, self.settings.timeout_seconds)
        try:
            response = self.get_conn().request(
                send.method,
                send.url,
                auth=send.basic_auth,
                timeout=timeout,
                **send.options(),
            )
        except requests.RequestException as exc:
            return Failed(_classify(exc), type(exc).__name__)
        return Answer(response.status_code, response.headers, response.content)


def _classify(exc: requests.RequestException) -> TransportFailure:
    if isinstance(exc, requests.ConnectTimeout):
        return TransportFailure.CONNECT
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return TransportFailure.CONNECT if isinstance(reason, ConnectTimeoutError) else TransportFailure.OTHER
    if isinstance(exc, requests.Timeout):
        return TransportFailure.TIMEOUT
    return TransportFailure.OTHER

"""`GenesysCloudHook`: the synchronous Genesys Cloud Platform API client for tasks.

It owns the connection (API URL, client credentials), the OAuth token (cached per process, renewed
before it expires and once on a 401), one `requests.Session`, retries with back-off, client-side pacing
under the token's rate limit, and the translation of errors into typed exceptions. The Genesys operations
themselves (GDPR, analytics, external contacts, recordings) live in `operations.py`.

Logging: one line per retry with method, path (never the query string), status, correlation id, attempt
and wait. Bodies and query strings are never logged: they hold e-mail addresses and phone numbers.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests.auth import HTTPBasicAuth
from urllib3.exceptions import ConnectTimeoutError

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import (
    GenesysTransportError,
    correlation_id_from,
    error_from_response,
)
from genesys_cloud.operations import GenesysCloudOperationsMixin
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


class _RedactQueryStrings(logging.Filter):
    """urllib3 logs request lines (with query strings) at DEBUG; mask the queries before they are kept."""

    _QUERY = re.compile(r"\?[^\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = self._QUERY.sub("?<redacted>", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryStrings())
# Plain stdlib logging: Airflow routes it into the task log, and it never carries bodies or queries.
log = logging.getLogger(__name__)


class GenesysCloudHook(GenesysCloudOperationsMixin, HttpHook):
    """Call the Genesys Cloud Platform API with the client credentials of an Airflow connection.

    :param genesys_conn_id: Connection id (see `client_settings` for its fields and extras).
    :param max_attempts: Attempts per call (overrides the connection's extra).
    :param max_wait_seconds: Longest single wait between attempts; a longer `Retry-After` fails the call.
    :param rate_limit_per_minute: Optional ceiling below the org limit, e.g. 300.
    :param timeout: Seconds to wait for one answer.
    """

    conn_name_attr = "genesys_conn_id"
    default_conn_name = "genesys_cloud_default"
    conn_type = "genesys_cloud"
    hook_name = "Genesys Cloud"

    def __init__(
        self,
        genesys_conn_id: str = default_conn_name,
        *,
        max_attempts: int | None = None,
        max_wait_seconds: float | None = None,
        rate_limit_per_minute: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(method="GET", http_conn_id=genesys_conn_id)
        self.genesys_conn_id = genesys_conn_id
        self._overrides = {
            "max_attempts": max_attempts,
            "max_wait_seconds": max_wait_seconds,
            "rate_limit_per_minute": rate_limit_per_minute,
            "timeout": timeout,
        }
        self._settings: ClientSettings | None = None
        self._session: requests.Session | None = None
        self._rng = random.Random()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"host": "API URL", "login": "OAuth client id", "password": "OAuth client secret"},
            "placeholders": {
                "host": "https://api.mypurecloud.ie (empty: use extra region)",
                "extra": '{"region": "eu_west_1", "rate_limit_per_minute": 300, "max_attempts": 5}',
            },
        }

    # -- connection and session ------------------------------------------------------------------------

    @property
    def settings(self) -> ClientSettings:
        if self._settings is None:
            conn = self.get_connection(self.genesys_conn_id)
            self._settings = ClientSettings.from_connection(
                conn_id=self.genesys_conn_id,
                host=conn.host,
                port=conn.port,
                schema=conn.schema,
                login=conn.login,
                password=conn.password,
                extra=conn.extra_dejson,
                overrides=self._overrides,
            )
            self.base_url = self._settings.api_url
            self._base_url_initialized = True
        return self._settings

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """The hook's one `requests.Session` (created on first use, reused by every call)."""
        if self._session is None:
            session = requests.Session()
            session.headers.update(DEFAULT_HEADERS)
            session.verify = self.settings.verify
            self._session = self._configure_session_from_mount_adapters(session)
        if headers:
            self._session.headers.update(headers)
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> GenesysCloudHook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("GenesysCloudHook: use request(method, path, params=..., json=...)")

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_token(force_new=True)
        except Exception as exc:
            return False, f"{type(exc).__name__}: {getattr(exc, 'message', 'failed')}"
        return True, "Obtained an OAuth token with the client credentials"

    # -- public calls -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call `path` (`/api/v2/...`) and return the decoded JSON (None for an empty answer).

        `idempotent` defaults to True for every method but POST; pass True for POSTs that only read
        (queries) so 5xx and time-outs are retried for them too. Raises a `GenesysCloudError` subclass.
        """
        method = method.upper()
        settings = self.settings
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
            token = self.get_token()
            wait = pacer.reserve(time.monotonic())
            try:
                time.sleep(wait)
                response = self._send(method, url, params, json, {"Authorization": f"Bearer {token}"})
            except requests.RequestException as exc:
                pacer.complete(None, time.monotonic())
                self._after_transport_failure(method, path, exc, tracker)
                continue
            except BaseException:
                pacer.complete(None, time.monotonic())
                raise
            pacer.complete(parse_rate_limit_headers(response.headers), time.monotonic())
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if response.status_code == 429:
                pacer.rate_limited(retry_after, time.monotonic())
            step = tracker.on_status(response.status_code, retry_after)
            if step.action is Action.RETURN:
                return decode_json_body(
                    response.status_code, response.content, response.headers, method=method, path=path
                )
            if step.action is Action.RENEW_TOKEN:
                log.info("Genesys Cloud %s %s: token refused (401), renewing it", method, strip_query(path))
                SHARED_TOKENS.invalidate(settings.token_key, token)
                continue
            correlation_id = correlation_id_from(response.headers)
            if step.action is Action.RETRY:
                args = retry_log_args(method, path, response.status_code, correlation_id, step, tracker)
                log.warning(RETRY_LOG_FORMAT, *args)
                time.sleep(step.wait_seconds)
                continue
            body = json_or_none(response.content)
            raise error_from_response(response.status_code, body, response.headers, method=method, path=path)

    def get_token(self, *, force_new: bool = False) -> str:
        """A valid access token: the process-wide cached one, or a fresh one (POST /oauth/token)."""
        settings = self.settings
        key = settings.token_key
        if not force_new and (token := SHARED_TOKENS.get(key, time.monotonic())):
            return token
        with SHARED_TOKENS.fetch_lock(key):
            if not force_new and (token := SHARED_TOKENS.get(key, time.monotonic())):
                return token
            token, expires_in, requested_at = self._fetch_token()
            SHARED_TOKENS.store(key, token, expires_in, requested_at)
            return token

    # -- transport --------------------------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, float, float]:
        settings = self.settings
        tracker = AttemptTracker(settings.retry, idempotent=True, rng=self._rng)
        auth = HTTPBasicAuth(settings.client_id, settings.client_secret)
        url = settings.login_url + TOKEN_PATH
        while True:
            try:
                requested_at = time.monotonic()
                response = self._send("POST", url, None, None, {}, data=TOKEN_FORM, auth=auth)
            except requests.RequestException as exc:
                self._after_transport_failure("POST", TOKEN_PATH, exc, tracker)
                continue
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            # A refused token request is not a stale token: no renewal, straight to the error.
            status = response.status_code
            step = tracker.on_status(status, retry_after) if status != 401 else None
            if step is not None and step.action is Action.RETURN:
                return (*token_from_answer(status, response.content, response.headers), requested_at)
            if step is not None and step.action is Action.RETRY:
                cid = correlation_id_from(response.headers)
                args = retry_log_args("POST", TOKEN_PATH, status, cid, step, tracker)
                log.warning(RETRY_LOG_FORMAT, *args)
                time.sleep(step.wait_seconds)
                continue
            raise error_from_response(
                status, json_or_none(response.content), response.headers, method="POST", path=TOKEN_PATH
            )

    def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json: Any,
        headers: dict[str, str],
        **kwargs: Any,
    ) -> requests.Response:
        settings = self.settings
        return self.get_conn().request(
            method,
            url,
            params=params,
            json=json,
            headers=headers,
            timeout=(settings.connect_timeout_seconds, settings.timeout_seconds),
            **kwargs,
        )

    def _after_transport_failure(
        self, method: str, path: str, exc: requests.RequestException, tracker: AttemptTracker
    ) -> None:
        """Sleep before the next attempt, or raise the typed error (never chaining `exc`: its text
        carries the full URL, query string included)."""
        failure = _classify(exc)
        step = tracker.on_transport_failure(failure)
        if step.action is not Action.RETRY:
            raise GenesysTransportError(
                None, failure.value, f"{type(exc).__name__} on {method} {strip_query(path)}"
            ) from None
        args = retry_log_args(method, path, type(exc).__name__, None, step, tracker)
        log.warning(RETRY_LOG_FORMAT, *args)
        time.sleep(step.wait_seconds)


def _classify(exc: requests.RequestException) -> TransportFailure:
    if isinstance(exc, requests.ConnectTimeout):
        return TransportFailure.CONNECT
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return TransportFailure.CONNECT if isinstance(reason, ConnectTimeoutError) else TransportFailure.OTHER
    if isinstance(exc, requests.Timeout):
        return TransportFailure.TIMEOUT
    return TransportFailure.OTHER

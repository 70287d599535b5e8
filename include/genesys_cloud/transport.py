"""The one transport core of both Genesys Cloud hooks, written without I/O ("sans-I/O").

`api_call` (one API call: pacing, token, retries, typed errors, retry logging) and `token_exchange`
(POST /oauth/token) are generators of steps. A hook drives them with its own I/O library:

* `Send`: send this request; answer with an `Answer`, or a `Failed` for a transport failure;
* `Sleep`: wait this many seconds (pacing, back-off); answer None;
* `NEED_TOKEN`: answer with a valid access token (the hook's `get_token()`).

The generator's return value is the call's result; errors are raised out of it. `hook.py` drives it with
requests and `async_hook.py` with aiohttp, so both follow exactly the same rules (`retry_policy`).

Pacing and the token are process-wide (`retry_policy.shared_pacer`, `token_cache`), or shared by every
process of a deployment when the settings carry a `shared_state` store (`shared_state`: one token and
one rate window per resource family for all the worker processes on one OAuth client).

Logging: one line per retry with method, path (never the query string), status or failure, correlation
id, attempt and wait. Bodies and query strings are never logged: they hold e-mail addresses and phones.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.errors import (
    GenesysRateLimitError,
    GenesysTransportError,
    correlation_id_from,
    error_from_response,
)
from genesys_cloud.protocol import TOKEN_FORM, TOKEN_PATH, decode_json_body, json_or_none, token_from_answer
from genesys_cloud.resources import resource_family
from genesys_cloud.retry_policy import (
    RETRY_LOG_FORMAT,
    Action,
    AttemptTracker,
    TransportFailure,
    is_idempotent,
    parse_rate_limit_headers,
    parse_retry_after,
    retry_log_args,
    shared_holds,
    strip_query,
)
from genesys_cloud.retry_policy import (
    Step as RetryStep,
)
from genesys_cloud.shared_state import adopt_token, call_pacing, drop_token, share_token
from genesys_cloud.token_cache import SHARED_TOKENS

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send one HTTP request. `form` is a url-encoded body, `basic_auth` (id, secret) HTTP basic auth."""

    method: str
    url: str
    params: Mapping[str, Any] | None
    json: Any
    headers: dict[str, str]
    form: Mapping[str, str] | None = None
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)

    def options(self) -> dict[str, Any]:
        """The query, body and headers, under the names both requests and aiohttp use."""
        return {"params": self.params, "json": self.json, "data": self.form, "headers": self.headers}


@dataclass(frozen=True)
class Sleep:
    seconds: float


class _NeedToken:
    """Ask the driver for a valid access token (it serialises fetches with its own kind of lock)."""


NEED_TOKEN = _NeedToken()


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read in full. `headers` must be case-insensitive (requests/aiohttp's are)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Failed:
    """No HTTP answer: the driver's exception, classified; `name` is its class name (safe to log)."""

    failure: TransportFailure
    name: str


class CallOptions(TypedDict, total=False):
    """The keyword arguments of the hooks' `request()` (see `api_call`)."""

    params: Mapping[str, Any] | None
    json: Any
    idempotent: bool | None
    retry_rate_limited: bool


Step = Send | Sleep | _NeedToken
# What a core generator yields, what it is sent back, what it returns.
Steps = Generator[Step, Any, T]


def api_call(
    settings: ClientSettings,
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
    idempotent: bool | None = None,
    retry_rate_limited: bool = True,
    rng: random.Random | None = None,
) -> Steps[Any]:
    """Call `path` (`/api/v2/...`) and return the decoded JSON (None for an empty answer).

    `idempotent` defaults to True for every method but POST; pass True for POSTs that only read
    (queries) so 5xx and time-outs are retried for them too. Raises a `GenesysCloudError` subclass.
    """
    method = method.upper()
    family = resource_family(method, path)
    # Genesys limits each resource family with its own bucket on top of the token's, and the headers of
    # an answer describe one of them: so what they say paces that family only (a family allowed 60/min
    # does not slow down the others), while the operator's ceiling spaces every call of the token.
    # Process-wide pacers, or the deployment's shared ones when the settings carry a store.
    pacing = call_pacing(settings, family)
    holds = shared_holds(settings.token_key)
    tracker = AttemptTracker(
        settings.retry,
        idempotent=is_idempotent(method) if idempotent is None else idempotent,
        rng=rng,
        retry_rate_limited=retry_rate_limited,
    )
    if not path.startswith("/"):
        raise ValueError("the path must start with '/', e.g. /api/v2/gdpr/requests")
    url = settings.api_url + path
    while True:
        token = yield NEED_TOKEN
        held = holds.remaining(family, time.monotonic())
        if held > settings.retry.max_wait_seconds:
            # An earlier call of this family was told to wait this long: answer as Genesys would,
            # without sending (nothing is created, nothing counts against any limit).
            raise GenesysRateLimitError(
                429,
                "too.many.requests.retry.after",
                f"{family} is held back for {held:.0f}s by an earlier 429",
                retry_after=held,
            )
        if held:
            yield Sleep(held)
        try:
            yield Sleep(pacing.reserve(time.monotonic()))
            reply = yield Send(method, url, params, json, {"Authorization": f"Bearer {token}"})
        except BaseException:
            # The driver gave up (cancelled, interrupted): the reserved slots are free again.
            pacing.complete(None, time.monotonic())
            raise
        if isinstance(reply, Failed):
            pacing.complete(None, time.monotonic())
            yield from _after_failure(method, path, reply, tracker)
            continue
        pacing.complete(parse_rate_limit_headers(reply.headers), time.monotonic())
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        if reply.status == 429 and retry_rate_limited:
            # A caller that waits out its own 429s (an analytics job submission under the org's job cap)
            # must not stall every other call of this client; a 429 of the token's limit still holds the
            # pacer back through the rate-limit headers passed to `complete` above.
            if retry_after is not None and retry_after > settings.retry.max_wait_seconds:
                # A quota (a wait longer than any rate window we wait out): only this family is held,
                # so reading (statuses, lists) goes on while creating waits.
                holds.hold(family, time.monotonic() + retry_after)
            else:
                pacing.rate_limited(retry_after, time.monotonic())
        step = tracker.on_status(reply.status, retry_after)
        if step.action is Action.RETURN:
            return decode_json_body(reply.status, reply.body, reply.headers, method=method, path=path)
        if step.action is Action.RENEW_TOKEN:
            log.info("Genesys Cloud %s %s: token refused (401), renewing it", method, strip_query(path))
            SHARED_TOKENS.invalidate(settings.token_key, token)
            if settings.shared_state is not None:
                drop_token(settings, token)
            continue
        yield from _retry_or_raise(method, path, reply, step, tracker)


def cached_token(settings: ClientSettings, *, force_new: bool = False) -> str | None:
    """The process-wide cached token of this client, else the one another process of the deployment
    shared (`shared_state`), unless it is due for renewal or `force_new`."""
    if force_new:
        return None
    token = SHARED_TOKENS.get(settings.token_key, time.monotonic())
    if token is None and settings.shared_state is not None and (adopted := adopt_token(settings)):
        token, seconds_left = adopted
        SHARED_TOKENS.store(settings.token_key, token, seconds_left, time.monotonic())
    return token


def token_exchange(settings: ClientSettings, rng: random.Random | None = None) -> Steps[str]:
    """POST /oauth/token with the client credentials; stores the token in the cache and returns it."""
    tracker = AttemptTracker(settings.retry, idempotent=True, rng=rng)
    url = settings.login_url + TOKEN_PATH
    credentials = (settings.client_id, settings.client_secret)
    while True:
        requested_at = time.monotonic()
        reply = yield Send("POST", url, None, None, {}, form=TOKEN_FORM, basic_auth=credentials)
        if isinstance(reply, Failed):
            yield from _after_failure("POST", TOKEN_PATH, reply, tracker)
            continue
        retry_after = parse_retry_after(reply.headers.get("Retry-After"))
        # A refused token request is not a stale token: no renewal, straight to the error.
        step = tracker.on_status(reply.status, retry_after) if reply.status != 401 else RetryStep(Action.FAIL)
        if step.action is Action.RETURN:
            token, expires_in = token_from_answer(reply.status, reply.body, reply.headers)
            if settings.shared_state is not None:
                # another process may have logged in meanwhile: then its token is used, so the
                # deployment spends one token's budget (ours is never used)
                now = time.monotonic()
                requested_wall = time.time() - (now - requested_at)
                token, expires_in = share_token(settings, token, expires_in, requested_wall)
                requested_at = now
            SHARED_TOKENS.store(settings.token_key, token, expires_in, requested_at)
            return token
        yield from _retry_or_raise("POST", TOKEN_PATH, reply, step, tracker)


def _retry_or_raise(
    method: str, path: str, reply: Answer, step: RetryStep, tracker: AttemptTracker
) -> Steps[None]:
    """Log and sleep before the next attempt (RETRY), or raise the typed error of the answer."""
    if step.action is not Action.RETRY:
        body = json_or_none(reply.body)
        raise error_from_response(reply.status, body, reply.headers, method=method, path=path)
    correlation_id = correlation_id_from(reply.headers)
    log.warning(RETRY_LOG_FORMAT, *retry_log_args(method, path, reply.status, correlation_id, step, tracker))
    yield Sleep(step.wait_seconds)


def _after_failure(method: str, path: str, failed: Failed, tracker: AttemptTracker) -> Steps[None]:
    """Sleep before the next attempt, or raise the typed error (with no cause: the driver's exception
    text carries the full URL, query string included)."""
    step = tracker.on_transport_failure(failed.failure)
    if step.action is not Action.RETRY:
        message = f"{failed.name} on {method} {strip_query(path)}"
        raise GenesysTransportError(None, failed.failure.value, message) from None
    log.warning(RETRY_LOG_FORMAT, *retry_log_args(method, path, failed.name, None, step, tracker))
    yield Sleep(step.wait_seconds)

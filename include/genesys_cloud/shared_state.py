"""Pacing and the OAuth token shared by every process of a deployment, through a store they all reach.

The pacers of `retry_policy` are process-wide: the threads of one process share them, but mapped tasks
run in separate worker processes (one per task instance with the LocalExecutor, Celery's prefork pool),
each of which would log in on its own and spend "its" window's budget: together they overshoot it and
meet 429s. Given a `SharedStateStore` (a hook's `shared_state`; `genesys_erasure` keeps one in the ledger
database, which every worker reaches), the hook shares instead, per OAuth client (login URL, client id):

* the token: the first process to log in stores it; the others adopt it rather than create their own, so
  the deployment spends ONE token's budget and the rate-limit headers every process reads describe that
  one bucket. It is stored encrypted with a key derived from the client secret (a reader of the store
  who lacks the secret cannot use it). A 401 drops it for every process.
* the pacing: one `PacingWindow` per resource family (window end, budget left, next send slot, requests
  in flight) and one for the operator's ceiling. Every reservation and every answer is one transaction
  of the store, which locks the rows it reads, so N processes take their slots from one budget in turn.

Times in the store are wall-clock seconds (`time.time()`): monotonic clocks do not compare across
machines. Workers must keep their clocks in step (NTP); a skew of d seconds moves a worker's sends by d.
The store is called synchronously (one short transaction before and after each request): it is meant
for the sync hook, never for a trigger's event loop.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from genesys_cloud.retry_policy import (
    PacingWindow,
    RateLimitSnapshot,
    ceiling_interval,
    shared_pacer,
)
from genesys_cloud.token_cache import renew_at

if TYPE_CHECKING:
    from genesys_cloud.client_settings import ClientSettings

T = TypeVar("T")

# A request reserved this long ago without an answer belongs to a worker that died mid-call (killed, lost
# its machine): its slot no longer counts as in flight. Far longer than any answer takes (time-out 60 s).
STALE_IN_FLIGHT_SECONDS = 600.0
_TOUCHED = "touched"


class SharedStateStore(Protocol):
    """Small JSON documents by key, changed atomically across processes (and machines)."""

    def update(self, keys: Sequence[str], change: Callable[[list[dict[str, Any]]], T]) -> T:
        """In one transaction: lock the documents of `keys` (an absent one is `{}`) against every other
        `update` touching any of them, call `change` with them in the order of `keys` (it edits them in
        place), store them and return what `change` returned."""
        ...


class CallPacing(Protocol):
    """The pacing of one API call's attempts (see `transport.api_call`)."""

    def reserve(self, now: float) -> float: ...

    def complete(self, snapshot: RateLimitSnapshot | None, now: float) -> None: ...

    def rate_limited(self, retry_after: float | None, now: float) -> None: ...


class LocalPacing:
    """The process-wide pacers: the family's budget (from its answers' headers) after the ceiling's
    spacing, which every call of the token shares. `now` is monotonic."""

    def __init__(self, settings: ClientSettings, family: str) -> None:
        self._pacer = shared_pacer((*settings.token_key, family))
        self._ceiling = shared_pacer(settings.token_key, settings.rate_limit_per_minute)

    def reserve(self, now: float) -> float:
        spacing = self._ceiling.reserve(now)
        return spacing + self._pacer.reserve(now + spacing)

    def complete(self, snapshot: RateLimitSnapshot | None, now: float) -> None:
        # the headers feed the family's pacer, never the ceiling's
        self._pacer.complete(snapshot, now)
        self._ceiling.complete(None, now)

    def rate_limited(self, retry_after: float | None, now: float) -> None:
        self._pacer.rate_limited(retry_after, now)


class SharedPacing:
    """The same rules as `LocalPacing` on windows kept in a `SharedStateStore`. The `now` callers pass
    (monotonic, this process's) is ignored: the store's windows are on `clock` (wall seconds), which a
    reservation reads inside its transaction (turns taken under the lock see time move forward) and an
    answer as it arrives."""

    def __init__(
        self,
        store: SharedStateStore,
        settings: ClientSettings,
        family: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval = ceiling_interval(settings.rate_limit_per_minute)
        # the ceiling's window only when there is a ceiling: one row less to lock per call otherwise
        self._keys = [_key("pace", *settings.token_key, family)]
        if self._interval:
            self._keys.append(_key("pace", *settings.token_key))

    def reserve(self, now: float) -> float:
        def change(docs: list[dict[str, Any]]) -> float:
            wall = self._clock()
            windows = [_window(doc, wall) for doc in docs]
            spacing = windows[1].reserve(wall, self._interval) if len(windows) > 1 else 0.0
            wait = spacing + windows[0].reserve(wall + spacing)
            _save(docs, windows, wall)
            return wait

        return self._store.update(self._keys, change)

    def complete(self, snapshot: RateLimitSnapshot | None, now: float) -> None:
        # the answer's time of arrival, read before waiting for the lock: the window's end is bounded
        # by arrival + reset, and a later reading would move that bound past the real end
        wall = self._clock()

        def change(docs: list[dict[str, Any]]) -> None:
            windows = [_window(doc, wall) for doc in docs]
            windows[0].complete(snapshot, wall)
            for ceiling in windows[1:]:
                ceiling.complete(None, wall)
            _save(docs, windows, wall)

        self._store.update(self._keys, change)

    def rate_limited(self, retry_after: float | None, now: float) -> None:
        wall = self._clock()

        def change(docs: list[dict[str, Any]]) -> None:
            window = _window(docs[0], wall)
            window.rate_limited(retry_after, wall)
            _save(docs[:1], [window], wall)

        self._store.update(self._keys[:1], change)


def call_pacing(settings: ClientSettings, family: str) -> CallPacing:
    """The shared pacing when the settings carry a store, the process-wide pacers otherwise."""
    if settings.shared_state is None:
        return LocalPacing(settings, family)
    return SharedPacing(settings.shared_state, settings, family)


def _window(doc: Mapping[str, Any], wall: float) -> PacingWindow:
    window = PacingWindow.from_dict(doc)
    if wall - float(doc.get(_TOUCHED) or wall) > STALE_IN_FLIGHT_SECONDS:
        window.in_flight = 0
    return window


def _save(docs: list[dict[str, Any]], windows: list[PacingWindow], wall: float) -> None:
    for doc, window in zip(docs, windows, strict=True):
        doc.clear()
        doc.update(window.to_dict(), **{_TOUCHED: wall})


# -- the token ------------------------------------------------------------------------------------------


def adopt_token(settings: ClientSettings, clock: Callable[[], float] = time.time) -> tuple[str, float] | None:
    """The client's token another process stored, with its seconds left; None if there is none yet, it
    is due for renewal, or it cannot be read with this client's secret."""
    assert settings.shared_state is not None
    doc = settings.shared_state.update([_token_key(settings)], lambda docs: dict(docs[0]))
    return _readable(settings, doc, clock())


def share_token(
    settings: ClientSettings,
    token: str,
    expires_in: float,
    requested_at: float,
    clock: Callable[[], float] = time.time,
) -> tuple[str, float]:
    """Offer a token just obtained (`requested_at` wall seconds); returns the token to use and its seconds
    left: one already stored and still good wins (another process logged in first), else ours is stored."""
    assert settings.shared_state is not None
    ours = {
        "sealed": _cipher(settings.client_id, settings.client_secret).encrypt(token.encode()).decode(),
        "fingerprint": _fingerprint(token),
        "expires_at": requested_at + expires_in,
        "renew_at": renew_at(requested_at, expires_in),
    }

    def change(docs: list[dict[str, Any]]) -> tuple[str, float]:
        wall = clock()
        current = _readable(settings, docs[0], wall)
        if current is not None:
            return current
        docs[0].clear()
        docs[0].update(ours)
        return token, ours["expires_at"] - wall

    return settings.shared_state.update([_token_key(settings)], change)


def drop_token(settings: ClientSettings, token: str) -> None:
    """Forget `token` (refused with 401) for every process, unless another one already replaced it."""
    assert settings.shared_state is not None

    def change(docs: list[dict[str, Any]]) -> None:
        if docs[0].get("fingerprint") == _fingerprint(token):
            docs[0].clear()

    settings.shared_state.update([_token_key(settings)], change)


def _readable(settings: ClientSettings, doc: Mapping[str, Any], wall: float) -> tuple[str, float] | None:
    if not doc.get("sealed") or wall >= float(doc.get("renew_at") or 0):
        return None
    try:
        token = _cipher(settings.client_id, settings.client_secret).decrypt(doc["sealed"].encode()).decode()
    except InvalidToken:  # stored under another secret (rotated): log in anew, and replace it
        return None
    return token, float(doc["expires_at"]) - wall


def _token_key(settings: ClientSettings) -> str:
    return _key("token", *settings.token_key)


def _key(*parts: str) -> str:
    return "|".join(parts)


def _fingerprint(token: str) -> str:
    # a digest of a random bearer value: tells tokens apart, usable for nothing else
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@functools.lru_cache(maxsize=16)
def _cipher(client_id: str, client_secret: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"genesys_cloud shared token " + client_id.encode(),
    ).derive(client_secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))

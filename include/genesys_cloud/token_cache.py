"""Process-wide cache of OAuth client-credentials tokens, keyed by (login URL, client id).

Mapped task instances and the triggers of one process share a client's token instead of asking for one
each: Genesys limits token requests too, and every token has its own request budget. Pure bookkeeping;
the hooks fetch tokens. Times are monotonic seconds supplied by the caller.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

# Renew this long before `expires_in` runs out: 10% of the lifetime, at most a minute (a 24 h token is
# renewed a minute early, a 2 s sandbox token 0.2 s early).
_RENEW_FRACTION = 0.1
_RENEW_MAX_SECONDS = 60.0

TokenKey = tuple[str, str]


@dataclass(frozen=True)
class CachedToken:
    access_token: str
    renew_at: float  # monotonic


def renew_at(now: float, expires_in: float) -> float:
    return now + expires_in - min(_RENEW_MAX_SECONDS, _RENEW_FRACTION * expires_in)


class TokenCache:
    def __init__(self) -> None:
        self._tokens: dict[TokenKey, CachedToken] = {}
        self._lock = threading.Lock()
        self._fetch_locks: dict[TokenKey, threading.Lock] = {}

    def get(self, key: TokenKey, now: float) -> str | None:
        """The cached token, unless it is due for renewal."""
        with self._lock:
            cached = self._tokens.get(key)
        if cached is None or now >= cached.renew_at:
            return None
        return cached.access_token

    def store(self, key: TokenKey, access_token: str, expires_in: float, now: float) -> None:
        with self._lock:
            self._tokens[key] = CachedToken(access_token, renew_at(now, expires_in))

    def invalidate(self, key: TokenKey, access_token: str) -> None:
        """Drop `access_token` (refused with 401) unless another caller already replaced it."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.access_token == access_token:
                del self._tokens[key]

    def fetch_lock(self, key: TokenKey) -> threading.Lock:
        """Serialises synchronous token fetches per key so threads do not all log in at once."""
        with self._lock:
            return self._fetch_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


SHARED_TOKENS = TokenCache()

"""How to reach and authenticate against one Genesys Cloud org, read from an Airflow connection.

Connection fields: host = API URL (`https://api.mypurecloud.ie`, or the sandbox `http://127.0.0.1:PORT`),
login = OAuth client id, password = client secret. Extras (all optional):

* `region`: shorthand (`eu_west_1`) used when host is empty;
* `max_attempts`, `base_backoff_seconds`, `max_wait_seconds`: the retry policy;
* `rate_limit_per_minute`: a ceiling below the org's own limit (e.g. 300);
* `timeout`: seconds to wait for one answer (default 60); `verify`: TLS verification (bool or CA path);
* `extra_clients`: further OAuth clients of the same org, `[{"client_id": ..., "client_secret": ...}]`.
  Each has its own token and its own rate limit at Genesys, so work spread across K clients runs up to
  K times the per-token rate (the org-wide limits still apply). Secrets are never logged or shown.

Hook arguments override extras. Shared by the sync and the async hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from genesys_cloud.regions import api_base_url, login_base_url
from genesys_cloud.retry_policy import RetryPolicy

if TYPE_CHECKING:
    from genesys_cloud.shared_state import SharedStateStore

DEFAULT_TIMEOUT_SECONDS = 60.0
_CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ClientSettings:
    api_url: str
    login_url: str
    client_id: str
    client_secret: str = field(repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limit_per_minute: float | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    verify: bool | str = True
    # further (client id, secret) pairs of the same org, `extra_clients` in the connection's extras
    extra_clients: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # where the processes of a deployment share the token and the pacing (`shared_state`); None: each
    # process paces on its own. Not from the connection: the hook's owner hands it in.
    shared_state: SharedStateStore | None = field(default=None, repr=False, compare=False)

    @property
    def client_count(self) -> int:
        return 1 + len(self.extra_clients)

    def for_client(self, index: int) -> ClientSettings:
        """These settings for OAuth client `index` (0 = the connection's login/password)."""
        if not 0 <= index < self.client_count:
            raise ValueError(f"client index {index} out of range: {self.client_count} client(s) configured")
        if index == 0:
            return self
        client_id, client_secret = self.extra_clients[index - 1]
        return replace(self, client_id=client_id, client_secret=client_secret)

    @property
    def token_key(self) -> tuple[str, str]:
        """Tokens and request budgets belong to one client of one login host."""
        return (self.login_url, self.client_id)

    @property
    def connect_timeout_seconds(self) -> float:
        return min(_CONNECT_TIMEOUT_SECONDS, self.timeout_seconds)

    @classmethod
    def from_connection(
        cls,
        *,
        conn_id: str,
        host: str | None,
        port: int | None,
        schema: str | None,
        login: str | None,
        password: str | None,
        extra: Mapping[str, Any],
        overrides: Mapping[str, Any] | None = None,
    ) -> ClientSettings:
        options = {**extra, **{k: v for k, v in (overrides or {}).items() if v is not None}}
        if not login or not password:
            raise ValueError(
                f"connection {conn_id!r}: login (OAuth client id) and password (client secret) are required"
            )
        try:
            api_url = api_base_url(host, port=port, schema=schema, region=options.get("region"))
            retry = RetryPolicy.from_dict(options)
            ceiling = options.get("rate_limit_per_minute")
            timeout = float(options.get("timeout") or DEFAULT_TIMEOUT_SECONDS)
            extra_clients = _extra_clients(options.get("extra_clients"), login)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"connection {conn_id!r}: {exc}") from None
        return cls(
            api_url=api_url,
            login_url=login_base_url(api_url),
            client_id=login,
            client_secret=password,
            retry=retry,
            rate_limit_per_minute=float(ceiling) if ceiling else None,
            timeout_seconds=timeout,
            verify=_verify_option(options.get("verify", True)),
            extra_clients=extra_clients,
        )


def _extra_clients(value: Any, login: str) -> tuple[tuple[str, str], ...]:
    """`extra_clients` as (id, secret) pairs; errors name the entry's position, never its secret."""
    if not value:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError("extra_clients must be a list of {client_id, client_secret}")
    pairs: list[tuple[str, str]] = []
    for number, item in enumerate(value, start=1):
        client_id = item.get("client_id") if isinstance(item, Mapping) else None
        secret = item.get("client_secret") if isinstance(item, Mapping) else None
        if not isinstance(client_id, str) or not client_id or not isinstance(secret, str) or not secret:
            raise ValueError(f"extra_clients entry {number} needs a client_id and a client_secret")
        if client_id == login or client_id in (pair[0] for pair in pairs):
            # the same client twice would share one token and its limit: no gain, only confusion
            raise ValueError(f"extra_clients entry {number} repeats client id {client_id!r}")
        pairs.append((client_id, secret))
    return tuple(pairs)


def _verify_option(value: Any) -> bool | str:
    """TLS verification from an extra: a bool, "true"/"false" text, or the path of a CA bundle."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value if isinstance(value, str) else bool(value)

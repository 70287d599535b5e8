"""`HttpProbe`: one raw call per endpoint against a Genesys org, keeping what the preflight needs to see.

The pipeline's hook hides status codes, headers and missing permissions behind retries and typed errors;
the preflight wants exactly those facts. So this layer makes plain HTTP calls (no retries: a 429 or a 5xx
is itself a fact) and records, per call, the endpoint's route TEMPLATE (never the concrete path: it may
hold an external contact id), the status, the Genesys error code, a permission named in a 403 and the
`inin-ratelimit-*` headers. Bodies are returned to the caller but never recorded.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from genesys_cloud.client_settings import ClientSettings
from genesys_cloud.protocol import DEFAULT_HEADERS, TOKEN_FORM, TOKEN_PATH

# `… missing the following permission(s): [recording:recording:view]`: permission names only.
_PERMISSIONS = re.compile(r"\[([A-Za-z0-9:_.\-, ]+)\]")
_PERMISSION_NAME = re.compile(r"^[A-Za-z0-9_.\-]+(:[A-Za-z0-9_.\-]+)+$")


@dataclass(frozen=True)
class Observation:
    """What one call showed: no request or response values, only their shape and the headers' numbers."""

    name: str
    endpoint: str  # "GET /api/v2/conversations/{conversationId}"
    status: int | None
    code: str | None = None
    missing_permissions: tuple[str, ...] = ()
    rate_limit: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        if self.status is None:
            return "no_answer"
        if 200 <= self.status < 300:
            return "ok"
        if self.status == 403:
            return "missing_permission"
        if self.status == 404:
            return "not_found"  # the probe asks for made-up ids: a 404 means the call was allowed
        if self.status == 429:
            return "rate_limited"
        return "error"

    @property
    def permitted(self) -> bool:
        return self.outcome in ("ok", "not_found")

    def as_dict(self) -> dict[str, Any]:
        entry = asdict(self)
        entry["missing_permissions"] = list(self.missing_permissions)
        # whole milliseconds: floats make the signed canonical JSON ambiguous across languages
        entry["milliseconds"] = round(self.seconds * 1000)
        del entry["seconds"]
        entry["outcome"] = self.outcome
        return entry


@dataclass
class Answer:
    observation: Observation
    body: Any


class HttpProbe:
    """Raw calls with the connection's client credentials; `observations` lists every call made."""

    def __init__(self, settings: ClientSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.http = session or requests.Session()
        self.http.headers.update(DEFAULT_HEADERS)
        self.http.verify = settings.verify
        self.observations: list[Observation] = []
        self.token_lifetime_seconds: int | None = None
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HttpProbe:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def login(self) -> Observation:
        """POST /oauth/token once; keeps the token and its `expires_in`."""
        started = time.monotonic()
        try:
            response = self.http.post(
                self.settings.login_url + TOKEN_PATH,
                data=TOKEN_FORM,
                auth=(self.settings.client_id, self.settings.client_secret),
                timeout=self.settings.timeout_seconds,
            )
        except requests.RequestException as exc:
            observation = Observation("token", f"POST {TOKEN_PATH}", None, type(exc).__name__)
        else:
            body = _json(response)
            code = None
            if response.ok and isinstance(body, dict) and body.get("access_token"):
                self._token = str(body["access_token"])
                expires = body.get("expires_in")
                self.token_lifetime_seconds = int(expires) if isinstance(expires, int | float) else None
            elif isinstance(body, dict):
                code = _text(body.get("error")) or _text(body.get("code"))
            observation = Observation(
                "token", f"POST {TOKEN_PATH}", response.status_code, code, seconds=time.monotonic() - started
            )
        self.observations.append(observation)
        return observation

    def call(
        self,
        name: str,
        method: str,
        template: str,
        *,
        path_values: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Answer:
        """Call `template` (with `path_values` filled in) once and record what it showed."""
        if self._token is None and self.login().status != 200:
            raise PermissionError("the OAuth client credentials were refused; nothing else was probed")
        path = template
        for key, value in (path_values or {}).items():
            path = path.replace("{" + key + "}", requests.utils.quote(value, safe=""))
        endpoint = f"{method} {template}"
        started = time.monotonic()
        try:
            response = self.http.request(
                method,
                self.settings.api_url + path,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.settings.timeout_seconds,
            )
        except requests.RequestException as exc:
            observation = Observation(name, endpoint, None, type(exc).__name__)
            self.observations.append(observation)
            return Answer(observation, None)
        body = _json(response)
        code = _text(body.get("code")) if isinstance(body, dict) and not response.ok else None
        permissions = _missing_permissions(body) if response.status_code == 403 else ()
        observation = Observation(
            name,
            endpoint,
            response.status_code,
            code,
            permissions,
            _rate_limit(response.headers),
            time.monotonic() - started,
        )
        self.observations.append(observation)
        return Answer(observation, body if response.ok else None)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _missing_permissions(body: Any) -> tuple[str, ...]:
    """The permission names a 403 body mentions (nothing else of its text is kept)."""
    if not isinstance(body, dict):
        return ()
    texts = [str(body.get("message") or "")]
    params = body.get("messageParams")
    if isinstance(params, dict):
        texts.extend(str(v) for v in params.values())
    names: list[str] = []
    for text in texts:
        for group in [*_PERMISSIONS.findall(text), text]:
            for candidate in group.split(","):
                candidate = candidate.strip()
                if _PERMISSION_NAME.match(candidate) and candidate not in names:
                    names.append(candidate)
    return tuple(names)


def _rate_limit(headers: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for name, key in (
        ("inin-ratelimit-allowed", "allowed"),
        ("inin-ratelimit-count", "count"),
        ("inin-ratelimit-reset", "reset_seconds"),
        ("Retry-After", "retry_after_seconds"),
    ):
        value = headers.get(name)
        if value is not None and str(value).strip().isdigit():
            found[key] = int(str(value).strip())
    return found

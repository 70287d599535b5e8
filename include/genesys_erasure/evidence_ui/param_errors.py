"""Airflow's answer to a trigger whose Param fails its schema, in words, for this project's DAGs.

Airflow's trigger endpoint (`POST /api/v2/dags/{dag_id}/dagRuns`, which its trigger form calls) refuses a
Param that fails its JSON schema with 400 and the validator's own text: the value typed, the rule and the
whole schema ("'x y' does not match '^[A-Za-z0-9]…' Failed validating 'pattern' in schema: {…} On instance:
'x y'"). `ParamErrorsInWords`, a root middleware of the API server (registered by the evidence plugin),
replaces that detail, for the DAGs of this project only, with the field's title, its name and what it
accepts, in the words the intake page uses, and never the value. Every other answer passes untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

_TRIGGER = re.compile(r"^/api/v2/dags/(?P<dag_id>genesys_[A-Za-z0-9_]+)/dagRuns/?$")
_PARAM_ERROR = re.compile(r"^Invalid input for param (?P<name>[A-Za-z0-9_]+):")
_MAX_BODY = 64 * 1024  # an error answer is small; anything larger is passed on as it is


@cache
def _fields() -> dict[str, dict[str, dict[str, Any]]]:
    """dag_id -> Param name -> its spec (title, description, schema rules), from the DAGs' own sources."""
    from genesys_erasure.params import as_of_param, retention_purge_params, subject_erasure_params

    return {
        "genesys_subject_erasure": subject_erasure_params(allow_inline=True),
        "genesys_retention_purge": {**retention_purge_params(), "as_of": as_of_param()},
    }


def accepted_in_words(dag_id: str, name: str) -> str | None:
    """What the Param `name` of `dag_id` accepts, in words, or None for a Param this module does not know."""
    from genesys_erasure.dsr import FIELD_REASONS

    spec = _fields().get(dag_id, {}).get(name)
    if spec is None:
        return None
    if dag_id == "genesys_subject_erasure" and name in FIELD_REASONS:
        return FIELD_REASONS[name]
    types = spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")]
    empty = ", or empty (the configuration file's value)" if "null" in types else ""
    if "enum" in spec:
        shown = spec.get("values_display", {})
        options = [f"'{shown.get(str(v), v)}'" for v in spec["enum"] if v is not None]
        return f"one of {', '.join(options)}{empty}"
    if "integer" in types:
        bounds = [
            f"{word} {spec[key]}"
            for word, key in (("at least", "minimum"), ("at most", "maximum"))
            if key in spec
        ]
        return " ".join(["a whole number", " and ".join(bounds)]).rstrip() + empty
    return str(spec.get("description", "see the field description"))


def in_words(dag_id: str, detail: str) -> str | None:
    """The replacement for Airflow's detail, or None when it is not a Param schema error."""
    found = _PARAM_ERROR.match(detail)
    if not found:
        return None
    name = found["name"]
    spec = _fields().get(dag_id, {}).get(name, {})
    title = spec.get("title", name)
    accepted = accepted_in_words(dag_id, name)
    what = accepted.rstrip(".") if accepted else "not accepted (the field's description says what it takes)"
    return f"'{title}' ({name}): {what}. The run was not created."


class ParamErrorsInWords:
    """ASGI middleware: rewrites the 400 detail of a refused trigger of this project's DAGs (see module)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: Mapping[str, Any], receive: Callable, send: Callable) -> None:
        matched = _TRIGGER.match(scope.get("path", "")) if scope.get("type") == "http" else None
        if matched is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}

        async def rewrite(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] != 400:
                    await send(message)
                    return
                held["start"], held["body"] = message, b""
                return
            if "start" not in held:
                await send(message)
                return
            held["body"] += message.get("body", b"")
            more = bool(message.get("more_body"))
            if more and len(held["body"]) <= _MAX_BODY:
                return
            start, body = dict(held["start"]), held["body"]
            words = None if more else _rewritten(matched["dag_id"], body)
            if words is not None:
                body = words
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start["headers"] = [*headers, (b"content-length", str(len(body)).encode())]
            held.clear()  # what follows (a long answer's rest) passes through
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": more})

        await self.app(scope, receive, rewrite)


def _rewritten(dag_id: str, body: bytes) -> bytes | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    detail = answer.get("detail") if isinstance(answer, dict) else None
    words = in_words(dag_id, detail) if isinstance(detail, str) else None
    return json.dumps({**answer, "detail": words}).encode() if words else None

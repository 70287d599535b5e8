"""Divisions in the sandbox: their ids, which division a seeded object is in, and which divisions the
client's role covers (`role_divisions`) with what happens to objects of the others (`division_denial`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TypeVar

from genesys_sandbox.errors import ApiError
from genesys_sandbox.settings import SandboxSettings

T = TypeVar("T")


def names(value: str | Iterable[str]) -> tuple[str, ...]:
    """A comma-separated setting (the sandbox CLI passes plain strings) or a list, as a tuple."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def division_id(name: str) -> str:
    """The id of the division named `name` (stable, so a test can name the division it plants in)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-division:{name}"))


def division_ids(settings: SandboxSettings) -> tuple[str, ...]:
    """The org's division ids, home first."""
    return tuple(division_id(name) for name in names(settings.divisions) or ("Home",))


def spread_division(settings: SandboxSettings, object_id: str) -> str:
    """The division a seeded object is in: spread over every division of the org, by its id (so the same
    seed puts the same object in the same division)."""
    ids = division_ids(settings)
    return ids[int(uuid.uuid5(uuid.NAMESPACE_URL, object_id)) % len(ids)]


def covered_division_ids(settings: SandboxSettings) -> frozenset[str] | None:
    """The divisions the client's role covers; None = every division (`role_divisions` empty)."""
    covered = names(settings.role_divisions)
    return frozenset(division_id(name) for name in covered) if covered else None


def division_covered(settings: SandboxSettings, division: str | None) -> bool:
    covered = covered_division_ids(settings)
    return covered is None or division in covered


def missing_division_permission() -> ApiError:
    """The 403 of an object in a division the client's role does not cover (`division_denial="403"`)."""
    return ApiError(
        403,
        "missing.division.permission",
        "You are missing the required permission for one or more divisions of the requested objects.",
    )


def visible(settings: SandboxSettings, divisions: Iterable[str | None]) -> list[bool]:
    """Per object (given by its division), whether the client sees it: all True for a role covering every
    division; otherwise a 403 `missing.division.permission` if any is uncovered and `division_denial` is
    "403", else False for the uncovered ones (left out silently)."""
    seen = [division_covered(settings, division) for division in divisions]
    if settings.division_denial == "403" and not all(seen):
        raise missing_division_permission()
    return seen


def only_visible(
    settings: SandboxSettings, objects: Iterable[T], division_of: Callable[[T], str | None]
) -> list[T]:
    """The objects the client sees, in order (see `visible`); an object without a division (a planted
    contact) is in the home division."""
    listed = list(objects)
    home = division_ids(settings)[0]
    divisions = [division_of(o) or home for o in listed]
    return [o for o, seen in zip(listed, visible(settings, divisions), strict=True) if seen]

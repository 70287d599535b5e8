"""The divisions the client's role covers against those the org has: a fact checked before every purge.

Genesys scopes analytics conversation details and external contacts by division. A role granted on only
some divisions either gets 403 `missing.division.permission` or, unconfirmed but possible, silently
partial answers: a customer whose recent contact is in an uncovered division then looks expired and would
be erased. So the purge refuses such a role unless `allow_partial_divisions` accepts it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from genesys_erasure.config import ConfigError

SETTING = "allow_partial_divisions"
DIVISIONS = "/api/v2/authorization/divisions"
PERMITTED = "/api/v2/authorization/divisionspermitted/paged/me"
# The permissions by which the purge finds a customer's contacts; a division either one lacks hides them.
PERMISSIONS = ("analytics:conversationDetail:view", "externalContacts:contact:view")
PAGE_SIZE = 100


class DivisionReader(Protocol):
    def iter_divisions(self, page_size: int = 100) -> Iterator[dict[str, Any]]: ...

    def iter_entities(
        self, path: str, params: Mapping[str, Any] | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]: ...


@dataclass(frozen=True)
class DivisionCoverage:
    """The org's divisions and those of them the role does not cover for every permission in
    `PERMISSIONS` (names: org configuration, not personal data)."""

    existing: tuple[str, ...]
    uncovered: tuple[str, ...]

    @property
    def partial(self) -> bool:
        return bool(self.uncovered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "existing": len(self.existing),
            "covered": len(self.existing) - len(self.uncovered),
            "uncovered": len(self.uncovered),
            "uncovered_names": list(self.uncovered),
            "permissions": list(PERMISSIONS),
        }


def read_division_coverage(client: DivisionReader) -> DivisionCoverage:
    """Every division of the org and which of them the role lacks a purge permission in. ConfigError if
    the org lists no division (every org has a home division: an empty list is an unreadable one)."""
    existing = {
        str(d["id"]): str(d.get("name") or d["id"])
        for d in client.iter_divisions(page_size=PAGE_SIZE)
        if isinstance(d, Mapping) and d.get("id")
    }
    if not existing:
        raise ConfigError(SETTING, f"the org's divisions could not be read (GET {DIVISIONS})")
    uncovered: set[str] = set()
    for permission in PERMISSIONS:
        permitted = {
            str(d.get("id"))
            for d in client.iter_entities(PERMITTED, params={"permission": permission}, page_size=PAGE_SIZE)
            if isinstance(d, Mapping)
        }
        uncovered |= existing.keys() - permitted
    names = tuple(existing.values())
    return DivisionCoverage(existing=names, uncovered=tuple(n for i, n in existing.items() if i in uncovered))


def check_division_coverage(client: DivisionReader, *, allow_partial: bool) -> DivisionCoverage:
    """The role's division coverage; ConfigError naming `allow_partial_divisions` if it leaves a division
    out and that is not explicitly accepted."""
    coverage = read_division_coverage(client)
    if coverage.partial and not allow_partial:
        raise ConfigError(
            SETTING,
            f"is false, but the client's role does not cover {len(coverage.uncovered)} of the org's "
            f"{len(coverage.existing)} divisions for {' and '.join(PERMISSIONS)} (GET {PERMITTED}): "
            "conversations and external contacts in them are hidden from (or refused to) the purge, so a "
            "customer whose recent contact is there would look expired and be erased. Grant the role "
            "every division, or set allow_partial_divisions: true in the config file to accept this.",
        )
    return coverage

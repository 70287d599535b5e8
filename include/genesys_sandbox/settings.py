"""Settings of one sandbox instance: org size, clock, limits and fault knobs at start-up.

Every field has a default, so `SandboxSettings()` is a working demo sandbox and tests override only what
they care about (`SandboxSettings(customers=40, conversations=300)`). PROFILES holds named bundles of knobs:
`SandboxSettings.for_profile("pessimistic", customers=40)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class SandboxSettings:
    seed: int = 7
    customers: int = 2000
    conversations: int = 20000
    years: int = 6
    # steady history (t2): "legacy" = today's seed; "steady" = the same conversations per day in every year
    history: str = "legacy"
    conversations_per_day: float = 0.0  # steady only; 0 = `conversations` spread over the history
    customers_per_year: int = 0  # steady only: distinct callers at any time; 0 = derived from `customers`
    yearly_churn: float = 0.2  # steady only: share of the callers who stop calling each year (replaced)
    active_conversations: int = 0  # steady only: conversations still active at `now` (no burst unless asked)
    rate_limit_per_window: int = 300
    rate_limit_window_seconds: float = 60
    token_ttl_seconds: int = 86400
    # external-contact search matching: "exact" (words of q as substrings) or "tokenised" (any shared token)
    contact_search: str = "exact"
    # external-contact search: above this many matches, partialResults true and a truncated list (0 = never)
    contact_search_partial_above: int = 0
    # the search index (external-contact search AND cursor scan) returns a deleted contact this many sandbox
    # hours after its delete (GET by id already answers 404); 0 = the index follows deletes at once
    contact_index_lag_hours: float = 0.0
    # wall seconds per GDPR status step; 0 = every GET of the request advances it one step
    gdpr_step_seconds: float = 1.0
    # analytics jobs only see conversations started before now - lag (dataAvailabilityDate)
    analytics_lag_hours: float = 36
    # analytics jobs and the details multi-get show a GDPR change only this many hours after it (0 = at once)
    analytics_snapshot_hours: float = 0
    job_fulfil_seconds: float = 0.5
    # GDPR delete writes this placeholder over a value instead of removing it; None = removed
    gdpr_delete_placeholder: str | None = None
    # GDPR delete keeps the participant's externalContactId while deleting the contact itself
    gdpr_delete_keeps_participant_contact_id: bool = False
    # GDPR delete removes external contacts this many sandbox hours after COMPLETED; None = never
    gdpr_contact_delete_lag_hours: float | None = 0.0
    # GDPR delete sets a recording's deleteDate at COMPLETED but fileState DELETED this many hours later
    gdpr_recording_delete_lag_hours: float = 0.0
    # GDPR delete and update leave participant attributes (flow-set participant data) as they were
    gdpr_delete_keeps_attributes: bool = False
    latency_ms: int = 0
    error_rate_5xx: float = 0.0
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    # preflight (i9d): routes answering 403 missing.permissions, comma-separated ("GET /api/v2/x/{id}")
    denied_paths: str = ""
    # preflight (i9d): GET /api/v2/analytics/dataretention/settings; 0 = long enough for every seeded year
    analytics_retention_days: int = 0
    # preflight (i9d): the divisions GET /api/v2/authorization/divisions lists, comma-separated; first is home
    divisions: str = "Home"
    # a role covering only some divisions (p5): the divisions it covers, comma-separated; "" = all
    role_divisions: str = ""
    # a role covering only some divisions (p5): objects of the others "silent"ly left out, or "403" refused
    division_denial: str = "silent"
    # the sandbox clock starts at `now` (and then runs); None = the real time at start-up
    now: datetime | None = None
    # only used to label seeded customers as expired (no contact within this many years) or not
    retention_years: int = 5
    agents: int | None = None  # None = one agent per 40 customers, at least 6
    # how numbers, addresses and attributes are written: "clean" = tel:+E164 and bare addresses everywhere;
    # "real" = tel:/sip:/national forms, withheld callers, messaging ids, display-name headers, attributes
    data_shapes: str = "clean"

    def __post_init__(self) -> None:
        _require(self.customers >= 1, "customers", "must be at least 1")
        _require(self.conversations >= self.customers, "conversations", "must be >= customers")
        _require(self.years >= 1, "years", "must be at least 1")
        _require(self.history in ("legacy", "steady"), "history", "must be legacy or steady")
        _require(self.conversations_per_day >= 0, "conversations_per_day", "must be >= 0")
        _require(self.customers_per_year >= 0, "customers_per_year", "must be >= 0")
        _require(0.0 <= self.yearly_churn < 1.0, "yearly_churn", "must be within [0, 1)")
        _require(self.active_conversations >= 0, "active_conversations", "must be >= 0")
        _require(self.rate_limit_per_window >= 1, "rate_limit_per_window", "must be at least 1")
        _require(self.rate_limit_window_seconds > 0, "rate_limit_window_seconds", "must be positive")
        _require(self.token_ttl_seconds >= 1, "token_ttl_seconds", "must be at least 1")
        _require(
            self.contact_search in ("exact", "tokenised"), "contact_search", "must be exact or tokenised"
        )
        _require(self.contact_search_partial_above >= 0, "contact_search_partial_above", "must be >= 0")
        _require(self.contact_index_lag_hours >= 0, "contact_index_lag_hours", "must be >= 0")
        _require(self.gdpr_step_seconds >= 0, "gdpr_step_seconds", "must be >= 0")
        _require(self.analytics_lag_hours >= 0, "analytics_lag_hours", "must be >= 0")
        _require(self.analytics_snapshot_hours >= 0, "analytics_snapshot_hours", "must be >= 0")
        _require(self.job_fulfil_seconds >= 0, "job_fulfil_seconds", "must be >= 0")
        _require(self.latency_ms >= 0, "latency_ms", "must be >= 0")
        _require(
            self.gdpr_contact_delete_lag_hours is None or self.gdpr_contact_delete_lag_hours >= 0,
            "gdpr_contact_delete_lag_hours",
            "must be >= 0 (or null = never)",
        )
        _require(self.gdpr_recording_delete_lag_hours >= 0, "gdpr_recording_delete_lag_hours", "must be >= 0")
        _require(0.0 <= self.error_rate_5xx <= 1.0, "error_rate_5xx", "must be within [0, 1]")
        _require(bool(self.client_id) and bool(self.client_secret), "client_id", "credentials must be set")
        _require(self.division_denial in ("silent", "403"), "division_denial", "must be silent or 403")
        if self.now is not None and self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=UTC))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxSettings:
        """Build from a plain mapping (CLI, YAML, JSON); unknown keys are an error, `now` may be ISO text."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown sandbox setting(s): {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("now"), str):
            values["now"] = datetime.fromisoformat(values["now"].replace("Z", "+00:00"))
        return cls(**values)

    @classmethod
    def for_profile(cls, profile: str, **overrides: Any) -> SandboxSettings:
        """The named profile (see PROFILES) with `overrides` on top; an unknown profile is an error."""
        if profile not in PROFILES:
            raise ValueError(f"unknown sandbox profile {profile!r}; known: {', '.join(sorted(PROFILES))}")
        return cls.from_dict({**PROFILES[profile], **overrides})

    @property
    def agent_count(self) -> int:
        return self.agents if self.agents is not None else max(6, self.customers // 40)


# Named bundles of knobs. "faithful" = the defaults: the behaviour the API reference documents or implies.
# "pessimistic" = every UNCONFIRMED behaviour read the way that is hardest on the pipeline (ASSUMPTIONS.md,
# "Profiles", says why for each), so a pipeline that passes on it does not rely on a kind reading.
PROFILES: dict[str, dict[str, Any]] = {
    "faithful": {},
    "pessimistic": {
        "contact_search": "tokenised",
        "contact_search_partial_above": 25,
        "contact_index_lag_hours": 24.0,
        "gdpr_delete_placeholder": "[redacted]",
        "gdpr_delete_keeps_participant_contact_id": True,
        "gdpr_contact_delete_lag_hours": 48.0,
        "gdpr_recording_delete_lag_hours": 48.0,
        "gdpr_delete_keeps_attributes": True,
        "divisions": "Home,Sales EU,Support EU",
        "data_shapes": "real",
    },
}


def _require(condition: bool, field_name: str, why: str) -> None:
    if not condition:
        raise ValueError(f"sandbox setting {field_name!r} {why}")

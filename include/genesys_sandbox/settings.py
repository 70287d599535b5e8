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
    # per-resource buckets on top of the token's, per token and window: "family=allowed,..." where a family
    # is the first path segment after /api/v2 ("analytics=60,externalcontacts=120"); "" = none
    family_rate_limits: str = ""
    # one bucket across every token of the org, per window (0 = none)
    org_rate_limit_per_window: int = 0
    # POST /oauth/token per OAuth client and window (0 = not limited)
    token_requests_per_window: int = 0
    # OAuth clients the org has: client_id/client_secret, then "<id>-2"/"<secret>-2", … (see ASSUMPTIONS.md)
    oauth_clients: int = 1
    token_ttl_seconds: int = 86400
    # external-contact search matching: "exact" (words of q as substrings) or "tokenised" (any shared token)
    contact_search: str = "exact"
    # external-contact search: above this many matches, partialResults true and a truncated list (0 = never)
    contact_search_partial_above: int = 0
    # the search index (external-contact search AND cursor scan) returns a deleted contact this many sandbox
    # hours after its delete (GET by id already answers 404); 0 = the index follows deletes at once
    contact_index_lag_hours: float = 0.0
    # sandbox seconds per GDPR status step (requests move with sandbox time only, never by being read)
    gdpr_step_seconds: float = 1.0
    # a poll of GDPR requests moves the sandbox clock this far after answering, standing for the poller's
    # wait until its next poll (0 = off): a read of the list page holding the newest request (once per
    # pass) while any request is unfinished, or a read of one unfinished request by id
    gdpr_poll_advance_seconds: float = 0.0
    # GET /api/v2/gdpr/requests: "newest_first" or "oldest_first" (createdDate), and the largest pageSize
    # served (a larger one is silently cut to it)
    gdpr_list_order: str = "newest_first"
    gdpr_list_page_size_cap: int = 100
    # org-wide quota of POST /api/v2/gdpr/requests per window, across every OAuth client; 0 = none.
    # Beyond it: 429 with Retry-After = the rest of the window
    gdpr_quota_per_window: int = 0
    gdpr_quota_window_seconds: float = 3600
    # analytics jobs only see conversations started before now - lag (dataAvailabilityDate)
    analytics_lag_hours: float = 36
    # analytics jobs and the details multi-get show a GDPR change only this many hours after it (0 = at once)
    analytics_snapshot_hours: float = 0
    # analytics jobs: QUEUED for job_fulfil_seconds, then PENDING for job_seconds_per_day per UTC day of the
    # interval the lake holds (history start .. dataAvailabilityDate), then FULFILLED
    job_fulfil_seconds: float = 0.5
    job_seconds_per_day: float = 0.0
    # a status read of a still QUEUED or PENDING analytics job moves the sandbox clock this far after
    # answering (0 = off)
    job_poll_advance_seconds: float = 0.0
    # the first N analytics jobs end FAILED with an errorMessage (more at run time: fail_next_analytics_jobs)
    fail_first_analytics_jobs: int = 0
    # jobs QUEUED or PENDING at once per org; one more is a 429 with Retry-After (0 = no cap)
    job_concurrency_limit: int = 0
    # a FULFILLED job's results expire this many hours after completion (state EXPIRED)
    job_results_ttl_hours: float = 24.0
    # a job results page whose JSON exceeds this many bytes is a 400 response.entity.too.large (0 = no cap)
    job_results_max_page_bytes: int = 0
    # detail queries: the 7/31-day limit counts the UTC days the interval touches (False: its length)
    details_query_counts_touched_days: bool = False
    # detail queries: pageNumber * pageSize beyond this is a 400 (0 = no cap)
    details_query_max_results: int = 0
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
    # sandbox seconds per wall second: 1 = real time; above 1 rate windows, GDPR steps, jobs and token
    # lifetimes pass faster, and the durations told to the caller (reset, Retry-After, expires_in) shrink
    clock_rate: float = 1.0
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
        _require(self.org_rate_limit_per_window >= 0, "org_rate_limit_per_window", "must be >= 0")
        _require(self.token_requests_per_window >= 0, "token_requests_per_window", "must be >= 0")
        _require(self.oauth_clients >= 1, "oauth_clients", "must be at least 1")
        try:
            self.family_limits()
        except ValueError as exc:
            raise ValueError(f"sandbox setting 'family_rate_limits' {exc}") from None
        _require(self.token_ttl_seconds >= 1, "token_ttl_seconds", "must be at least 1")
        _require(
            self.contact_search in ("exact", "tokenised"), "contact_search", "must be exact or tokenised"
        )
        _require(self.contact_search_partial_above >= 0, "contact_search_partial_above", "must be >= 0")
        _require(self.gdpr_step_seconds > 0, "gdpr_step_seconds", "must be positive")
        _require(
            self.gdpr_list_order in ("newest_first", "oldest_first"),
            "gdpr_list_order",
            "must be newest_first or oldest_first",
        )
        _require(1 <= self.gdpr_list_page_size_cap <= 100, "gdpr_list_page_size_cap", "must be 1..100")
        _require(self.gdpr_quota_per_window >= 0, "gdpr_quota_per_window", "must be >= 0")
        _require(self.gdpr_quota_window_seconds > 0, "gdpr_quota_window_seconds", "must be positive")
        _require(self.contact_index_lag_hours >= 0, "contact_index_lag_hours", "must be >= 0")
        _require(self.analytics_lag_hours >= 0, "analytics_lag_hours", "must be >= 0")
        _require(self.analytics_snapshot_hours >= 0, "analytics_snapshot_hours", "must be >= 0")
        _require(self.job_fulfil_seconds >= 0, "job_fulfil_seconds", "must be >= 0")
        _require(self.job_seconds_per_day >= 0, "job_seconds_per_day", "must be >= 0")
        _require(self.gdpr_poll_advance_seconds >= 0, "gdpr_poll_advance_seconds", "must be >= 0")
        _require(self.job_poll_advance_seconds >= 0, "job_poll_advance_seconds", "must be >= 0")
        _require(self.clock_rate > 0, "clock_rate", "must be positive")
        _require(self.fail_first_analytics_jobs >= 0, "fail_first_analytics_jobs", "must be >= 0")
        _require(self.job_concurrency_limit >= 0, "job_concurrency_limit", "must be >= 0")
        _require(self.job_results_ttl_hours > 0, "job_results_ttl_hours", "must be positive")
        _require(self.job_results_max_page_bytes >= 0, "job_results_max_page_bytes", "must be >= 0")
        _require(self.details_query_max_results >= 0, "details_query_max_results", "must be >= 0")
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

    def family_limits(self) -> dict[str, int]:
        """`family_rate_limits` as {family: allowed per window}."""
        limits: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in self.family_rate_limits.split(","))):
            family, sep, allowed = item.partition("=")
            if not sep or not family.strip() or not allowed.strip().isdigit() or int(allowed) < 1:
                raise ValueError(f"must read family=allowed,... (allowed >= 1), not {item!r}")
            limits[family.strip()] = int(allowed)
        return limits

    def client_credentials(self) -> dict[str, str]:
        """Every OAuth client of the org: {client id: secret}; the first is `client_id`/`client_secret`."""
        pairs = {self.client_id: self.client_secret}
        for number in range(2, self.oauth_clients + 1):
            pairs[f"{self.client_id}-{number}"] = f"{self.client_secret}-{number}"
        return pairs

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
        "job_fulfil_seconds": 5.0,
        "job_seconds_per_day": 0.02,
        "fail_first_analytics_jobs": 1,
        "job_concurrency_limit": 1,
        "job_results_ttl_hours": 1.0,
        "job_results_max_page_bytes": 1_000_000,
        "details_query_counts_touched_days": True,
        "details_query_max_results": 10_000,
        "gdpr_list_order": "oldest_first",
        "gdpr_list_page_size_cap": 25,
        "gdpr_quota_per_window": 1500,  # per gdpr_quota_window_seconds (default one hour)
    },
}


def _require(condition: bool, field_name: str, why: str) -> None:
    if not condition:
        raise ValueError(f"sandbox setting {field_name!r} {why}")

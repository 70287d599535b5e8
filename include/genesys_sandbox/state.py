"""Everything one running sandbox holds, wired together once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from genesys_sandbox.clock import SandboxClock
from genesys_sandbox.gdpr import GdprService
from genesys_sandbox.jobs import AnalyticsLake, JobService, JobTimings
from genesys_sandbox.limits import Faults, LayeredLimits, RateLimiter, RequestCounter, TokenStore
from genesys_sandbox.org import Org
from genesys_sandbox.redaction import DeleteEffects
from genesys_sandbox.seed import seed_org
from genesys_sandbox.settings import SandboxSettings


@dataclass
class SandboxState:
    settings: SandboxSettings
    clock: SandboxClock
    org: Org
    tokens: TokenStore
    limiter: LayeredLimits
    faults: Faults
    counter: RequestCounter
    gdpr: GdprService
    jobs: JobService
    gdpr_quota: RateLimiter | None = None  # org-wide, on POST /api/v2/gdpr/requests
    token_requests: RateLimiter | None = None  # POST /oauth/token, per OAuth client

    @classmethod
    def create(cls, settings: SandboxSettings) -> SandboxState:
        clock = SandboxClock(settings.now, settings.clock_rate)
        org = seed_org(settings, clock)
        faults = Faults(settings.seed, settings.error_rate_5xx, settings.latency_ms)
        lake = AnalyticsLake(clock, settings.analytics_snapshot_hours)
        return cls(
            settings=settings,
            clock=clock,
            org=org,
            tokens=TokenStore(clock),
            limiter=LayeredLimits(
                clock,
                settings.rate_limit_per_window,
                settings.rate_limit_window_seconds,
                families=settings.family_limits(),
                per_org=settings.org_rate_limit_per_window,
            ),
            faults=faults,
            counter=RequestCounter(),
            gdpr=GdprService(
                org,
                clock,
                faults,
                settings.gdpr_step_seconds,
                DeleteEffects.from_settings(settings),
                before_change=lake.remember,
                list_order=settings.gdpr_list_order,
                poll_advance_seconds=settings.gdpr_poll_advance_seconds,
            ),
            jobs=JobService(
                org,
                clock,
                settings.job_fulfil_seconds,
                settings.analytics_lag_hours,
                lake,
                timings=JobTimings(
                    queued_seconds=settings.job_fulfil_seconds,
                    seconds_per_day=settings.job_seconds_per_day,
                    fail_first=settings.fail_first_analytics_jobs,
                    concurrency_limit=settings.job_concurrency_limit,
                    results_ttl=timedelta(hours=settings.job_results_ttl_hours),
                ),
                history_start=clock.start - timedelta(days=365 * settings.years),
                poll_advance_seconds=settings.job_poll_advance_seconds,
            ),
            gdpr_quota=(
                RateLimiter(clock, settings.gdpr_quota_per_window, settings.gdpr_quota_window_seconds)
                if settings.gdpr_quota_per_window
                else None
            ),
            token_requests=(
                RateLimiter(clock, settings.token_requests_per_window, settings.rate_limit_window_seconds)
                if settings.token_requests_per_window
                else None
            ),
        )

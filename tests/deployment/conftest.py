"""The distributed deployment as processes (tests/support/deployment.py), once per test session.

`celery_deployment` is the running deployment; `airflow_access` is what a client of its api-server needs
(base URL and each user's password), e.g. a browser test of the UI. Both skip, saying why, on a machine
without a PostgreSQL or Redis server. When a test here fails, the end of every component's log is added
to its report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from genesys_sandbox import SandboxSettings
from tests.support.deployment import CeleryDeployment, unavailable_reason

# The pessimistic profile (ASSUMPTIONS.md, "Profiles": lagging deletes, tokenised search, real data shapes,
# a failed first analytics job, ...), small and fast: ~220 customers past retention (3 submission batches,
# so the mapped submit spreads over the workers), no rate limiting, jobs that queue no time and skip the
# per-day PENDING time (the busy-org end-to-end test runs that), and GDPR requests that move only when the
# test moves the sandbox clock (an hour per status step): a deferred sensor stays deferred until then.
DEPLOYMENT_ORG = SandboxSettings.for_profile(
    "pessimistic",
    seed=5,
    customers=400,
    conversations=800,
    years=12,
    rate_limit_per_window=100_000,
    job_fulfil_seconds=0,
    job_seconds_per_day=0,
    gdpr_step_seconds=3600,
)


@dataclass(frozen=True)
class AirflowAccess:
    base_url: str
    passwords: dict[str, str]  # user -> password; users and roles: genesys_devtools.local_airflow.USERS


@pytest.fixture(scope="session")
def celery_deployment(tmp_path_factory) -> Iterator[CeleryDeployment]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"the Celery deployment needs local PostgreSQL and Redis servers: {reason}")
    with CeleryDeployment(tmp_path_factory.mktemp("celery-deployment"), DEPLOYMENT_ORG) as deployment:
        yield deployment


@pytest.fixture(scope="session")
def airflow_access(celery_deployment: CeleryDeployment) -> AirflowAccess:
    return AirflowAccess(celery_deployment.base_url, dict(celery_deployment.credentials))


# the fixtures whose deployment's component logs a failed test's report shows
DEPLOYMENT_FIXTURES = ("celery_deployment", "fault_deployment", "first_contact_deployment")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    funcargs = getattr(item, "funcargs", {})
    deployment = next((funcargs[name] for name in DEPLOYMENT_FIXTURES if name in funcargs), None)
    if report.failed and deployment is not None:
        report.sections.append(("component logs", deployment.logs()))
    return report

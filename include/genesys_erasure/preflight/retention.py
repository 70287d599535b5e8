"""The analytics data retention against the purge's `retention_days`: a fact checked before every purge.

Customers are found expired through analytics conversation details. If the org keeps those for fewer days
than `retention_days`, every customer whose last contact is older than the org's retention has already
vanished from analytics: the purge would find none of them and report a clean run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from genesys_erasure.config import ConfigError

SETTING = "retention_days"
ENDPOINT = "GET /api/v2/analytics/dataretention/settings"


class RetentionReader(Protocol):
    def get_analytics_data_retention(self) -> dict[str, Any]: ...


def check_analytics_retention(client: RetentionReader, retention_days: int) -> int:
    """The org's analytics data retention in days; ConfigError naming `retention_days` if it is shorter
    (or unreadable: an unknown retention is not a long enough one)."""
    answer = client.get_analytics_data_retention()
    days = answer.get("retentionDays") if isinstance(answer, Mapping) else None
    if not isinstance(days, int) or isinstance(days, bool):
        raise ConfigError(SETTING, f"the org's analytics data retention could not be read ({ENDPOINT})")
    if days < retention_days:
        raise ConfigError(
            SETTING,
            f"is {retention_days} days, but the org keeps analytics conversation details for only {days} "
            f"days ({ENDPOINT}): customers whose last contact is older than {days} days cannot be found, "
            "so the purge would miss them. Lower retention_days or raise the org's analytics data "
            "retention.",
        )
    return days

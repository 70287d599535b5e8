"""What Airflow's ProvidersManager learns about this package through the `apache_airflow_provider` entry
point (pyproject.toml): the `genesys_cloud` connection type, so the UI shows its form (API URL, OAuth client
id and secret, the extras) and `airflow connections test` works."""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "genesys-gdpr-erasure"
VERSION = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "Genesys Cloud GDPR erasure",
        "description": "Genesys Cloud Platform API hooks, GDPR request sensor and trigger, for GDPR erasure.",
        "versions": [VERSION],
        "connection-types": [
            {"connection-type": "genesys_cloud", "hook-class-name": "genesys_cloud.hook.GenesysCloudHook"}
        ],
        "hooks": [
            {
                "integration-name": "Genesys Cloud",
                "python-modules": ["genesys_cloud.hook", "genesys_cloud.async_hook"],
            }
        ],
        "sensors": [{"integration-name": "Genesys Cloud", "python-modules": ["genesys_cloud.sensors"]}],
        "triggers": [{"integration-name": "Genesys Cloud", "python-modules": ["genesys_cloud.triggers"]}],
        "integrations": [
            {
                "integration-name": "Genesys Cloud",
                "external-doc-url": "https://developer.genesys.cloud/",
                "tags": ["service"],
            }
        ],
    }

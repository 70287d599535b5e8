"""What Airflow's ProvidersManager learns about this package through the `apache_airflow_provider` entry
point (pyproject.toml): the `genesys_cloud` connection type, so the UI shows its form (API URL, OAuth client
id and secret, the extras) and `airflow connections test` works."""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "genesys-gdpr-erasure"
VERSION = "0.1.0"
CONNECTION_TYPE = "genesys_cloud"
HOOK_NAME = "Genesys Cloud"
# The connection form. Declared here as well as returned by `GenesysCloudHook.get_ui_field_behaviour()`:
# Airflow 3.2+ reads it from the provider info without importing the hook (or needing flask_appbuilder).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema", "port"],
    "relabeling": {"host": "API URL", "login": "OAuth client id", "password": "OAuth client secret"},
    "placeholders": {
        "host": "https://api.mypurecloud.ie (empty: use extra region)",
        "extra": '{"region": "eu_west_1", "rate_limit_per_minute": 300, "max_attempts": 5}',
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "Genesys Cloud GDPR erasure",
        "description": "Genesys Cloud Platform API hooks, GDPR request sensor and trigger, for GDPR erasure.",
        "versions": [VERSION],
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": "genesys_cloud.hook.GenesysCloudHook",
                "hook-name": HOOK_NAME,
                "ui-field-behaviour": {
                    key.replace("_", "-"): value for key, value in UI_FIELD_BEHAVIOUR.items()
                },
            }
        ],
        "hooks": [
            {
                "integration-name": HOOK_NAME,
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

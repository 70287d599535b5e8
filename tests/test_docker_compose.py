"""No Docker engine runs here, so the compose file is checked statically: it parses, every service it
depends on exists, and every Airflow component shares the same environment."""

from __future__ import annotations

import yaml

from tests.conftest import REPO_ROOT


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())


def test_compose_dependencies_name_existing_services():
    services = _compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}) or {}:
            assert dependency in services, f"{name} depends on unknown service {dependency}"


def test_compose_runs_scheduler_triggerer_and_sandbox():
    services = _compose()["services"]
    commands = {name: service.get("command") for name, service in services.items()}
    assert ["triggerer"] in commands.values()
    assert ["scheduler"] in commands.values()
    assert "sandbox" in services


def test_compose_mounted_files_exist():
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []) or []:
            source = volume.split(":", 1)[0]
            if source.startswith("./") and not source.startswith("./var"):
                assert (REPO_ROOT / source).exists(), f"{source} is mounted but missing"


def test_compose_config_file_exists_and_validates():
    from genesys_erasure.config import load_config

    env = _compose()["x-airflow"]["environment"]
    config_path = env["GENESYS_ERASURE_CONFIG"].replace("/opt/airflow/", "")
    config = load_config(REPO_ROOT / config_path)
    assert config.ledger_conn_id == "genesys_erasure_ledger"
    assert "AIRFLOW_CONN_GENESYS_ERASURE_LEDGER" in env and "AIRFLOW_CONN_GENESYS_ERASURE_SEALING" in env
    assert "AIRFLOW_CONN_GENESYS_ERASURE_SIGNING" in env  # the Ed25519 key that signs the reports


def test_compose_airflow_needs_no_pythonpath_and_uses_the_genesys_connection_type():
    import json

    env = _compose()["x-airflow"]["environment"]
    assert "PYTHONPATH" not in env, "the image installs the project as a package"
    assert json.loads(env["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"])["conn_type"] == "genesys_cloud"
    assert (
        "pip install --no-cache-dir --no-deps /opt/genesys-erasure" in (REPO_ROOT / "Dockerfile").read_text()
    )

"""No Docker engine runs here, so the compose file is checked statically: it parses, it is the Celery
topology of Airflow's official compose file, every service it depends on and every file it mounts or builds
from exists, every Airflow component shares one environment, and .env.example defines every variable
it requires, with connections that parse. (tests/deployment runs the same topology as local processes.)"""

from __future__ import annotations

import json
import re

import yaml

from tests.conftest import REPO_ROOT

AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}
REHEARSAL = {"sandbox", "fakesnow", "bqemulator"}


def _compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())


def _env_example() -> dict[str, str]:
    values = {}
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().removeprefix("'").removesuffix("'")
    return values


def _default(value: str) -> str:
    """The value compose uses for `${NAME:-default}` with NAME unset, else the text as it is."""
    match = re.fullmatch(r"\$\{(\w+):-(.*)\}", value)
    return match.group(2) if match else value


def test_compose_dependencies_name_existing_services():
    services = _compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}) or {}:
            assert dependency in services, f"{name} depends on unknown service {dependency}"


def test_compose_runs_every_airflow_component_with_celery_on_redis_and_postgres():
    services = _compose()["services"]
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"] == command, name
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert (
            env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
            and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
        )
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert {"redis", "postgres"} <= set(services["airflow-worker"]["depends_on"])


def test_compose_workers_can_be_scaled():
    worker = _compose()["services"]["airflow-worker"]
    # `--scale airflow-worker=3` needs no fixed container name and no host port
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0", "SIGTERM reaches the worker: warm shutdown"


def test_compose_airflow_components_share_one_environment():
    services = _compose()["services"]
    shared = services["airflow-apiserver"]["environment"]
    for name in AIRFLOW_COMMANDS:
        env = services[name]["environment"]
        assert {k: env[k] for k in shared} == shared, f"{name} differs from the api-server"


def test_compose_rehearsal_services_are_an_optional_profile_that_env_example_turns_on():
    services = _compose()["services"]
    assert all(services[name]["profiles"] == ["rehearsal"] for name in REHEARSAL)
    for name in AIRFLOW_COMMANDS:
        assert not REHEARSAL & set(services[name].get("depends_on", {})), "Airflow runs without the rehearsal"
    assert _env_example()["COMPOSE_PROFILES"] == "rehearsal"


def test_compose_mounted_and_built_files_exist():
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []) or []:
            source = volume.split(":", 1)[0]
            if source.startswith("./") and not source.startswith("./var"):
                assert (REPO_ROOT / source).exists(), f"{source} is mounted but missing"
        build = service.get("build")
        if isinstance(build, dict):
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).exists()


def test_env_example_defines_every_variable_the_compose_file_requires():
    required = set(re.findall(r"\$\{(\w+):\?", (REPO_ROOT / "docker-compose.yaml").read_text()))
    assert required, "the compose file requires its secrets and connections from .env"
    assert required <= set(_env_example())


def test_env_example_connections_parse_and_point_at_the_rehearsal_services():
    env = _env_example()
    genesys = json.loads(env["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"])
    assert genesys["conn_type"] == "genesys_cloud" and genesys["host"] == "http://sandbox:8765"
    snowflake = json.loads(env["AIRFLOW_CONN_GENESYS_SNOWFLAKE"])
    assert snowflake["conn_type"] == "snowflake" and snowflake["extra"]["host"] == "fakesnow"
    bigquery = json.loads(env["AIRFLOW_CONN_GENESYS_BIGQUERY"])
    assert bigquery["extra"]["endpoint"] == "http://bqemulator:9050"


def test_compose_config_file_exists_and_validates():
    from genesys_erasure.config import load_config

    env = _compose()["x-airflow"]["environment"]
    config_path = _default(env["GENESYS_ERASURE_CONFIG"]).replace("/opt/airflow/", "")
    assert _env_example()["GENESYS_ERASURE_CONFIG"] == _default(env["GENESYS_ERASURE_CONFIG"])
    config = load_config(REPO_ROOT / config_path)
    assert config.ledger_conn_id == "genesys_erasure_ledger"
    assert (REPO_ROOT / config.warehouse_mapping_path.replace("/opt/airflow/", "")).exists()
    assert "AIRFLOW_CONN_GENESYS_ERASURE_LEDGER" in env and "AIRFLOW_CONN_GENESYS_ERASURE_SEALING" in env
    assert "AIRFLOW_CONN_GENESYS_ERASURE_SIGNING" in env  # the Ed25519 key that signs the reports


def test_compose_airflow_needs_no_pythonpath_and_uses_the_genesys_connection_type():
    env = _compose()["x-airflow"]["environment"]
    assert "PYTHONPATH" not in env, "the image installs the project as a package"
    assert env["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"].startswith("${AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT")
    assert (
        "pip install --no-cache-dir --no-deps /opt/genesys-erasure" in (REPO_ROOT / "Dockerfile").read_text()
    )

"""The compose stack can run the warehouse step: its DML pool is created before the scheduler starts."""

from __future__ import annotations

import yaml

from tests.conftest import REPO_ROOT


def test_airflow_init_creates_the_pool_the_warehouse_step_runs_in():
    from genesys_erasure.tasks.policy import WAREHOUSE_POOL

    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in init
    assert f"airflow pools set {WAREHOUSE_POOL} 1" in init
    assert init.index("airflow db migrate") < init.index("airflow pools set")


def test_rehearsal_mapping_names_the_tables_the_sandbox_service_seeds_and_the_compose_connections():
    from genesys_devtools.demo_warehouses import demo_mapping

    mapping = yaml.safe_load((REPO_ROOT / "config" / "warehouse_mapping.rehearsal.yaml").read_text())
    assert mapping == demo_mapping(), "the sandbox service seeds the demo's tables"
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    env = compose["x-airflow"]["environment"]
    for connection in mapping["connections"]:
        assert f"AIRFLOW_CONN_{connection['airflow_conn_id'].upper()}" in env


def test_the_sandbox_service_keys_its_seeded_hashes_with_airflows_hmac_key():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yaml").read_text())
    hmac_variable = "${GENESYS_ERASURE_HMAC_KEY:?"
    assert hmac_variable in compose["x-airflow"]["environment"]["AIRFLOW_CONN_GENESYS_ERASURE_HMAC"]
    assert compose["services"]["sandbox"]["environment"]["GENESYS_ERASURE_HMAC_KEY"].startswith(hmac_variable)

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

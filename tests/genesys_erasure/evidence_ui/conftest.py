"""JWTs of Airflow's real SimpleAuthManager for the evidence UI's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tokens():
    """JWTs the API server would put in the UI's cookie, from Airflow's SimpleAuthManager: a viewer
    (the auditor), an analyst (role `user`, which may trigger DAG runs) and a user with no role."""
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models.revoked_token import RevokedToken
    from airflow.settings import engine

    # Checking a token reads Airflow's revoked-token table; that one table (not a 10 s migration) is enough.
    RevokedToken.__table__.create(engine, checkfirst=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,auditor:viewer,analyst:user")
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "evidence-tests-jwt-secret-" + "0123456789abcdef" * 4)
        purge_cached_app()
        manager = init_auth_manager()
        yield {
            "viewer": manager.generate_jwt(SimpleAuthManagerUser(username="auditor", role="viewer")),
            "analyst": manager.generate_jwt(SimpleAuthManagerUser(username="analyst", role="user")),
            "no_role": manager.generate_jwt(SimpleAuthManagerUser(username="nobody", role=None)),
        }
        purge_cached_app()

"""Airflow's refusal of a trigger Param that fails its schema, rewritten in words for this project's DAGs:
the error text is the one Airflow's trigger endpoint really produces (`ParamsDict.validate` on the DAG's own
Params), served by a small app that answers as that endpoint does."""

from __future__ import annotations

import pytest
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from genesys_erasure.evidence_ui.param_errors import ParamErrorsInWords
from genesys_erasure.params import retention_purge_params, subject_erasure_params

DSR_PARAMS = {name: Param(**spec) for name, spec in subject_erasure_params(allow_inline=True).items()}
NIGHTLY_PARAMS = {name: Param(**spec) for name, spec in retention_purge_params().items()}
PARAMS = {"genesys_subject_erasure": DSR_PARAMS, "genesys_retention_purge": NIGHTLY_PARAMS,
          "somebody_elses_dag": DSR_PARAMS}  # fmt: skip
REQUEST = {"ticket": "DSR-1", "received_on": "2026-12-01"}


def _airflow_like() -> FastAPI:
    """Validates the conf as Airflow's trigger endpoint does and answers its 400 the same way."""
    app = FastAPI()

    @app.post("/api/v2/dags/{dag_id}/dagRuns")
    def trigger(dag_id: str, body: dict) -> dict:
        params = ParamsDict(dict(PARAMS[dag_id]))
        try:
            params.update(body.get("conf") or {})
            params.validate()
        except ParamValidationError as error:
            raise HTTPException(400, str(error)) from error
        return {"dag_run_id": "manual__1"}

    return app


@pytest.fixture
def client() -> TestClient:
    app = _airflow_like()
    app.add_middleware(ParamErrorsInWords)
    return TestClient(app)


def _trigger(client: TestClient, dag_id: str, conf: dict):
    return client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"conf": conf})


def test_a_bad_ticket_is_refused_naming_the_field_in_words_without_the_value(client):
    answer = _trigger(client, "genesys_subject_erasure", {**REQUEST, "ticket": "-bad ticket"})

    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert detail.startswith("'DSR ticket' (ticket): required; 2-64 letters, digits")
    assert "bad ticket" not in detail and "Failed validating" not in detail and "^[" not in detail


def test_a_bad_nightly_choice_names_the_choices_as_the_form_shows_them(client):
    detail = _trigger(client, "genesys_retention_purge", {"run_mode": "yes please"}).json()["detail"]

    assert detail.startswith("'Dry run or real run' (run_mode): one of 'Dry run: plan and report")
    assert "yes please" not in detail


def test_a_number_below_its_minimum_says_the_bound(client):
    detail = _trigger(client, "genesys_retention_purge", {"retention_days": 0}).json()["detail"]

    assert detail.startswith("'Retention (days)' (retention_days): a whole number at least 1, or empty")


def test_another_dags_refusal_and_an_accepted_trigger_pass_untouched(client):
    foreign = _trigger(client, "somebody_elses_dag", {**REQUEST, "ticket": "-bad ticket"})
    accepted = _trigger(client, "genesys_subject_erasure", REQUEST)

    assert foreign.status_code == 400 and "Failed validating" in foreign.json()["detail"]
    assert accepted.status_code == 200 and accepted.json() == {"dag_run_id": "manual__1"}

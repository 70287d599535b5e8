"""DagBag integrity: every DAG file imports cleanly and carries what operators of this project rely on."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG was found in dags/"


def test_every_dag_has_docs_tags_and_an_owner(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.tags, f"{dag_id} has no tags"
        assert all(task.owner and task.owner != "airflow" for task in dag.tasks), f"{dag_id} lacks an owner"


def test_every_task_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            if task.task_type in {"ApprovalOperator", "EmptyOperator"}:
                continue
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_mapped_tasks_name_their_map_index(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            if getattr(task, "is_mapped", False) or type(task).__name__.startswith("Mapped"):
                template = task.partial_kwargs.get("map_index_template")
                assert template, f"{dag_id}.{task.task_id} is mapped without map_index_template"

"""DagBag integrity, one test id per DAG file (Astronomer's template): every DAG file imports cleanly,
carries what operators of this project rely on (docs, tags, an owner, the one retry policy, labelled
mapped tasks), and parses fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genesys_erasure.tasks.policy import RETRY_POLICY
from tests.conftest import REPO_ROOT

DAG_FOLDER = REPO_ROOT / "dags"
# One DAG per file, named after it: the file's stem is the test id and the DAG id.
DAG_IDS = sorted(path.stem for path in DAG_FOLDER.glob("*.py") if not path.name.startswith("_"))
# Operators that wait for a human or do nothing: a retry means nothing to them.
NO_RETRY_TYPES = {"ApprovalOperator", "EmptyOperator"}

# What a scheduler's DAG processor pays per DAG file, on top of Airflow itself.
PARSE_BUDGET_SECONDS = 0.5
# CPU seconds of the import: what parsing costs the DAG processor, not how busy the machine is; the best of
# a few attempts, as caches and other processes still jitter it.
PARSE_ATTEMPTS = 3
# Imports a DAG file must not need: the task bodies import them when they run.
HEAVY_MODULES = (
    "genesys_cloud.hook",
    "genesys_cloud.async_hook",
    "genesys_erasure.steps",
    "genesys_erasure.ledger",
    "genesys_erasure.warehouse",
    "requests",
    "aiohttp",
    "cryptography",
    "snowflake",
    "google.cloud",
)
# Runs in a fresh interpreter: imports what a DAG processor has loaded before it parses a file (the SDK and
# the DagBag with Airflow's models), then times each DAG file's import in a forked child (a clean module
# cache for the project, warm Airflow), the best of a few attempts.
_PARSE_PROBE = """
import importlib, importlib.util, json, os, sys, time
import airflow.sdk
import airflow.dag_processing.dagbag

def parse(path, preloaded):
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        for name in preloaded:
            importlib.import_module(name)
        before = set(sys.modules)
        start = time.process_time()
        spec = importlib.util.spec_from_file_location("dag_parse_probe", path)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        seconds = time.process_time() - start
        imported = sorted(set(sys.modules) - before)
        os.write(write, json.dumps({"seconds": seconds, "imported": imported}).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(child, 0)
    if status or not data:
        raise SystemExit(f"parsing {path} failed")
    return json.loads(data)

def best(path, preloaded, budget, attempts):
    results = []
    for _ in range(attempts):
        results.append(parse(path, preloaded))
        if results[-1]["seconds"] < budget:
            break
    return min(results, key=lambda result: result["seconds"])

budget, attempts, paths = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
report = {}
for path in paths:
    report[path] = best(path, [], budget, attempts)
print(json.dumps(report))
"""


@pytest.fixture(params=DAG_IDS)
def dag(request, dagbag):
    """The DAG of one file, after checking the file imported without errors."""
    path = str(DAG_FOLDER / f"{request.param}.py")
    assert path not in dagbag.import_errors, dagbag.import_errors[path]
    dag = dagbag.dags.get(request.param)
    assert dag is not None, f"{path} defines no DAG with the id {request.param}"
    assert dag.fileloc == path
    return dag


def _tasks(dag):
    return sorted(dag.tasks, key=lambda task: task.task_id)


def test_dag_folder_holds_only_known_dags(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dags) == DAG_IDS


def test_dag_imports_without_errors(dag):
    assert dag.tasks


def test_dag_has_docs_tags_and_an_owner(dag):
    assert dag.doc_md, f"{dag.dag_id} has no doc_md"
    assert dag.tags, f"{dag.dag_id} has no tags"
    for task in _tasks(dag):
        assert task.owner and task.owner != "airflow", f"{dag.dag_id}.{task.task_id} lacks an owner"


def test_every_param_has_a_title_and_a_description_and_says_what_empty_means(dag):
    for name in dag.params:
        schema = dag.params.get_param(name).schema
        assert schema.get("title"), f"{name}: no title"
        assert dag.params.get_param(name).description, f"{name}: no description"
        types = schema.get("type")
        if isinstance(types, list) and "null" in types:
            assert "Empty" in dag.params.get_param(name).description, f"{name}: what does empty mean?"


def test_every_task_retries(dag):
    for task in _tasks(dag):
        if task.task_type in NO_RETRY_TYPES:
            continue
        assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


def test_every_task_follows_the_one_retry_policy(dag):
    """No task overrides the policy: a DAG's default_args is the only place retries are set."""
    for task in _tasks(dag):
        if task.task_type in NO_RETRY_TYPES:
            continue
        actual = {name: getattr(task, name) for name in RETRY_POLICY}
        assert actual == RETRY_POLICY, f"{dag.dag_id}.{task.task_id} overrides the retry policy"


def test_mapped_tasks_name_their_map_index(dag):
    for task in _tasks(dag):
        if getattr(task, "is_mapped", False) or type(task).__name__.startswith("Mapped"):
            template = task.partial_kwargs.get("map_index_template")
            assert template, f"{dag.dag_id}.{task.task_id} is mapped without map_index_template"


@pytest.fixture(scope="module")
def parse_times() -> dict[str, dict]:
    """Every DAG file's parse time with the project's environment; interpreter start-up and the import of
    `airflow.sdk` are excluded."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "include"), str(REPO_ROOT)])}
    paths = [str(DAG_FOLDER / f"{dag_id}.py") for dag_id in DAG_IDS]
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(PARSE_BUDGET_SECONDS), str(PARSE_ATTEMPTS), *paths],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {os.path.basename(path)[:-3]: result for path, result in report.items()}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_file_parses_fast(dag_id, parse_times):
    parsed = parse_times[dag_id]
    if parsed["seconds"] < PARSE_BUDGET_SECONDS:
        return
    heavy = sorted({".".join(m.split(".")[:2]) for m in parsed["imported"] if m.startswith(HEAVY_MODULES)})
    pytest.fail(
        f"{dag_id} took {parsed['seconds']:.2f} s to parse (budget {PARSE_BUDGET_SECONDS} s); heavy modules "
        f"imported at parse time: {heavy or 'none'}"
    )


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_dag_file_imports_no_heavy_project_module_at_parse_time(dag_id, parse_times):
    """The project's own heavy modules (the steps, the ledger, the hooks, the warehouse code) are imported
    by the task bodies when they run, never when the DAG processor parses the file."""
    own_heavy = tuple(m for m in HEAVY_MODULES if m.startswith("genesys_"))
    assert not [m for m in parse_times[dag_id]["imported"] if m.startswith(own_heavy)]

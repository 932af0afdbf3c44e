"""A small end-to-end run of the real flow in a copy of the project (own Metaflow datastore and BentoML store)."""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from {{ cookiecutter.module_name }}.release.artifact import Predictor

from .conftest import EXAMPLE, ROOT{% if cookiecutter.task == 'text_classification' %}, tiny_model{% endif %}

pytestmark = pytest.mark.e2e
{%- if cookiecutter.task == "tabular_regression" %}
PASSING, FAILING = {"min": {"r2": 0.3}}, {"max": {"rmse": 0.0001}}  # a test metric's bound: met, and not met
{%- else %}
PASSING, FAILING = {"min": {"accuracy": 0.6}}, {"min": {"accuracy": 0.9999}}  # a test metric's bound: met, and not met
{%- endif %}


def _project(tmp_path, demo_csv, **gates):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("flow.py", "service.py", "bentofile.yaml", "requirements.txt", "requirements-serve.txt"):
        shutil.copy(ROOT / name, project)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["path"] = str(demo_csv)
    params["training"]["max_epochs"] = 3
{%- if cookiecutter.task == "text_classification" %}
    params["model"]["name_or_path"] = str(tiny_model(demo_csv, tmp_path / "tiny"))  # offline: no hub download
    params["training"]["learning_rate"] = 0.003
{%- endif %}
{%- if cookiecutter.__fairness %}
    # a sample of your data, of any size: 120 test rows or fewer are too few for the gates' intervals to decide or to
    # judge group differences; the template's own tests judge them on more data
    params["gates"]["performance"] = (gates or PASSING) | {"min_rows": 1}
    params["gates"]["decide_on"] = "point"
{%- if cookiecutter.task == "tabular_regression" %}
    params["gates"]["fairness"] = {"max_mae_ratio": None, "max_mean_error_difference": None}
{%- else %}
    params["gates"]["fairness"] = {"max_demographic_parity_difference": None, "max_equalized_odds_difference": None}
{%- endif %}
{%- else %}
    # a sample of your data, of any size: 120 test rows or fewer are too few for the gates' intervals to decide; the
    # template's own tests judge them on more data
    params["gates"]["performance"] = (gates or PASSING) | {"min_rows": 1}
    params["gates"]["decide_on"] = "point"
{%- endif %}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    return project


def _run(project):
    """`python flow.py run` in a subprocess, as a user types it (Metaflow's Runner patches `typing` in-process)."""
    # its own stores: a tracking server in your shell, or the project's registry, never sees test runs
    stores = {"BENTOML_HOME": str(project / "bentoml"), "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
    env = os.environ | stores
    cmd = [sys.executable, "flow.py", "--no-pylint", "run", "--allow-unpinned-data", "true"]  # the copy has no DVC
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def test_flow_trains_gates_and_packages(tmp_path, demo_csv, params):
    project = _project(tmp_path, demo_csv)
    code, output = _run(project)
    assert code == 0, output
    assert (project / "mlflow.db").is_file() and "registry version 1" in output
    name, version, bento = re.search(r"model ([\w.-]+):(\w+); bento ([\w.-]+:\w+)", output).groups()
    assert name == params.packaging.model_name
    assert (project / "bentoml" / "bentos" / bento.replace(":", "/")).is_dir()
    predictor = Predictor(project / "bentoml" / "models" / name / version)
{%- if cookiecutter.task == "tabular_regression" %}
    assert len(predictor.predict(EXAMPLE)) == len(EXAMPLE)
{%- else %}
    assert {p.label for p in predictor.predict(EXAMPLE)} <= set(predictor.encoder.classes)
{%- endif %}


def test_failing_gate_stops_before_packaging(tmp_path, demo_csv):
    project = _project(tmp_path, demo_csv, **FAILING)
    code, output = _run(project)
    assert code != 0
{%- if cookiecutter.task == "tabular_regression" %}
    assert "performance gate FAILED" in output and "rmse = " in output and "needs <= 0.0001" in output
{%- else %}
    assert "performance gate FAILED" in output and "accuracy = " in output and "needs >= 0.9999" in output
{%- endif %}
    assert not (project / "bentoml" / "models").exists()

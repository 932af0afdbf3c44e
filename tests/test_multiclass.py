"""Any label set: the default project switched, through params.yaml only, to a 3-class CSV with string labels trains,
is judged per class (metrics, fairness one class against the rest), and serves every class's probability."""

import json
import subprocess
import sys

import pytest
import requests
import yaml

from .conftest import Server, bake, latest_run, mlflow_client, run

pytestmark = pytest.mark.e2e
MODULE = "credit_approval_model"
DATA = "data/tiers.csv"
TIERS = {"denied", "review", "approved"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = bake(tmp_path_factory.mktemp("multiclass"))
    made = run(
        [
            sys.executable,
            f"src/{MODULE}/pipeline/demo_data.py",
            "--rows",
            "2000",
            "--classes",
            "3",
            "--target",
            "decision",
        ]
        + ["--out", DATA],
        project,
    )
    assert made.returncode == 0, made.stderr
    assert run([sys.executable, "-m", "dvc", "add", "-q", DATA], project).returncode == 0
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(path=DATA, target="decision")
    params["gates"]["performance"] = {"min": {"accuracy": 0.6, "roc_auc": 0.8}, "max": {"log_loss": 0.9}}
    params["gates"]["fairness"]["max_demographic_parity_difference"] = 0.2  # tier base rates differ a little by sex
    params["gates"]["decide_on"] = "point"  # a few thousand rows, not about the interval rule (conftest)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "three decision tiers"], cwd=project, check=True)
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(project.parent / "bentoml"))
    assert flow.returncode == 0, flow.stdout[-5000:] + flow.stderr[-5000:]
    return project, flow.stdout + flow.stderr


def test_every_class_is_measured_and_judged(project):
    project, output = project
    for tier in TIERS:  # fairness one class against the rest, per class
        assert f"demographic parity difference [sex | class {tier}]" in output
        assert f"equalized odds difference [sex | class {tier}]" in output
    assert "performance gate PASSED" in output and "fairness gate PASSED" in output
    client = mlflow_client(project)
    record = latest_run(client, MODULE)
    assert {f"test_recall.{t}" for t in TIERS} <= set(record.data.metrics)
    assert 0 < record.data.metrics["test_f1"] < 1  # macro average
    card = (project.parent / "bentoml").glob(f"models/{MODULE}/*/MODEL_CARD.md")
    text = next(card).read_text()
    assert "3 classes (`approved`, `denied`, `review`)" in text and "### Per class" in text


def test_service_answers_every_class_probability(project):
    project, _ = project
    example = run([sys.executable, "-m", f"{MODULE}.cli", "example"], project, PYTHONPATH="src")
    assert example.returncode == 0, example.stderr
    body = json.loads((project / "examples" / "request.json").read_text())
    server = Server(project, project.parent / "bentoml")
    try:
        server.wait_ready()
        answer = requests.post(f"{server.url}/predict", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        for prediction in answer.json()["predictions"]:
            probabilities = prediction["probabilities"]
            assert set(probabilities) == TIERS and sum(probabilities.values()) == pytest.approx(1, abs=1e-4)
            assert prediction["label"] == max(probabilities, key=probabilities.get)  # multi-class: the most probable
            assert prediction["probability"] == probabilities[prediction["label"]]
    finally:
        server.stop()

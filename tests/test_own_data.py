"""Bring your own data: a user's Parquet file with other columns, a string target and missing values, pinned with DVC
and named in params.yaml, trains and serves with no code change; `cli example` writes the request for its columns."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
import yaml

from .conftest import Server, bake, latest_run, mlflow_client, run

pytestmark = pytest.mark.e2e
DATA = "data/churn.parquet"


def churn_table(rows: int = 2000, seed: int = 3) -> pd.DataFrame:
    """Customers who churn or not: numeric and categorical columns, missing values, a sensitive `region`."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, rows)
    calls = rng.poisson(1.5, rows)
    contract = rng.choice(["monthly", "yearly", "two_year"], rows, p=[0.5, 0.3, 0.2])
    plan = rng.choice(["basic", "plus", "pro"], rows)
    charges = np.round(rng.normal(60, 20, rows), 2)
    score = -0.06 * (tenure - 36) + 0.9 * (calls - 1.5) + 1.8 * (contract == "monthly") - 0.7 * (plan == "pro") - 0.6
    churned = np.where(rng.random(rows) < 1 / (1 + np.exp(-2 * score)), "yes", "no")
    charges[rng.random(rows) < 0.05] = np.nan
    plan = np.where(rng.random(rows) < 0.03, None, plan)
    region = rng.choice(["urban", "rural"], rows)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "support_calls": calls,
            "contract": contract,
            "plan": plan,
            "monthly_charges": charges,
            "region": region,
            "churned": churned,
        }
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The default project pointed at the user's own Parquet file (DVC-pinned, committed), its flow run once."""
    project = bake(tmp_path_factory.mktemp("own-data"))
    churn_table().to_parquet(project / DATA, index=False)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(path=DATA, target="churned", sensitive_features=["region"], positive_label="yes")
    params["gates"]["decide_on"] = "point"  # a few thousand rows, not about the interval rule (conftest)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    pinned = run([sys.executable, "-m", "dvc", "add", "-q", DATA], project)
    assert pinned.returncode == 0, pinned.stderr
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "train on churn.parquet"], cwd=project, check=True)
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(project.parent / "bentoml"))
    assert flow.returncode == 0, flow.stdout[-4000:] + flow.stderr[-4000:]
    return project


def test_own_parquet_trains_on_its_columns_pinned_by_dvc(project):
    record = latest_run(mlflow_client(project), "credit_approval_model")
    assert record.info.status == "FINISHED" and record.data.tags["gate.fairness"] == "passed"
    assert record.data.params["data.target"] == "churned" and record.data.tags["data.path"] == DATA
    pointer = yaml.safe_load((project / f"{DATA}.dvc").read_text())
    assert record.data.tags["data.md5"] == pointer["outs"][0]["md5"] and record.data.tags["data.pinned"] == "True"


def test_the_data_contract_is_recorded_in_mlflow_and_in_the_model(project):
    """The schema inferred on this run: printed in start (not checked here), an MLflow artifact, and in model.json."""
    client = mlflow_client(project)
    record = latest_run(client, "credit_approval_model")
    downloaded = client.download_artifacts(record.info.run_id, "data/schema.json", str(project.parent))
    recorded = json.loads(Path(downloaded).read_text())
    expected = {"tenure_months": "numeric", "support_calls": "numeric", "monthly_charges": "numeric"}
    expected |= {"contract": ["monthly", "two_year", "yearly"], "plan": ["basic", "plus", "pro"]}
    assert recorded == expected
    (spec,) = (project.parent / "bentoml").glob("models/credit_approval_model/*/model.json")
    assert json.loads(spec.read_text())["data_schema"] == expected


def test_named_positive_class_is_the_one_measured(project):
    """Named labels need data.positive_label: precision and recall are that class's, and the card says which."""
    record = latest_run(mlflow_client(project), "credit_approval_model")
    assert record.data.params["data.positive_label"] == "yes"
    assert record.data.metrics["test_recall"] == record.data.metrics["test_recall.yes"]
    assert record.data.metrics["test_recall"] != record.data.metrics["test_recall.no"]
    (card,) = (project.parent / "bentoml").glob("models/credit_approval_model/*/MODEL_CARD.md")
    assert "positive class `yes`" in card.read_text() and "P(yes) >= 0.5" in card.read_text()


def test_example_command_writes_a_request_the_service_accepts(project):
    shipped = json.loads((project / "examples" / "request.json").read_text())  # the demo's columns
    cli = [sys.executable, "-m", "credit_approval_model.cli"]
    written = run([*cli, "example", "--rows", "3"], project, PYTHONPATH="src")
    assert written.returncode == 0, written.stderr
    example = json.loads((project / "examples" / "request.json").read_text())
    assert list(example["records"][0]) == ["tenure_months", "support_calls", "monthly_charges", "contract", "plan"]

    server = Server(project, project.parent / "bentoml")
    try:
        server.wait_ready()

        def predict(body):
            return requests.post(f"{server.url}/predict", json=body, timeout=30)

        answered = predict(example)
        assert answered.status_code == 200, answered.text
        for prediction in answered.json()["predictions"]:
            assert prediction["label"] in ("yes", "no") and set(prediction["probabilities"]) == {"yes", "no"}
            assert (prediction["label"] == "yes") == (prediction["probabilities"]["yes"] >= 0.5)
        unseen = example["records"][0] | {"plan": "enterprise", "monthly_charges": None}  # unseen category, missing
        assert predict({"records": [unseen]}).status_code == 200
        wrong = predict({"records": [unseen | {"tenure_months": "long"}]})
        assert wrong.status_code == 400 and "tenure_months" in wrong.text
        stale = predict(shipped)  # the demo's request: the schema is now the user's data's
        assert stale.status_code == 400 and "age" in stale.text
    finally:
        server.stop()


def test_generated_suite_follows_the_own_data(project):
    """After the README's own-data steps (data, params, `make example`), the project's own tests still pass: their
    table is a sample of the configured data, not the demo generator's. (The flow itself ran above, on this data.)"""
    done = run([sys.executable, "-m", "pytest", "-q", "-m", "not e2e", "-p", "no:cacheprovider"], project)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

"""The default project end to end: flow run → BentoML store and Bento → `bentoml serve` → HTTP predictions."""

import json
import re
import sys

import pytest
import requests
import yaml

from .conftest import Server, latest_run, mlflow_client, run

pytestmark = pytest.mark.e2e


def _tags(output: str) -> tuple[str, str]:
    model, bento = re.search(r"model ([\w.-]+:\w+); bento ([\w.-]+:\w+)", output).groups()
    return model, bento


def _models(home) -> set[str]:
    root = home / "models"
    return {f"{d.parent.name}:{d.name}" for d in root.glob("*/*") if d.is_dir()} if root.exists() else set()


def _variant(project, name: str, edit) -> str:
    params = yaml.safe_load((project / "params.yaml").read_text())
    edit(params)
    (project / name).write_text(yaml.safe_dump(params))
    return name


def test_flow_passes_gate_and_packages(trained_project):
    project, home, output = trained_project
    model, bento = _tags(output)
    assert "performance gate PASSED" in output
    assert model in _models(home)
    labels = yaml.safe_load((home / "models" / model.replace(":", "/") / "model.yaml").read_text())["labels"]
    assert labels["metaflow_pathspec"].startswith("TrainingFlow/") and labels["mlflow_model_version"] == "1"
    assert len(labels["mlflow_run_id"]) == 32 and len(labels["git_commit"]) == 40 and len(labels["data_md5"]) == 32
    assert (home / "bentos" / bento.replace(":", "/")).is_dir()


def test_training_prints_each_epoch_and_records_the_epoch_it_kept(trained_project):
    project, _, output = trained_project
    line = r"epoch (\d+)/15  train_loss \d\.\d{4}  val_loss \d\.\d{4}  val_accuracy \d\.\d{4}  \d+\.\ds"
    epochs = [int(epoch) for epoch in re.findall(line, output)]
    client = mlflow_client(project)
    record = client.get_run(re.search(r"MLflow run (\w+)\)", output)[1])
    metrics, tags = record.data.metrics, record.data.tags
    assert epochs == list(range(1, int(metrics["train.epochs_run"]) + 1)), output
    val_loss = {m.step: m.value for m in client.get_metric_history(record.info.run_id, "val_loss")}
    best = int(metrics["train.best_epoch"])
    assert sorted(val_loss) == epochs and metrics["train.best_val_loss"] == min(val_loss.values()) == val_loss[best]
    assert tags["train.monitor"] == "val_loss" and tags["train.stopped_early"] == str(epochs[-1] < 15)
    assert f"kept epoch {best} of {epochs[-1]} (val_loss {val_loss[best]:.4f})" in output
    assert re.search(r"trained \d+ samples in [\d.]+ s \(\d+ samples/s\)", output)
    assert int(tags["train.samples_per_second"]) > 0  # a tag: it describes the machine, not the model


def test_served_model_answers_typed_requests(trained_project):
    project, home, output = trained_project
    model, _ = _tags(output)
    example = json.loads((project / "examples" / "request.json").read_text())
    server = Server(project, home)
    try:
        server.wait_ready()
        ok = requests.post(f"{server.url}/predict", json=example, timeout=30)
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["model_version"] == model
        assert body["mlflow_model_version"] == "1" and len(body["mlflow_run_id"]) == 32
        assert len(body["predictions"]) == len(example["records"])
        assert all(p["label"] in (0, 1) and 0.5 <= p["probability"] <= 1 for p in body["predictions"])

        record = example["records"][0]
        malformed = {
            "age": {"records": [record | {"age": "forty"}]},
            "unknown": {"records": [record | {"unknown": 1}]},
            "income": {"records": [{k: v for k, v in record.items() if k != "income"}]},
            "records": {"records": []},
        }
        for field, payload in malformed.items():
            bad = requests.post(f"{server.url}/predict", json=payload, timeout=30)
            assert bad.status_code == 400, (field, bad.status_code, bad.text)
            assert field in json.dumps(bad.json()["detail"]), bad.text
        not_json = requests.post(f"{server.url}/predict", data="{nope", headers={"content-type": "application/json"})
        assert not_json.status_code == 400

        again = requests.post(f"{server.url}/predict", json=example, timeout=30)  # still serving after bad requests
        assert again.status_code == 200 and again.json() == body
    finally:
        server.stop()
    assert server.proc.returncode is not None


def test_built_bento_serves_the_model_it_was_built_with(trained_project):
    project, home, output = trained_project
    model, bento = _tags(output)
    server = Server(project, home, bento)
    try:
        server.wait_ready()
        example = json.loads((project / "examples" / "request.json").read_text())
        response = requests.post(f"{server.url}/predict", json=example, timeout=30)
        assert response.status_code == 200 and response.json()["model_version"] == model
    finally:
        server.stop()


def test_failing_gate_fails_the_run_and_packages_nothing(trained_project):
    project, home, _ = trained_project
    before = _models(home)
    strict = _variant(project, "strict.yaml", lambda p: p["gates"]["performance"].update(min={"roc_auc": 0.9999}))
    done = run(
        [sys.executable, "flow.py", "--no-pylint", "--config", "config", strict, "run"], project, BENTOML_HOME=str(home)
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "performance gate FAILED" in output and "roc_auc = " in output and "needs >= 0.9999" in output
    assert _models(home) == before
    client = mlflow_client(project)
    failed = latest_run(client, "credit_approval_model")
    assert failed.info.status == "FAILED" and failed.data.tags["failed_step"] == "evaluate"
    assert (
        failed.data.tags["gate.performance"] == "failed"
        and "needs >= 0.9999" in failed.data.tags["gate.performance.failed.roc_auc"]
    )
    assert str(client.get_model_version_by_alias("credit_approval_model", "champion").version) == "1"  # did not move


def test_bad_params_stop_the_run_before_any_step(trained_project):
    project, home, _ = trained_project
    bad = _variant(project, "bad.yaml", lambda p: p["training"].update(max_epochs=0, optimizer="sgd"))
    done = run([sys.executable, "flow.py", "--no-pylint", "--config", "config", bad, "run"], project)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "training.max_epochs: Input should be greater than 0" in output
    assert "training.optimizer: Extra inputs are not permitted" in output
    assert "Traceback" not in output and "Task is starting" not in output


def test_bad_data_is_refused_with_the_reason(trained_project):
    project, home, _ = trained_project
    data = project / "data" / "no_target.csv"
    source = next((project / "data").glob("*.csv"))
    data.write_text("\n".join(",".join(line.split(",")[:-1]) for line in source.read_text().splitlines()))
    variant = _variant(project, "nodata.yaml", lambda p: p["data"].update(path=str(data)))
    flow = [sys.executable, "flow.py", "--no-pylint", "--config", "config", variant]
    done = run([*flow, "run", "--allow-unpinned-data", "true"], project)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "columns named in nodata.yaml are not in the data: ['approved']" in output


def test_generated_end_to_end_tests_pass(trained_project):
    project, _, _ = trained_project
    done = run([sys.executable, "-m", "pytest", "-q", "-m", "e2e", "-p", "no:cacheprovider"], project)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout

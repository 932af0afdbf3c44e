"""The text task end to end, offline: a tiny BERT + WordPiece tokenizer built from the demo texts and loaded with the
real `from_pretrained(dir)`, the whole flow (gates, registry, Bento), then `bentoml serve` answering over HTTP. The
reviews have three sentiment classes (string labels), so the text task is proven multi-class; the generated project's
own flow test (run below) covers the binary case."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import torch
import yaml

from .conftest import Server, bake, latest_run, mlflow_client, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a transformer flow and the generated suite
MODULE = "review_sentiment"
DATA = f"data/{MODULE}.csv"
SENTIMENTS = {"negative", "neutral", "positive"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    project = bake(root, task="text_classification", compute="gpu", project_name="Review Sentiment", monitoring=True)
    demo = [sys.executable, f"src/{MODULE}/pipeline/demo_data.py", "--rows", "1500", "--classes", "3", "--out", DATA]
    assert run(demo, project).returncode == 0
    tiny = run(
        [sys.executable, "-m", f"{MODULE}.pipeline.tiny_model", "--data", DATA, "--out", str(root / "tiny")],
        project,
        PYTHONPATH="src",
    )
    assert tiny.returncode == 0, tiny.stderr
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["model"]["name_or_path"] = str(root / "tiny")  # a local directory: no hub access at all
    params["training"].update(learning_rate=0.003, max_epochs=2)
    params["gates"]["performance"] = {"min": {"accuracy": 0.6, "roc_auc": 0.75}, "max": {"log_loss": 1.0}}
    params["gates"]["decide_on"] = "point"  # a few thousand rows, not about the interval rule (conftest)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert run([sys.executable, "-m", "dvc", "add", "-q", DATA], project).returncode == 0
    subprocess.run(["git", "commit", "-qam", "tiny local model, three sentiments"], cwd=project, check=True)
    example = run([sys.executable, "-m", f"{MODULE}.cli", "example", "--rows", "3"], project, PYTHONPATH="src")
    assert example.returncode == 0, example.stderr
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(root / "bentoml"))
    assert flow.returncode == 0, flow.stdout[-4000:] + flow.stderr[-4000:]
    return project, root / "bentoml", flow.stdout + flow.stderr


def test_text_flow_gates_registers_and_packages(trained):
    project, home, output = trained
    assert "performance gate PASSED" in output and "fairness gate PASSED" in output
    assert "equalized odds difference [sex | class neutral]" in output  # judged per class
    assert "registry version 1" in output
    assert list((home / "models" / MODULE).glob("*/MODEL_CARD.md"))
    tags = latest_run(mlflow_client(project), MODULE).data.tags  # the base model read, by content for a directory
    assert tags["model.base.name_or_path"].endswith("tiny") and tags["model.base.commit"].startswith("md5:")
    assert tags["canonical"] == "false" and "base model" in tags["canonical.why_not"]  # outside the project, no DVC


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the CPU fallback is not exercised")
def test_gpu_project_trains_on_cpu_when_there_is_no_gpu(trained):
    _, _, output = trained
    assert "no GPU found: training on CPU" in output


def test_the_monitor_judges_texts_through_their_statistics(trained):
    """The training data as a batch: the training split and a superset of it, so no check may drift; the texts are
    judged by their length and unknown-token share, the predictions by the label and every class's probability."""
    project, home, _ = trained
    cmd = [sys.executable, "monitor_flow.py", "--no-pylint", "run", "--batch", DATA]
    done = run(cmd, project, BENTOML_HOME=str(home))
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "verdict: ok" in output, output[-4000:]
    client = mlflow_client(project)
    found = latest_run(client, f"{MODULE}-monitoring")
    path = client.download_artifacts(found.info.run_id, "monitoring/verdict.json", str(project.parent))
    checks = {c["name"]: c["status"] for c in json.loads(Path(path).read_text())["checks"]}
    for stat in ("text_chars", "text_words", "text_unknown_token_rate"):
        assert checks[f"drift.{stat}.psi"] == checks[f"drift.{stat}.wasserstein"] == "ok"
    assert {f"prediction.probability_{s}.psi" for s in SENTIMENTS} <= set(checks)
    assert checks["schema.missing_columns"] == checks["schema.extra_columns"] == "ok"


@pytest.fixture(scope="module")
def server(trained):
    """The champion served once for this module's tests, stopped by its PID afterwards."""
    project, home, _ = trained
    served = Server(project, home)
    try:
        served.wait_ready()
        yield served
    finally:
        served.stop()


def test_the_drift_demo_finds_the_texts_drifted(trained, server):
    """`make drift-demo` on the text task: 1000 reviews of a new product line, each ending with a delivery sentence
    and an emoji (demo_data.py --shift), through the server already answering on PORT, then the monitor: the texts
    drifted in length and unknown-token share, and the demo exits 0 (it expects drift) with no traceback."""
    project, home, _ = trained
    cmd = ["make", "drift-demo", f"PYTHON={sys.executable}", f"PORT={server.port}", "DEMO_ROWS=1000"]
    done = run(cmd, project, timeout=600, BENTOML_HOME=str(home))
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, output[-4000:]
    assert "1000 shifted (demo_data.py --shift) demo records answered" in output
    assert "verdict: drift, as expected (--expect drift)" in output
    client = mlflow_client(project)
    found = latest_run(client, f"{MODULE}-monitoring")
    assert found.data.tags["monitoring.verdict"] == "drift" and found.data.tags["monitoring.source"] == "prediction_log"
    path = client.download_artifacts(found.info.run_id, "monitoring/verdict.json", str(project.parent / "drift"))
    checks = {c["name"]: c for c in json.loads(Path(path).read_text())["checks"]}
    for stat in ("text_chars", "text_words", "text_unknown_token_rate"):
        assert checks[f"drift.{stat}.psi"]["status"] == "drift", checks[f"drift.{stat}.psi"]


def test_served_text_model_validates_and_batches(trained, server):
    project, _, _ = trained
    example = json.loads((project / "examples" / "request.json").read_text())
    body = requests.post(f"{server.url}/predict", json=example, timeout=30).json()
    assert body["mlflow_model_version"] == "1"
    for prediction in body["predictions"]:
        assert set(prediction["probabilities"]) == SENTIMENTS
        assert prediction["label"] == max(prediction["probabilities"], key=prediction["probabilities"].get)
    batched = requests.post(f"{server.url}/classify", json=example, timeout=30)
    assert batched.status_code == 200 and batched.json() == body["predictions"]  # same answers, batched
    for text in ("", "   ", "x" * 6000, 42):
        bad = requests.post(f"{server.url}/predict", json={"records": [{"text": text}]}, timeout=30)
        assert bad.status_code == 400 and "text" in json.dumps(bad.json()["detail"]), (text, bad.text)
    assert requests.post(f"{server.url}/predict", json=example, timeout=30).status_code == 200


def test_generated_text_project_tests_pass(trained):
    """Its end-to-end tests: a binary text flow trains, gates and packages. The unit suite of a text bake runs in
    test_bake, and the failing-gate run, which is the same for both tasks, in the tabular project's (test_end_to_end):
    once each, not twice."""
    project, _, _ = trained
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "e2e", "-k", "not failing_gate", "-p", "no:cacheprovider"]
    done = run(cmd, project)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

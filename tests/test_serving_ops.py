"""The served model in production shape, against a real `bentoml serve` of a copy of the trained default project:
adaptive batching that answers every request its own records, lineage on every answer, the prediction log and its
counter, a main process without torch, and a Bento image that carries the serving requirements only."""

import json
import random
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from .conftest import Server, copy_trained

pytestmark = pytest.mark.e2e

LINEAGE = {"model_version": "x-model-version", "mlflow_run_id": "x-mlflow-run-id"}
LINEAGE |= {"mlflow_model_version": "x-mlflow-model-version"}


@pytest.fixture(scope="module")
def project(trained_project, tmp_path_factory):
    return copy_trained(trained_project, tmp_path_factory.mktemp("ops"))


@pytest.fixture(scope="module")
def served(project):
    root, home, _ = project
    server = Server(root, home)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def variants(example: dict, count: int) -> list[dict]:
    """`count` distinct requests of 1 to 3 records, made from the example's records (numbers nudged, seeded)."""
    rng = random.Random(11)
    out = []
    for _ in range(count):
        records = []
        for _ in range(rng.randint(1, 3)):
            record = dict(rng.choice(example["records"]))
            for name, value in record.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    record[name] = round(value * rng.uniform(0.8, 1.2), 3)
            records.append(record)
        out.append({"records": records})
    return out


@pytest.fixture(scope="module")
def traffic(served, project):
    """Each request once through /predict (one at a time: the reference), then all of them, three times, through
    /classify from 32 threads at once, with requests that must be refused (a string for a number) mixed in."""
    root = project[0]
    example = json.loads((root / "examples" / "request.json").read_text())
    number = next(k for k, v in example["records"][0].items() if isinstance(v, int | float))
    bodies = variants(example, 60)
    bad = [{"records": [example["records"][0] | {number: "41"}]} for _ in range(12)]
    reference = [requests.post(served.url + "/predict", json=body, timeout=30) for body in bodies]
    jobs = [("/classify", body) for body in bodies * 3] + [("/classify", body) for body in bad]
    random.Random(5).shuffle(jobs)
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda job: requests.post(served.url + job[0], json=job[1], timeout=60), jobs))
    sent = [("/predict", body, r) for body, r in zip(bodies, reference, strict=True)]
    sent += [(path, body, r) for (path, body), r in zip(jobs, answers, strict=True)]
    return sent, bodies, reference


def predictions(response) -> list[dict]:
    body = response.json()
    return body["predictions"] if isinstance(body, dict) else body


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus series' samples in `text` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_classify_answers_each_request_its_own_records_while_batching(served, traffic):
    """Concurrent /classify requests share forward passes (BentoML's adaptive batch histogram shows batches of more
    than one request), yet each answer holds exactly its own records' predictions, as /predict gives them one at a
    time; a request with a bad record is refused on its own (400) and fails no other."""
    sent, bodies, reference = traffic
    expected = {json.dumps(body, sort_keys=True): predictions(r) for body, r in zip(bodies, reference, strict=True)}
    for path, body, response in sent:
        want = expected.get(json.dumps(body, sort_keys=True))
        if want is None:  # a bad record
            assert response.status_code == 400, response.text
            continue
        assert response.status_code == 200, (path, response.text)
        got = predictions(response)
        assert [p["label"] for p in got] == [p["label"] for p in want]
        assert all(abs(g["probability"] - w["probability"]) < 1e-5 for g, w in zip(got, want, strict=True))
    text = requests.get(served.url + "/metrics", timeout=10).text
    series = "bentoml_service_adaptive_batch_size"
    batches = metric(text, series + "_count", method_name="classify")
    single = metric(text, series + "_bucket", method_name="classify", le="1.0")
    calls = sum(1 for path, _, r in sent if path == "/classify" and r.status_code == 200)
    assert 0 < single < batches < calls, (single, batches, calls)  # some forward passes served several requests


def test_every_answer_carries_the_model_lineage(served, traffic):
    sent, _, reference = traffic
    lineage = {key: reference[0].json()[key] for key in LINEAGE}
    assert lineage["model_version"] and lineage["mlflow_run_id"] and lineage["mlflow_model_version"]
    for _, _, response in sent:
        assert {key: response.headers.get(header) for key, header in LINEAGE.items()} == lineage


def log_rows(root: Path, expected: int, timeout: float = 30) -> list[dict]:
    """The prediction log's rows once it holds `expected` (its writer runs behind the answers), or what it holds."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [
            json.loads(line)
            for path in (root / "monitoring" / "predictions" / "data").glob("data.*.log*")
            for line in path.read_text().splitlines()
            if line.strip()
        ]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_every_answered_record_is_logged_with_its_request_id(project, traffic):
    """One row per answered record, found by the request id the client got (X-BentoML-Request-ID, hex; the log
    holds it in decimal), with the record's inputs, the label answered and the model version; refused requests are
    not logged."""
    root = project[0]
    sent, _, _ = traffic
    answered = [(body, r) for _, body, r in sent if r.status_code == 200]
    rows = log_rows(root, sum(len(body["records"]) for body, _ in answered))
    by_request: dict[str, list[dict]] = {}
    for row in rows:
        by_request.setdefault(row["request_id"], []).append(row)
    assert len(rows) == sum(len(body["records"]) for body, _ in answered)
    for body, response in answered:
        logged = by_request[str(int(response.headers["x-bentoml-request-id"], 16))]
        assert [{k: row[k] for k in body["records"][0]} for row in logged] == body["records"]
        assert [row["label"] for row in logged] == [p["label"] for p in predictions(response)]
        assert {row["model_version"] for row in logged} == {response.headers["x-model-version"]}
    refused = {str(int(r.headers["x-bentoml-request-id"], 16)) for _, _, r in sent if r.status_code != 200}
    assert refused and not refused & set(by_request)
    schema = json.loads(next((root / "monitoring" / "predictions" / "schema").glob("schema.*.log")).read_text())
    roles = {column["name"]: column["role"] for column in schema["columns"]}
    assert roles["label"] == roles["model_version"] == "prediction" and "feature" in roles.values()


def test_metrics_count_the_predictions_by_label(served, traffic):
    sent, _, _ = traffic
    answered: dict[str, int] = {}
    for _, _, response in sent:
        if response.status_code == 200:
            for prediction in predictions(response):
                answered[str(prediction["label"])] = answered.get(str(prediction["label"]), 0) + 1
    deadline = time.monotonic() + 30
    while True:  # counted by the prediction log's writer, behind the answers
        counted: dict[str, int] = {}
        for line in requests.get(served.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith("predictions_total{"):
                label = line.split('label="')[1].split('"')[0]
                counted[label] = counted.get(label, 0) + int(float(line.rsplit(" ", 1)[1]))
        if counted == answered or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert counted == answered
    text = requests.get(served.url + "/metrics", timeout=10).text  # the series the README names
    for series in ("bentoml_service_request_total", "bentoml_service_request_duration_seconds_bucket"):
        assert metric(text, series, endpoint="/classify") > 0, series
    assert f"{'bentoml_service_request_in_progress'}{{" in text


def test_the_main_process_never_loads_torch(served):
    """BentoML's main process imports service.py to learn the service, then only routes: it reads the model's spec
    but never imports torch nor holds the weights (before: ~400 MB of the ~800 MB cold start); the worker does."""
    children = subprocess.run(["pgrep", "-P", str(served.proc.pid)], capture_output=True, text=True).stdout.split()
    assert children, "no serving worker found"

    def mapped(pid) -> str:
        return Path(f"/proc/{pid}/maps").read_text()

    def rss_mb(pid) -> float:
        line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    assert "libtorch" not in mapped(served.proc.pid)
    assert any("libtorch" in mapped(pid) for pid in children)
    assert rss_mb(served.proc.pid) < 300, rss_mb(served.proc.pid)


def test_the_prediction_log_can_be_turned_off(project):
    """BentoML's own switch (`services.Classifier.monitoring.enabled=false`) turns the log off; the service
    answers as before."""
    root, home, _ = project
    server = Server(root, home, env={"BENTOML_CONFIG_OPTIONS": "services.Classifier.monitoring.enabled=false"})
    try:
        server.wait_ready()
        before = len(log_rows(root, 0, timeout=0))
        example = json.loads((root / "examples" / "request.json").read_text())
        assert requests.post(server.url + "/classify", json=example, timeout=30).status_code == 200
        time.sleep(2)
        assert len(log_rows(root, 0, timeout=0)) == before
    finally:
        server.stop()


def test_the_bento_image_carries_the_serving_requirements_only(project):
    """`bentoml containerize` cannot run here (no registry), so the Dockerfile `bentoml build` wrote is checked:
    hadolint finds no error in it, it installs the Bento's requirements, and those are requirements-serve.txt's pins
    (plus BentoML's own) with torch's CPU index, without the training stack."""
    root, home, _ = project
    bento = max((home / "bentos" / root.name).glob("*/bento.yaml"), key=lambda p: p.stat().st_mtime).parent
    dockerfile = bento / "env" / "docker" / "Dockerfile"
    lint = subprocess.run(
        [shutil.which("hadolint") or "hadolint", "--no-color", "--failure-threshold", "error", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    text = dockerfile.read_text()
    assert "pip install -r $BENTO_PATH/env/python/requirements.txt" in text
    assert "ENV UV_INDEX_STRATEGY=$UV_INDEX_STRATEGY" in text  # torch's CPU build, every other pin from PyPI
    lines = [line.strip() for line in (bento / "env" / "python" / "requirements.txt").read_text().splitlines()]
    pins = {line for line in lines if line and not line.startswith(("#", "--"))}
    serve = {line.split("#")[0].strip() for line in (root / "requirements-serve.txt").read_text().splitlines()}
    assert pins - {p for p in pins if p.startswith("bentoml==")} == serve - {""}
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    import yaml

    info = yaml.safe_load((bento / "bento.yaml").read_text())
    pinned = [model["tag"] for service in info["services"] for model in service["models"]]
    assert pinned == [info["labels"]["model"]] and (bento / "README.md").read_text().startswith("# Model card"), pinned
    training = {"metaflow", "dvc", "fairlearn", "lightning", "pytorch-lightning", "mlflow", "transformers"}
    assert not {pin.split("==")[0].lower() for pin in pins} & training

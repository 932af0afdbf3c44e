"""The monitor end to end, on a copy of the trained default project: demo rows go through a real `bentoml serve`,
the prediction log they leave is judged by monitor_flow.py against the model's own training split (found through its
lineage), and the verdict lands in MLflow. An unshifted batch raises no alarm; the drift demo's shifted batch
(`make drift-demo`, which starts and stops its own server) is drift on the shifted features and on no other."""

import base64
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests

from .conftest import Server, copy_trained, free_port, latest_run, mlflow_client, run
from .kube_api import RecordingKubeApi

pytestmark = pytest.mark.e2e

ROWS = 2000
SHIFTED = {"income", "employment"}  # demo_data.py --shift
PREDICTIONS = {"label", "probability_1"}


@pytest.fixture(scope="module")
def project(trained_project, tmp_path_factory):
    return copy_trained(trained_project, tmp_path_factory.mktemp("monitor"))


def module_of(root) -> str:
    return root.name.replace("-", "_")


def monitor(root, home, *args: str, **env):
    cmd = [sys.executable, "monitor_flow.py", "--no-pylint", "run", "--last-records", str(ROWS), *args]
    return run(cmd, root, timeout=600, BENTOML_HOME=str(home), **env)


def judged(root, run_id: str) -> dict:
    """verdict.json as logged to the monitoring run in MLflow."""
    client = mlflow_client(root)
    path = client.download_artifacts(run_id, "monitoring/verdict.json", str(root / "downloaded"))
    return json.loads(Path(path).read_text())


def statuses(verdict: dict, kind: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for check in verdict["checks"]:
        if check["kind"] == kind:
            out.setdefault(check["column"], set()).add(check["status"])
    return out


@pytest.fixture(scope="module")
def unshifted(project):
    """ROWS unshifted demo rows (new applicants: another seed than the training data's) through the served model,
    then the monitor over them."""
    root, home, _ = project
    server = Server(root, home)
    try:
        server.wait_ready()
        sent = run(
            [
                sys.executable,
                "-m",
                f"{module_of(root)}.monitoring.demo",
                "--rows",
                str(ROWS),
                "--port",
                str(server.port),
            ],
            root,
            PYTHONPATH="src",
            BENTOML_HOME=str(home),
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        model = requests.post(
            f"{server.url}/predict", json=json.loads((root / "examples" / "request.json").read_text())
        )
        model = model.json()
    finally:
        server.stop()
    done = monitor(root, home)
    return done, model


def test_an_unshifted_batch_through_the_service_is_no_alarm(project, unshifted):
    root, _, _ = project
    done, model = unshifted
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"judging {ROWS} rows of prediction log" in output and "verdict: ok" in output
    client = mlflow_client(root)
    found = latest_run(client, f"{module_of(root)}-monitoring")
    assert found.data.tags["monitoring.verdict"] == "ok"
    assert found.data.tags["monitored.model_version"] == model["model_version"]
    assert found.data.tags["monitored.mlflow_model_version"] == model["mlflow_model_version"]
    verdict = judged(root, found.info.run_id)
    assert {c["status"] for c in verdict["checks"]} == {"ok"}, [c for c in verdict["checks"] if c["status"] != "ok"]
    assert (
        set(statuses(verdict, "feature_drift")) >= SHIFTED and set(statuses(verdict, "prediction_drift")) == PREDICTIONS
    )


@pytest.fixture(scope="module")
def drift_demo(project, unshifted):
    """`make drift-demo`: starts its own server (none answers on PORT), sends ROWS shifted rows, monitors them."""
    root, home, _ = project
    start = time.monotonic()
    made = run(
        ["make", "drift-demo", f"PYTHON={sys.executable}", f"PORT={free_port()}", f"DEMO_ROWS={ROWS}"],
        root,
        timeout=600,
        BENTOML_HOME=str(home),
    )
    return made, time.monotonic() - start


def test_the_drift_demo_finds_drift_on_the_shifted_features_and_no_other(project, drift_demo, unshifted):
    root, _, _ = project
    made, seconds = drift_demo
    output = made.stdout + made.stderr
    print(f"make drift-demo: {seconds:.0f} s")
    assert made.returncode == 0, output  # drift is what the demo shows (--expect drift)
    assert f"{ROWS} shifted (demo_data.py --shift) demo records answered" in output
    assert "verdict: drift, as expected (--expect drift); features drifted: income, employment;" in output
    assert "Traceback" not in output
    client = mlflow_client(root)
    found = latest_run(client, f"{module_of(root)}-monitoring")
    tags = found.data.tags
    assert tags["monitoring.verdict"] == "drift" and tags["monitoring.source"] == "prediction_log"
    assert tags["monitored.model_version"] == unshifted[1]["model_version"]
    assert tags["monitored.mlflow_model_version"] == unshifted[1]["mlflow_model_version"]
    assert tags["reference.data_md5"] and tags["monitored.mlflow_run_id"]
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id, "monitoring")}
    assert artifacts == {
        f"monitoring/{name}" for name in ("verdict.html", "evidently.html", "verdict.json", "drift.png")
    }
    verdict = judged(root, found.info.run_id)
    features = statuses(verdict, "feature_drift")
    assert {c for c, s in features.items() if "drift" in s} == SHIFTED, features
    assert all(s == {"ok"} for c, s in features.items() if c not in SHIFTED), features
    assert all("drift" in s for s in statuses(verdict, "prediction_drift").values())  # fewer approvals
    report = root / "monitoring" / "reports" / tags["metaflow.pathspec"].split("/")[1]
    assert "Monitoring verdict: <span" in (report / "verdict.html").read_text()
    assert (report / "evidently.html").stat().st_size > 100_000
    assert (report / "drift.png").read_bytes().startswith(b"\x89PNG")
    card = run([sys.executable, "monitor_flow.py", "card", "get", "judge", "verdict-card.html"], root)
    assert card.returncode == 0, card.stdout + card.stderr
    encoded = re.search(r'__MF_DATA__\["[^"]+"\] = "([^"]+)"', (root / "verdict-card.html").read_text()).group(1)
    assert "Monitoring verdict: drift" in base64.b64decode(encoded).decode()  # the card's components, as JSON


def test_a_model_the_lineage_cannot_follow_is_refused_in_one_message(project, unshifted):
    root, home, _ = project
    batch = f"data/{module_of(root)}.csv"
    done = monitor(root, home, "--batch", batch, "--model-version", f"{module_of(root)}:nosuchversion")
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in output
    assert "Cannot monitor" in output and "is not in the BentoML store" in output


def test_a_new_batch_file_is_scored_by_the_champion_and_report_only_exits_zero(project, drift_demo):
    """--batch: a shifted CSV (with the target and the sensitive column, which are not "extra columns") judged
    without any server, scored by the registry's champion; --report-only true reports drift and exits 0. Its labels
    follow the same rule as the training data's (only the inputs moved), so the training gates pass on it."""
    root, home, _ = project
    module = module_of(root)
    made = run(
        [
            sys.executable,
            f"src/{module}/pipeline/demo_data.py",
            "--rows",
            str(ROWS),
            "--seed",
            "9",
            "--shift",
            "--out",
            "b.csv",
        ],
        root,
    )
    assert made.returncode == 0, made.stderr
    done = monitor(root, home, "--batch", "b.csv", "--report-only", "true")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"judging {ROWS} rows of batch b.csv" in output and "verdict: drift" in output
    found = latest_run(mlflow_client(root), f"{module}-monitoring")
    assert found.data.tags["monitoring.source"] == "batch" and found.data.tags["monitoring.verdict"] == "drift"
    verdict = judged(root, found.info.run_id)
    features = statuses(verdict, "feature_drift")
    assert {c for c, s in features.items() if "drift" in s} == SHIFTED, features
    assert {c["name"]: c["status"] for c in verdict["checks"] if c["kind"] == "schema"} == {
        "schema.missing_columns": "ok",
        "schema.extra_columns": "ok",
    }
    gates = {c["name"]: c for c in verdict["checks"] if c["kind"] in ("performance", "fairness")}
    assert gates["performance.gate"]["status"] == "ok" and gates["fairness.gate"]["status"] == "ok", gates
    assert gates["performance.accuracy"]["value"] >= 0.75 and "2000 labelled rows" in output


def test_a_labelled_batch_the_model_now_gets_wrong_is_degraded(project):
    """Labels flipped (the rule the model learned no longer holds): the training flow's own gates fail on the batch,
    the verdict is degraded, and the run stops with the failed checks and their margins, no traceback. With
    monitoring.retrain_event set and the variable Metaflow sets in an Argo pod (test_argo.py), the retraining event
    reaches the webhook (Metaflow's ArgoEvent, a real POST to 127.0.0.1) before the run stops."""
    root, home, _ = project
    module = module_of(root)
    made = run(
        [sys.executable, f"src/{module}/pipeline/demo_data.py", "--rows", str(ROWS), "--seed", "9", "--out", "f.csv"],
        root,
    )
    assert made.returncode == 0, made.stderr
    table = pd.read_csv(root / "f.csv")
    table["approved"] = 1 - table["approved"]
    table.to_csv(root / "f.csv", index=False)
    params = root / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("  retrain_event: null ", "  retrain_event: retrain.demo "))
    webhook, md5 = RecordingKubeApi(), "0123456789abcdef0123456789abcdef"
    try:
        on_argo = {"ARGO_WORKFLOW_TEMPLATE": "monitorflow", "METAFLOW_ARGO_EVENTS_WEBHOOK_URL": webhook.url}
        done = monitor(root, home, "--batch", "f.csv", "--retrain-data-md5", md5, **on_argo)
    finally:
        webhook.stop()
        params.write_text(original)
    output = done.stdout + done.stderr
    (event,) = webhook.created
    assert event["name"] == "retrain.demo" and "retraining event retrain.demo published" in output, output[-3000:]
    assert {k: event["payload"][k] for k in ("verdict", "data_md5")} == {"verdict": "degraded", "data_md5": md5}
    assert event["payload"]["model_version"].startswith(f"{module}:") and event["payload"]["mlflow_model_version"]
    assert done.returncode != 0 and "Traceback" not in output, output[-3000:]
    assert "Model degraded" in output and "gates failed on the labelled rows" in output
    assert re.search(
        r"performance: .*accuracy = 0\.\d{4} \[[\d.]+, [\d.]+\] on \d+ rows, needs >= 0\.75 \(off by 0\.\d{4}\)", output
    ), output[-3000:]
    found = latest_run(mlflow_client(root), f"{module}-monitoring")
    assert found.data.tags["monitoring.verdict"] == "degraded"
    assert found.data.tags["check.performance.gate"] == "degraded" and found.data.metrics["performance.accuracy"] < 0.5


def test_retraining_on_a_labelled_batch_pins_a_new_data_version_and_judges_the_challenger(project):
    """`make retrain BATCH=...` (last in this module: it changes the data and the registry): the batch's new labelled
    rows are appended to the training table and pinned with DVC, the training flow runs on that version through
    Metaflow's Runner API, and the champion gate compares both models on rows neither trained on. The same batch
    again adds nothing: refused in one line, without a run."""
    import hashlib

    import yaml

    root, home, _ = project
    module = module_of(root)
    made = run(
        [sys.executable, f"src/{module}/pipeline/demo_data.py", "--rows", "500", "--seed", "11", "--out", "l.csv"], root
    )
    assert made.returncode == 0, made.stderr
    params = root / "params.yaml"  # the challenger must prove itself in shadow before it is champion (next test)
    params.write_text(params.read_text().replace("require_shadow: false", "require_shadow: true", 1))
    assert run(["git", "commit", "-qam", "require a shadow report"], root).returncode == 0
    data = root / "data" / f"{module}.csv"
    before = len(pd.read_csv(data))
    retrain = ["make", "retrain", f"PYTHON={sys.executable}", "BATCH=l.csv"]
    done = run(retrain, root, timeout=900, BENTOML_HOME=str(home))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    md5 = hashlib.md5(data.read_bytes()).hexdigest()
    assert f"{before} + 500 rows from l.csv, pinned as md5 {md5}" in output and len(pd.read_csv(data)) == before + 500
    assert yaml.safe_load((root / "data" / f"{module}.csv.dvc").read_text())["outs"][0]["md5"] == md5
    trained = latest_run(mlflow_client(root), module)
    assert trained.data.tags["data.md5"] == md5 and trained.info.status == "FINISHED"
    assert re.search(r"compared on \d+ test rows neither model trained on \(\d+ left out", output), output[-3000:]
    assert "the challenger passed every gate" in output
    assert "packaging.require_shadow: v2 is candidate; the champion stays until its shadow report passes" in output
    client = mlflow_client(root)
    assert str(client.get_model_version_by_alias(module, "champion").version) == "1"
    assert str(client.get_model_version_by_alias(module, "candidate").version) == "2"
    again = run(retrain, root, BENTOML_HOME=str(home))
    output = again.stdout + again.stderr
    assert (
        again.returncode != 0 and "already in the training table: nothing new" in output and "Traceback" not in output
    )


def test_a_challenger_in_shadow_is_judged_on_the_champions_traffic_before_promotion(project):
    """After the retrain (packaging.require_shadow: true): the champion v1 serves with the candidate v2 in shadow,
    demo traffic goes through, and the prediction log carries both answers. The shadow report judges v2 on that
    traffic: the default request carries no sensitive feature, so fairness is not judged and the report fails, and
    promotion is refused; with a labelled batch neither model trained on, v2 passes the gates there and is promoted."""
    root, home, _ = project
    module = module_of(root)
    client = mlflow_client(root)
    tags = {
        alias: client.get_model_version_by_alias(module, alias).tags["bentoml.model"]
        for alias in ("champion", "candidate")
    }
    server = Server(root, home, "--arg", f"model_tag={tags['champion']}", "--arg", f"shadow_tag={tags['candidate']}")
    try:
        server.wait_ready()
        demo = [sys.executable, "-m", f"{module}.monitoring.demo", "--rows", "600", "--port", str(server.port)]
        sent = run(demo, root, PYTHONPATH="src", BENTOML_HOME=str(home))
        assert sent.returncode == 0, sent.stdout + sent.stderr
    finally:
        server.stop()
    log = pd.concat(
        pd.read_json(f, lines=True) for f in (root / "monitoring" / "predictions" / "data").glob("data.*.log")
    )
    both = log[log["shadow_model_version"] == tags["candidate"]]
    assert len(both) == 600 and set(both["model_version"]) == {tags["champion"]} and both["shadow_error"].isna().all()
    assert both["shadow_probability_1"].between(0, 1).all() and both["shadow_label"].isin([0, 1]).all()

    def make(*args: str):
        done = run(["make", *args, f"PYTHON={sys.executable}"], root, BENTOML_HOME=str(home))
        return done, done.stdout + done.stderr

    done, output = make("shadow-report")
    assert done.returncode != 0 and "Traceback" not in output, output[-3000:]
    assert "on 600 logged records" in output and "[ok] records scored in shadow" in output
    assert re.search(r"\[ok\] agreement with the champion = 0\.\d{4} >= 0\.8", output), output
    assert "[not judged] selection-rate spread by sex" in output and "shadow report: failed: shadow" in output
    refused, output = make("promote", "VERSION=2")
    assert refused.returncode != 0 and "shadow report failed: shadow" in output, output
    assert str(client.get_model_version_by_alias(module, "champion").version) == "1"

    made = run(
        [sys.executable, f"src/{module}/pipeline/demo_data.py", "--rows", "1000", "--seed", "23", "--out", "s.csv"],
        root,
    )
    assert made.returncode == 0, made.stderr
    done, output = make("shadow-report", "BATCH=s.csv")
    assert done.returncode == 0, output[-3000:]
    assert "selection-rate spread by sex: the log lacks sex; judged on the labelled batch instead" in output
    assert "fairness (labelled batch) gate PASSED" in output and "champion (labelled batch) gate PASSED" in output
    assert "rows of s.csv neither model trained on" in output and "shadow report: passed" in output
    version = client.get_model_version(module, "2")
    assert version.tags["shadow"] == "passed" and version.tags["shadow.champion"] == "1"
    shadow_run = client.get_run(version.tags["shadow.mlflow_run_id"])
    assert shadow_run.data.metrics["records_scored"] == 600 and shadow_run.data.metrics["agreement"] >= 0.8
    promoted, output = make("promote", "VERSION=2")
    assert promoted.returncode == 0 and "champion: v1 -> v2" in output, output

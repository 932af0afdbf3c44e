"""The monitor end to end for a regression (`task=tabular_regression monitoring=yes`, trained on 2000 demo rows): the
prediction log holds the predicted `value`, and monitor_flow.py judges it as a numeric prediction column (drift of the
predicted value) beside the inputs, against the model's own training split. A challenger from `make retrain` runs in
shadow on 2000 unshifted demo rows through a real `bentoml serve`: the monitor finds no alarm, the shadow report
judges the challenger's mean absolute difference from the champion, and fails until a labelled batch judges its
fairness; then `make drift-demo`'s shifted rows are drift on the shifted features and on `value`, and a labelled batch
whose true values moved is judged by the regression gates: degraded."""

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

from .conftest import Server, bake, decide_on_point, free_port, latest_run, mlflow_client, pin_demo_data, run
from .test_monitoring_e2e import statuses

pytestmark = pytest.mark.e2e

ROWS = 2000
SHIFTED = {"income", "employment"}  # demo_data.py --shift
MODULE = "credit_approval_model"
TARGET = "credit_limit"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """One regression bake with monitoring, trained once on 2000 pinned demo rows (v1, the champion)."""
    root = tmp_path_factory.mktemp("regression-monitoring")
    project = pin_demo_data(decide_on_point(bake(root, task="tabular_regression", monitoring=True)), ROWS)
    home = root / "bentoml"
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(home))
    assert flow.returncode == 0, flow.stdout[-3000:] + flow.stderr[-3000:]
    return project, home


def project_run(project, home, *cmd: str, **env):
    done = run(list(cmd), project, timeout=600, BENTOML_HOME=str(home), **env)
    return done, done.stdout + done.stderr


def make(project, home, *args: str):
    return project_run(project, home, "make", *args, f"PYTHON={sys.executable}")


def monitor(project, home, *args: str):
    return project_run(project, home, sys.executable, "monitor_flow.py", "--no-pylint", "run", *args)


def demo_rows(project, name: str, rows: int, seed: int, *extra: str) -> Path:
    made = run(
        [
            sys.executable,
            f"src/{MODULE}/pipeline/demo_data.py",
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--out",
            name,
            *extra,
        ],
        project,
    )
    assert made.returncode == 0, made.stderr
    return project / name


def verdict_of_latest_monitor(project) -> tuple[dict, dict]:
    """The newest monitoring run's tags, and its verdict.json as logged to MLflow."""
    client = mlflow_client(project)
    found = latest_run(client, f"{MODULE}-monitoring")
    path = client.download_artifacts(found.info.run_id, "monitoring/verdict.json", str(project / "downloaded"))
    return found.data.tags, json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def shadowed(project):
    """`make retrain` (packaging.require_shadow: true) makes v2 the candidate; the champion v1 serves with v2 in
    shadow, ROWS unshifted demo rows (another seed than the training data's) go through it, then the monitor."""
    root, home = project
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("require_shadow: false", "require_shadow: true", 1))
    assert run(["git", "commit", "-qam", "require a shadow report"], root).returncode == 0
    demo_rows(root, "l.csv", 500, 11)
    retrained, output = make(root, home, "retrain", "BATCH=l.csv")
    assert retrained.returncode == 0 and "v2 is candidate" in output, output[-3000:]
    client = mlflow_client(root)
    tags = {a: client.get_model_version_by_alias(MODULE, a).tags["bentoml.model"] for a in ("champion", "candidate")}
    server = Server(root, home, "--arg", f"model_tag={tags['champion']}", "--arg", f"shadow_tag={tags['candidate']}")
    try:
        server.wait_ready()
        sent, output = project_run(
            root,
            home,
            sys.executable,
            "-m",
            f"{MODULE}.monitoring.demo",
            "--rows",
            str(ROWS),
            "--port",
            str(server.port),
            PYTHONPATH="src",
        )
        assert sent.returncode == 0, output
        metrics = requests.get(f"{server.url}/metrics", timeout=30).text
    finally:
        server.stop()
    done, output = monitor(root, home, "--last-records", str(ROWS))
    return tags, metrics, done, output


def test_the_log_holds_the_value_and_unshifted_traffic_is_no_alarm(project, shadowed):
    root, _ = project
    tags, metrics, done, output = shadowed
    assert done.returncode == 0, output[-3000:]
    assert f"judging {ROWS} rows of prediction log" in output and "verdict: ok" in output
    log = pd.concat(pd.read_json(f, lines=True) for f in (root / "monitoring" / "predictions" / "data").glob("data.*"))
    assert len(log) == ROWS and "label" not in log and not any(c.startswith("probability_") for c in log)
    assert pd.api.types.is_float_dtype(log["value"]) and log["value"].notna().all() and 5 < log["value"].mean() < 30
    assert set(log["model_version"]) == {tags["champion"]} and set(log["shadow_model_version"]) == {tags["candidate"]}
    assert log["shadow_error"].isna().all() and pd.api.types.is_float_dtype(log["shadow_value"])
    counted = re.search(r'^predictions_total\{model_version="([^"]+)"\} ([\d.]+)$', metrics, re.MULTILINE)
    assert counted and counted.groups() == (tags["champion"], f"{ROWS}.0"), metrics[-2000:]
    run_tags, verdict = verdict_of_latest_monitor(root)
    assert run_tags["monitoring.verdict"] == "ok" and run_tags["monitored.model_version"] == tags["champion"]
    assert {c["status"] for c in verdict["checks"]} == {"ok"}, [c for c in verdict["checks"] if c["status"] != "ok"]
    assert statuses(verdict, "prediction_drift") == {"value": {"ok"}}
    judged = {c["name"] for c in verdict["checks"] if c["kind"] == "prediction_drift"}
    assert judged == {"prediction.value.psi", "prediction.value.wasserstein"}
    assert set(statuses(verdict, "feature_drift")) >= SHIFTED


def test_the_challenger_in_shadow_is_judged_by_its_difference_from_the_champion(project, shadowed):
    """Traffic has no true values: the regression fairness checks are not judged and the report fails, promotion is
    refused; a labelled batch neither model trained on judges them (and the performance and champion gates)."""
    root, home = project

    done, output = make(root, home, "shadow-report")
    assert done.returncode != 0 and "Traceback" not in output, output[-3000:]
    assert f"on {ROWS} logged records" in output and "[ok] records scored in shadow" in output
    found = re.search(r"\[ok\] mean absolute difference from the champion = (0\.\d{4}) <= 1\.0", output)
    assert found and float(found[1]) > 0, output  # another model: close, not identical
    assert "[not judged] group MAE ratio, highest / lowest [sex]" in output and "give a labelled batch" in output
    assert "shadow report: failed: shadow" in output
    refused, output = make(root, home, "promote", "VERSION=2")
    assert refused.returncode != 0 and "shadow report failed: shadow" in output, output

    demo_rows(root, "s.csv", 1000, 23)
    done, output = make(root, home, "shadow-report", "BATCH=s.csv")
    assert done.returncode == 0, output[-3000:]
    assert "fairness: judged on the labelled batch" in output
    assert re.search(
        r"\[ok\] group MAE ratio, highest / lowest \[sex\] = [\d.]+ \[[\d.]+, [\d.]+\] on \d+ rows <= 1\.25", output
    ), output
    for gate in ("performance", "fairness", "champion"):
        assert f"{gate} (labelled batch) gate PASSED" in output, output
    assert "shadow report: passed" in output
    client = mlflow_client(root)
    version = client.get_model_version(MODULE, "2")
    assert version.tags["shadow"] == "passed" and version.tags["shadow.champion"] == "1"
    figures = client.get_run(version.tags["shadow.mlflow_run_id"]).data.metrics
    assert figures["records_scored"] == ROWS and 0 < figures["mean_absolute_difference"] <= 1.0
    assert figures["wasserstein.value"] >= 0 and "agreement" not in figures
    promoted, output = make(root, home, "promote", "VERSION=2")
    assert promoted.returncode == 0 and "champion: v1 -> v2" in output, output


def test_the_drift_demo_finds_drift_on_the_shifted_features_and_the_predicted_value(project, shadowed):
    """`make drift-demo`: its own server (none answers on PORT) on the champion, ROWS shifted rows, the monitor."""
    root, home = project
    made, output = make(root, home, "drift-demo", f"PORT={free_port()}", f"DEMO_ROWS={ROWS}")
    assert made.returncode == 0, output[-3000:]  # drift is what the demo shows (--expect drift)
    assert f"{ROWS} shifted (demo_data.py --shift) demo records answered" in output
    assert "verdict: drift, as expected (--expect drift); features drifted: income, employment;" in output
    assert "Traceback" not in output
    tags, verdict = verdict_of_latest_monitor(root)
    assert tags["monitoring.verdict"] == "drift" and tags["monitoring.source"] == "prediction_log"
    features = statuses(verdict, "feature_drift")
    assert {c for c, s in features.items() if "drift" in s} == SHIFTED, features
    assert all(s == {"ok"} for c, s in features.items() if c not in SHIFTED), features
    assert statuses(verdict, "prediction_drift") == {"value": {"drift"}}  # the limits fall with incomes
    psi = next(c for c in verdict["checks"] if c["name"] == "prediction.value.psi")
    assert psi["value"] >= 0.25 and psi["threshold"] == "warn >= 0.1, drift >= 0.25"


def test_a_labelled_batch_whose_values_moved_is_degraded_by_the_regression_gates(project, shadowed):
    """True values 8 (thousands) above what the rule gave: the model's RMSE and mean error on the batch no longer
    pass the training flow's performance gate; the run stops with the failed checks and their margins."""
    root, home = project
    batch = demo_rows(root, "f.csv", ROWS, 9)
    table = pd.read_csv(batch)
    table[TARGET] = table[TARGET] + 8
    table.to_csv(batch, index=False)
    done, output = monitor(root, home, "--batch", "f.csv")
    assert done.returncode != 0 and "Traceback" not in output, output[-3000:]
    assert "Model degraded" in output and "gates failed on the labelled rows" in output
    assert re.search(
        r"performance: .*rmse = \d+\.\d{4} \[[\d.]+, [\d.]+\] on \d+ rows, needs <= 3\.2 \(off by \d+\.\d{4}\)", output
    ), output[-3000:]
    tags, verdict = verdict_of_latest_monitor(root)
    assert tags["monitoring.verdict"] == "degraded" and tags["monitoring.source"] == "batch"
    gates = {c["name"]: c for c in verdict["checks"] if c["kind"] in ("performance", "fairness")}
    assert gates["performance.gate"]["status"] == "degraded" and gates["performance.rmse"]["value"] > 3.2
    assert gates["fairness.gate"]["status"] == "ok", gates  # every group's values moved alike
    assert statuses(verdict, "prediction_drift") == {"value": {"ok"}}  # the inputs did not move: neither did it

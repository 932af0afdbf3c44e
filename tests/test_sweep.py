"""training.sweep: a baked project's flow trains one network per candidate in parallel (Metaflow foreach), keeps the
one best on the validation split, records every candidate in MLflow, and evaluates, gates and packages only it."""

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import bake, decide_on_point, mlflow_client, pin_demo_data, run

pytestmark = pytest.mark.e2e
CANDIDATES = [
    {"training.learning_rate": 0.003, "model.hidden_sizes": [64, 32]},
    {"training.learning_rate": 0.01, "model.hidden_sizes": [16]},
]

# Read back through Metaflow's client in the project (its own datastore): the run's steps, each candidate's task,
# which ran when, and what the evaluate task held.
PROBE = """
import json, sys
sys.path.insert(0, "src")
from metaflow import Flow, namespace
from {module}.release.packaging import weights_sha256
namespace(None)
run = Flow("TrainingFlow").latest_run
def task_facts(task):
    return {{
        "number": task["candidate"].data["number"],
        "settings": task["candidate"].data["settings"],
        "best_value": task["training"].data["best_value"],
        "weights_sha256": task["weights_sha256"].data,
        "has_test_metrics": "metrics" in task,
        "started": task.created_at.timestamp(),
        "finished": task.finished_at.timestamp(),
    }}
evaluate = list(run["evaluate"])
print(json.dumps({{
    "steps": sorted(step.id for step in run),
    "candidates": [task_facts(t) for t in run["train_candidate"]],
    "evaluated": [t["candidate"].data["number"] for t in evaluate],
    "packaged": weights_sha256(open(sys.argv[1], "rb").read()),
}}))
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A baked project on 2000 pinned demo rows, its flow run once with a two-candidate sweep."""
    root = tmp_path_factory.mktemp("sweep")
    project = pin_demo_data(decide_on_point(bake(root, sweep=True)), 2000)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["training"] |= {"max_epochs": 3, "sweep": {"candidates": CANDIDATES}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    home = root / "bentoml"
    flow = run([sys.executable, "flow.py", "--no-pylint", "run", "--max-workers", "2"], project, BENTOML_HOME=str(home))
    output = flow.stdout + flow.stderr
    assert flow.returncode == 0, output
    name, version = re.search(r"model ([\w.-]+):(\w+);", output).groups()
    weights = home / "models" / name / version / "weights.pt"
    module = project.name.replace("-", "_")
    probe = run([sys.executable, "-c", PROBE.format(module=module), str(weights)], project)
    assert probe.returncode == 0, probe.stderr
    return project, output, json.loads(probe.stdout.strip().splitlines()[-1])


def test_each_candidate_trains_in_its_own_task_in_parallel(swept):
    _, output, facts = swept
    candidates = sorted(facts["candidates"], key=lambda c: c["number"])
    assert [c["settings"] for c in candidates] == CANDIDATES
    assert "train" not in facts["steps"] and {"fan_out", "train_candidate", "select"} <= set(facts["steps"])
    first, second = candidates
    assert first["started"] < second["finished"] and second["started"] < first["finished"]  # they overlapped
    assert first["weights_sha256"] != second["weights_sha256"]


def test_the_best_on_validation_is_the_one_evaluated_and_packaged(swept):
    _, output, facts = swept
    candidates = facts["candidates"]
    best = min(candidates, key=lambda c: c["best_value"])  # training.monitor: val_loss, lower is better
    assert facts["evaluated"] == [best["number"]]  # one evaluate task, the winner's: test metrics for it only
    assert not any(c["has_test_metrics"] for c in candidates)
    assert facts["packaged"] == best["weights_sha256"]
    assert f"kept candidate {best['number']}: " in output


def test_every_candidate_is_a_child_run_of_the_flows_run(swept):
    project, output, facts = swept
    client = mlflow_client(project)
    parent = client.get_run(re.search(r"MLflow run (\w+)\)", output)[1])
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert len(children) == 2
    by_number = {int(c.data.tags["sweep.candidate"]): c for c in children}
    for task in facts["candidates"]:
        child = by_number[task["number"]]
        settings = task["settings"]
        assert child.data.params["training.learning_rate"] == str(settings["training.learning_rate"])
        assert child.data.params["model.hidden_sizes"] == str(settings["model.hidden_sizes"])
        assert child.data.metrics["train.best_val_loss"] == task["best_value"]
        assert len(client.get_metric_history(child.info.run_id, "val_loss")) == child.data.metrics["train.epochs_run"]
        assert child.data.tags["weights_sha256"] == task["weights_sha256"]
        assert not any(name.startswith("test_") for name in child.data.metrics)  # never scored on the test split
    best = min(facts["candidates"], key=lambda c: c["best_value"])
    kept = by_number[best["number"]]
    assert kept.data.tags["sweep.kept"] == "true" and sum(c.data.tags["sweep.kept"] == "true" for c in children) == 1
    tags, params = parent.data.tags, parent.data.params
    assert tags["sweep.winner"] == str(best["number"]) and tags["sweep.winner_run_id"] == kept.info.run_id
    assert params["sweep.winner.training.learning_rate"] == str(best["settings"]["training.learning_rate"])
    assert tags["weights_sha256"] == best["weights_sha256"] and "test_roc_auc" in parent.data.metrics
    table = Path(client.download_artifacts(parent.info.run_id, "sweep/candidates.json", str(project)))
    kept_numbers = [row["candidate"] for row in json.loads(table.read_text()) if row["kept"]]
    assert kept_numbers == [best["number"]]
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "sweep")} == {
        "sweep/candidates.json",
        "sweep/candidates.md",
    }
    assert parent.info.status == "FINISHED"

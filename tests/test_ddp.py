"""training.nodes: 2: the trained project's flow trains one network data-parallel across two Metaflow @parallel tasks on
loopback (Lightning DDP over gloo, on CPU), both ranks end with the same weights, rank 0's are evaluated and
packaged, the test metrics stay near the single-node run's on the same data, and a second run is bit-exact."""

import json
import re
import sys

import pytest
import yaml

from .conftest import copy_trained, free_port, mlflow_client, run

pytestmark = pytest.mark.e2e
TOLERANCE = {"accuracy": 0.02, "roc_auc": 0.01}  # each step averages two shards: close to one node, not equal

# Read back through Metaflow's client in the project: each run's steps, its train_node tasks, what join_nodes and
# evaluate held; and the weights the BentoML model holds.
PROBE = """
import json, sys
sys.path.insert(0, "src")
from metaflow import Flow, namespace
from {module}.release.packaging import weights_sha256
namespace(None)
def facts(run):
    steps = {{step.id for step in run}}
    return {{
        "steps": sorted(steps),
        "nodes": sorted(
            [t["node_index"].data, t["weights_sha256"].data, t.successful, "weights" in t] for t in run["train_node"]
        ) if "train_node" in steps else [],
        "node_weights": run["join_nodes"].task["node_weights"].data if "join_nodes" in steps else None,
        "weights_sha256": run["evaluate"].task["weights_sha256"].data,
        "metrics": run["evaluate"].task["metrics"].data,
        "mlflow_run_id": run["start"].task["mlflow_run_id"].data,
    }}
print(json.dumps({{
    "runs": [facts(run) for run in Flow("TrainingFlow").runs()],  # newest first
    "packaged": weights_sha256(open(sys.argv[1], "rb").read()),
}}))
"""


@pytest.fixture(scope="module")
def two_nodes(trained_project, tmp_path_factory):
    """A copy of the trained project (one single-node run), then two runs with training.nodes: 2 on the same data and
    settings: the first packages (no Bento build: the BentoML model is what is checked), the second only trains and
    evaluates. Both skip the champion gate: it would judge the two-node model against the single-node one."""
    project, home, _ = copy_trained(trained_project, tmp_path_factory.mktemp("ddp"))
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["training"] |= {"nodes": 2, "master_port": free_port()}
    params["packaging"]["build_bento"] = False
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    flow = [sys.executable, "flow.py", "--no-pylint", "run", "--skip-gates", "champion"]
    first = run(flow, project, BENTOML_HOME=str(home))
    assert first.returncode == 0, first.stdout + first.stderr
    second = run([*flow, "--publish", "false"], project, BENTOML_HOME=str(home))
    assert second.returncode == 0, second.stdout + second.stderr
    name, version = re.search(r"model ([\w.-]+):(\w+);", first.stdout + first.stderr).groups()
    module = project.name.replace("-", "_")
    probe = run(
        [sys.executable, "-c", PROBE.format(module=module), str(home / "models" / name / version / "weights.pt")],
        project,
    )
    assert probe.returncode == 0, probe.stderr
    facts = json.loads(probe.stdout.strip().splitlines()[-1])
    return project, first.stdout + first.stderr, facts


def test_both_ranks_finish_with_identical_weights(two_nodes):
    _, output, facts = two_nodes
    first = facts["runs"][1]
    assert {"spread", "train_node", "join_nodes"} <= set(first["steps"]) and "train" not in first["steps"]
    sha = first["weights_sha256"]
    assert first["nodes"] == [[0, sha, True, True], [1, sha, True, False]]  # only rank 0 stores its weights
    assert first["node_weights"] == {"0": sha, "1": sha}  # what join_nodes checked, recorded in the run
    assert "rank 0 of 2 nodes, meeting at 127.0.0.1:" in output and "rank 1 of 2 nodes" in output
    assert len(re.findall(r"\] epoch 1/\d+ ", output)) == 1  # the ranks' epochs agree: rank 0 prints them
    assert f"2 ranks ended with the same weights ({sha[:12]}); rank 0's go on" in output


def test_rank_zeros_weights_are_the_ones_packaged_and_registered(two_nodes):
    project, output, facts = two_nodes
    first = facts["runs"][1]
    assert facts["packaged"] == first["weights_sha256"]  # the BentoML model's weights.pt
    client = mlflow_client(project)
    version = re.search(r"registry version (\d+)", output)[1]
    registered = client.get_model_version(project.name.replace("-", "_"), version)
    assert registered.run_id == first["mlflow_run_id"]
    tracked = client.get_run(registered.run_id).data
    assert tracked.tags["weights_sha256"] == first["weights_sha256"] and tracked.params["training.nodes"] == "2"


def test_metrics_are_within_tolerance_of_a_single_node_run(two_nodes):
    _, _, facts = two_nodes
    single = facts["runs"][-1]  # the trained project's own run, with nodes: 1: the plain train step, as before
    assert "train" in single["steps"] and not single["nodes"] and single["node_weights"] is None
    two = facts["runs"][1]["metrics"]
    for metric, tolerance in TOLERANCE.items():
        assert abs(two[metric] - single["metrics"][metric]) <= tolerance, (metric, two, single["metrics"])
    assert two != single["metrics"]  # a different training, not a copy of the single-node one


def test_a_second_run_with_the_same_seed_is_bit_exact_on_cpu(two_nodes):
    _, _, facts = two_nodes
    second, first = facts["runs"][0], facts["runs"][1]
    assert second["nodes"] == first["nodes"] and second["weights_sha256"] == first["weights_sha256"]
    assert second["metrics"] == first["metrics"]

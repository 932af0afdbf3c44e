"""benchmarks/plain_run.py, the baseline benchmarks/flow_cost.py measures the flow against, does the flow's work: on a
copy of the trained default project it gives the flow's test metrics bit for bit and records the same lineage."""

import subprocess
import sys

import pytest

from .conftest import copy_trained, mlflow_client, project_env

pytestmark = pytest.mark.e2e


def test_the_plain_script_gives_the_flows_metrics_and_lineage(trained_project, tmp_path):
    project, home, _ = copy_trained(trained_project, tmp_path)
    client = mlflow_client(project)
    experiment = client.get_experiment_by_name(project.name.replace("-", "_"))
    (flow_run,) = client.search_runs([experiment.experiment_id])
    done = subprocess.run(
        [sys.executable, "benchmarks/plain_run.py", "--publish", "false"],
        cwd=project,
        env=project_env(BENTOML_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "plain steps:" in done.stdout
    plain_run = next(r for r in client.search_runs([experiment.experiment_id]) if r.info.run_id != flow_run.info.run_id)
    tests = {k: v for k, v in flow_run.data.metrics.items() if k.startswith("test_")}
    assert tests and {k: plain_run.data.metrics.get(k) for k in tests} == tests
    for tag in ("data.md5", "git.commit", "weights_sha256", "gate.performance", "gate.fairness"):
        assert plain_run.data.tags.get(tag) == flow_run.data.tags.get(tag), tag
    assert plain_run.data.params == flow_run.data.params


def test_the_benchmarks_copy_leaves_out_the_stores_but_not_the_package(trained_project):
    """flow_cost.py runs each size in a copy of the project without its run state (the root's monitoring/, .metaflow,
    MLflow store); the package's own monitoring/ room must come along, or the copied flow cannot import."""
    import importlib.util

    project = trained_project[0]
    spec = importlib.util.spec_from_file_location("flow_cost", project / "benchmarks" / "flow_cost.py")
    flow_cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(flow_cost)
    at_root = ["src", "monitoring", ".metaflow", "mlflow.db", "flow.py", "__pycache__"]
    left_out = {"monitoring", ".metaflow", "mlflow.db", "__pycache__"}
    assert flow_cost.leave_out(str(flow_cost.ROOT), at_root) == left_out
    package = flow_cost.ROOT / "src" / flow_cost.MODULE
    assert flow_cost.leave_out(str(package), ["monitoring", "pipeline", "__pycache__"]) == {"__pycache__"}

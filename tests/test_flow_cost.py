"""benchmarks/plain_run.py, the baseline benchmarks/flow_cost.py measures the flow against, does the flow's work: on a
copy of the trained default project it gives the flow's test metrics bit for bit and records the same lineage."""

import os
import signal
import subprocess
import sys
import time

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


def load_flow_cost(project):
    """The trained project's benchmarks/flow_cost.py, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("flow_cost", project / "benchmarks" / "flow_cost.py")
    flow_cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(flow_cost)
    return flow_cost


def test_the_benchmarks_copy_leaves_out_the_stores_but_not_the_package(trained_project):
    """flow_cost.py runs each size in a copy of the project without its run state (the root's monitoring/, .metaflow,
    MLflow store); the package's own monitoring/ room must come along, or the copied flow cannot import."""
    flow_cost = load_flow_cost(trained_project[0])
    at_root = ["src", "monitoring", ".metaflow", "mlflow.db", "flow.py", "__pycache__"]
    left_out = {"monitoring", ".metaflow", "mlflow.db", "__pycache__"}
    assert flow_cost.leave_out(str(flow_cost.ROOT), at_root) == left_out
    package = flow_cost.ROOT / "src" / flow_cost.MODULE
    assert flow_cost.leave_out(str(package), ["monitoring", "pipeline", "__pycache__"]) == {"__pycache__"}


def test_the_benchmark_counts_a_step_process_and_its_children_under_that_step(trained_project):
    """The per-step peak RSS: a process whose command line is a Metaflow task's (`... step <name> ...`) is counted,
    with its children (the card processes), under that step; the whole tree under the total."""
    flow_cost = load_flow_cost(trained_project[0])
    sleep = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
    task = subprocess.Popen([sys.executable, "-c", sleep + "time.sleep(30)", "step", "evaluate", "--run-id", "1"])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(flow_cost._descendants(task.pid, flow_cost._children())) < 2:
            time.sleep(0.1)
        total, steps = flow_cost.tree_rss(os.getpid())
        own = flow_cost._rss(task.pid)
        assert list(steps) == ["evaluate"] and steps["evaluate"] > own > 0  # the task and its child
        assert total > steps["evaluate"]  # this test's process too
        assert flow_cost._step_of(os.getpid()) is None
    finally:
        for pid in flow_cost._descendants(task.pid, flow_cost._children())[::-1]:
            os.kill(pid, signal.SIGKILL)
        task.wait()


def test_each_measured_size_gets_its_own_pinned_copy_even_at_the_floors_size(trained_project, tmp_path):
    """`flow_cost.py --rows 5000` measures the import floor at 5000 rows too: the two copies must not collide."""
    flow_cost = load_flow_cost(trained_project[0])
    env = project_env(PYTHONPATH="src")
    first, second = (flow_cost.prepare(300, tmp_path, env) for _ in range(2))
    assert first != second
    for project in (first, second):
        data = project / "data" / f"{flow_cost.MODULE}.csv"
        assert len(data.read_text().splitlines()) == 301  # a header and the rows asked for
        pinned = subprocess.run(["git", "show", f"HEAD:data/{data.name}.dvc"], cwd=project, capture_output=True)
        assert pinned.returncode == 0 and b"md5" in pinned.stdout

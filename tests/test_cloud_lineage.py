"""`make lineage` after a run under the cloud profile: a local run registers v1 in the project's own registry, then
`make up`, the profile's variables loaded, `python flow.py run` (its v1 is on the stack's MLflow server), `make down`.
The latest Bento is the cloud run's; lineage follows it by its run id, finds no such run in the local store, says so
in one line and never shows the local v1's chain."""

import re
import sys

import pytest

from .conftest import bake, decide_on_point, pin_demo_data, run
from .test_cloud_e2e import _profile

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _run_id(output: str) -> str:
    return re.search(r"MLflow run (\w+)\)", output)[1]


def test_lineage_of_a_cloud_run_names_the_missing_run_and_shows_no_local_version(tmp_path):
    project = pin_demo_data(decide_on_point(bake(tmp_path, scale_out=True)), 2000)
    home = str(tmp_path / "bentoml")
    flow = [sys.executable, "flow.py", "--no-pylint", "run"]
    local = run(flow, project, BENTOML_HOME=home)
    assert local.returncode == 0, local.stdout + local.stderr
    local_run = _run_id(local.stdout + local.stderr)
    up = run(["make", "up", f"PYTHON={sys.executable}"], project, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        pushed = run([sys.executable, "-m", "dvc", "push", "-q", "-r", "stack"], project)
        assert pushed.returncode == 0, pushed.stderr
        cloud = run(flow, project, BENTOML_HOME=home, **_profile(project))
        assert cloud.returncode == 0, cloud.stdout + cloud.stderr
    finally:
        down = run(["make", "down", f"PYTHON={sys.executable}"], project)
        assert down.returncode == 0, down.stdout + down.stderr
    cloud_output = cloud.stdout + cloud.stderr
    cloud_run = _run_id(cloud_output)
    assert "registry version 1" in cloud_output and cloud_run != local_run  # the same number, another registry

    lineage = run(["make", "-s", "lineage", f"PYTHON={sys.executable}"], project, BENTOML_HOME=home)
    output = lineage.stdout + lineage.stderr
    assert lineage.returncode != 0 and "Traceback" not in output, output
    missing = rf"^error: lineage broken: mlflow run {cloud_run}: not in the tracking store at sqlite:"
    assert re.search(missing, output, re.M), output
    assert "recorded by another tracking server" in output
    assert re.search(r"^\s*bento  \S", output, re.M)  # the links that hold are shown
    assert local_run not in output and "mlflow model version" not in output and "git commit" not in output

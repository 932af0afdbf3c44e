"""`python flow.py argo-workflows create --only-json` compiles a baked GPU project, with a sweep, into a valid Argo
WorkflowTemplate (checked with hera's models) against a local S3 datastore (moto): the training steps request the GPUs
and memory params.yaml names, the image comes from Metaflow's configuration, the steps that talk to stores are bounded
in time and not retried."""

import json
import sys

import pytest
import yaml

from .conftest import bake, run
from .moto_s3 import MotoS3

pytestmark = pytest.mark.e2e
IMAGE = "registry.example.com/team/credit-approval:1.2.3"
BUCKET = "metaflow-argo"
TIMEOUTS = {"start": 30 * 60, "select": 15 * 60, "package": 60 * 60}  # flow.py's @timeout, in seconds


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = MotoS3(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        server.wait_ready()
        server.create_bucket(BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, s3) -> dict:
    project = bake(tmp_path_factory.mktemp("argo"), compute="gpu")
    params = yaml.safe_load((project / "params.yaml").read_text())
    sweep = {"grid": {"training.learning_rate": [0.003, 0.01]}}
    params["training"] |= {"memory_mb": 6144, "sweep": sweep}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = s3.env(BUCKET) | {"METAFLOW_KUBERNETES_CONTAINER_IMAGE": IMAGE, "METAFLOW_KUBERNETES_MEMORY": "1024"}
    command = [sys.executable, "flow.py", "--no-pylint", "argo-workflows", "create", "--only-json"]
    done = run(command, project, 300, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout[done.stdout.index("{") :])


def _steps(document: dict) -> dict:
    """The templates that run a flow step (a container), by name."""
    return {t["name"]: t for t in document["spec"]["templates"] if "container" in t and "hook" not in t["name"]}


def test_compiles_to_a_valid_workflow_template(compiled):
    from hera.workflows.models.io.argoproj.workflow.v1alpha1 import WorkflowTemplate

    template = WorkflowTemplate.model_validate(compiled)
    assert template.kind == "WorkflowTemplate" and template.spec.templates
    steps = {"start", "split", "preprocess", "train", "fan-out", "train-candidate", "select", "evaluate", "gate"}
    assert steps | {"package", "end"} == set(_steps(compiled))


def test_the_sweep_is_a_foreach_over_the_candidates(compiled):
    templates = {t["name"]: t for t in compiled["spec"]["templates"]}
    (foreach,) = [t for t in templates.values() if t["name"].startswith("fan-out-foreach")]
    assert "train-candidate" in {task["template"] for task in foreach["dag"]["tasks"]}


def test_training_requests_the_gpus_and_memory_of_params_yaml(compiled):
    steps = _steps(compiled)
    for name in ("train", "train-candidate"):
        resources = steps[name]["container"]["resources"]
        assert resources["limits"]["nvidia.com/gpu"] == "1"  # training.gpus: 1 (compute=gpu)
        assert float(resources["requests"]["memory"].rstrip("M")) == 6144  # training.memory_mb
    # other steps: Kubernetes' default memory, lowered here by METAFLOW_KUBERNETES_MEMORY (else 4096 MB)
    assert float(steps["split"]["container"]["resources"]["requests"]["memory"].rstrip("M")) == 1024


def test_the_image_comes_from_metaflow_configuration(compiled):
    assert {step["container"]["image"] for step in _steps(compiled).values()} == {IMAGE}


def test_steps_that_talk_to_stores_are_bounded_in_time(compiled):
    steps = _steps(compiled)
    assert {name: steps[name]["activeDeadlineSeconds"] for name in TIMEOUTS} == TIMEOUTS
    assert steps["train"]["activeDeadlineSeconds"] == 5 * 24 * 3600  # Metaflow's default: training is not cut short
    # no step-level retries (flow.py says why: clients retry transient errors; a retried step repeats its verdict)
    assert not any("retryStrategy" in step for step in steps.values())

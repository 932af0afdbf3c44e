"""`python flow.py argo-workflows create --only-json` compiles a baked GPU project, with a sweep, into a valid Argo
WorkflowTemplate (checked with hera's models) against a local S3 datastore (moto): the training steps request the GPUs
and memory params.yaml names, the image comes from Metaflow's configuration, the steps that talk to stores are bounded
in time and not retried; multi-node training (training.nodes) compiles to a JobSet.

The retraining trigger (monitoring.retrain_event, monitoring.schedule): both flows deployed with `argo-workflows create`
to a recording Kubernetes API (kube_api.py; `--only-json` prints neither the Sensor nor the CronWorkflow): the
training flow's Sensor listens for the event and maps its payload's data_md5 to --data-md5; MonitorFlow runs on the
configured cron and its steps get the webhook URL to publish to; with no event configured, no trigger."""

import json
import re
import sys

import pytest
import yaml

from .conftest import FULL, bake, run
from .kube_api import RecordingKubeApi
from .moto_s3 import MotoS3

pytestmark = pytest.mark.e2e
IMAGE = "registry.example.com/team/credit-approval:1.2.3"
BUCKET = "metaflow-argo"
TIMEOUTS = {"start": 30 * 60, "select": 15 * 60, "package": 60 * 60}  # flow.py's @timeout, in seconds
EVENT, CRON = "retrain.credit-approval", "15 */6 * * *"
WEBHOOK = "http://webhook-eventsource-svc.argo-events:12000/metaflow-event"  # where a step publishes events
# what compiling a @trigger needs offline: Argo Events' event name, event source and the Sensor's service account
ARGO_EVENTS = {
    "METAFLOW_ARGO_EVENTS_EVENT": "metaflow-event",
    "METAFLOW_ARGO_EVENTS_EVENT_SOURCE": "argo-events-webhook",
    "METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT": "operate-workflow-sa",
    "METAFLOW_ARGO_EVENTS_WEBHOOK_URL": WEBHOOK,
}


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
def project(tmp_path_factory):
    """A GPU project with a sweep, the retraining event and a monitoring schedule; params-no-event.yaml without them."""
    project = bake(tmp_path_factory.mktemp("argo"), compute="gpu", **FULL)
    params = yaml.safe_load((project / "params.yaml").read_text())
    (project / "params-no-event.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sweep = {"grid": {"training.learning_rate": [0.003, 0.01]}}
    params["training"] |= {"memory_mb": 6144, "sweep": sweep}
    params["monitoring"] |= {"retrain_event": EVENT, "schedule": CRON}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return project


@pytest.fixture(scope="module")
def env(s3) -> dict:
    kubernetes = {"METAFLOW_KUBERNETES_CONTAINER_IMAGE": IMAGE, "METAFLOW_KUBERNETES_MEMORY": "1024"}
    return s3.env(BUCKET) | ARGO_EVENTS | kubernetes


def _only_json(project, env, *options) -> dict:
    command = [sys.executable, "flow.py", "--no-pylint", *options, "argo-workflows", "create", "--only-json"]
    done = run(command, project, 300, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout[done.stdout.index("{") :])


@pytest.fixture(scope="module")
def compiled(project, env) -> dict:
    return _only_json(project, env)


@pytest.fixture(scope="module")
def deployed(project, env, tmp_path_factory) -> RecordingKubeApi:
    """Both flows deployed with `argo-workflows create` to a recording Kubernetes API."""
    api = RecordingKubeApi()
    try:
        kubeconfig = api.kubeconfig(tmp_path_factory.mktemp("kube") / "config")
        for flow in ("flow.py", "monitor_flow.py"):  # the README's commands
            command = ["make", "-s", "argo", f"FLOW={flow}", f"PYTHON={sys.executable}"]
            done = run(command, project, 300, **env, KUBECONFIG=str(kubeconfig))
            assert done.returncode == 0, done.stdout + done.stderr
        yield api
    finally:
        api.stop()


def _steps(document: dict) -> dict:
    """The templates that run a flow step (a container), by name."""
    return {t["name"]: t for t in document["spec"]["templates"] if "container" in t and "hook" not in t["name"]}


def test_compiles_to_a_valid_workflow_template(compiled):
    from hera.workflows.models.io.argoproj.workflow.v1alpha1 import WorkflowTemplate

    template = WorkflowTemplate.model_validate(compiled)
    assert template.kind == "WorkflowTemplate" and template.spec.templates
    steps = {"start", "train", "fan-out", "train-candidate", "select", "evaluate"}
    assert steps | {"spread", "join-nodes", "package", "end"} == set(_steps(compiled))  # train-node: a JobSet, below


def test_the_sweep_is_a_foreach_over_the_candidates(compiled):
    templates = {t["name"]: t for t in compiled["spec"]["templates"]}
    (foreach,) = [t for t in templates.values() if t["name"].startswith("fan-out-foreach")]
    assert "train-candidate" in {task["template"] for task in foreach["dag"]["tasks"]}


def test_multi_node_training_is_a_jobset_of_one_control_pod_and_the_other_nodes_as_workers(compiled):
    """training.nodes > 1 takes the spread branch: train_node (@parallel) becomes a JobSet (the cluster needs the
    JobSet controller), with num_parallel from spread's output: one control pod and num_parallel - 1 workers, each
    asking for the training GPUs and memory of params.yaml."""
    templates = {t["name"]: t for t in compiled["spec"]["templates"]}
    resource = templates["train-node"]["resource"]
    assert resource["action"] == "create" and resource["successCondition"] == "status.terminalState == Completed"
    manifest = resource["manifest"]
    assert manifest.startswith("apiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\n")
    assert re.findall(r"^\s+- name: (control|worker)\n\s+replicas: (.+)$", manifest, re.M) == [
        ("control", "1"),
        ("worker", "{{=asInt(inputs.parameters.workerCount)}}"),
    ]
    (task,) = templates["spread-foreach-parallel"]["dag"]["tasks"]
    workers = {p["name"]: p["value"] for p in task["arguments"]["parameters"]}["workerCount"]
    assert workers == "{{=sprig.int(sprig.sub(sprig.int(inputs.parameters['num-parallel']),1))}}"
    control_pod = "{{inputs.parameters.jobset-name}}-control-0-0.{{inputs.parameters.jobset-name}}.default.svc"
    assert manifest.count(f"name: MF_MASTER_ADDR\n                value: '{control_pod}.cluster.local'") == 2
    assert manifest.count(f"image: {IMAGE}") == 2 and manifest.count("nvidia.com/gpu: '1'") >= 2
    assert manifest.count("memory: 6144.0M") >= 2  # training.memory_mb, on the control pod and the workers


def test_training_requests_the_gpus_and_memory_of_params_yaml(compiled):
    steps = _steps(compiled)
    for name in ("train", "train-candidate"):
        resources = steps[name]["container"]["resources"]
        assert resources["limits"]["nvidia.com/gpu"] == "1"  # training.gpus: 1 (compute=gpu)
        assert float(resources["requests"]["memory"].rstrip("M")) == 6144  # training.memory_mb
    # other steps: Kubernetes' default memory, lowered here by METAFLOW_KUBERNETES_MEMORY (else 4096 MB)
    assert float(steps["evaluate"]["container"]["resources"]["requests"]["memory"].rstrip("M")) == 1024


def test_the_image_comes_from_metaflow_configuration(compiled):
    assert {step["container"]["image"] for step in _steps(compiled).values()} == {IMAGE}


def test_steps_that_talk_to_stores_are_bounded_in_time(compiled):
    steps = _steps(compiled)
    assert {name: steps[name]["activeDeadlineSeconds"] for name in TIMEOUTS} == TIMEOUTS
    assert steps["train"]["activeDeadlineSeconds"] == 5 * 24 * 3600  # Metaflow's default: training is not cut short
    # no step-level retries (flow.py says why: clients retry transient errors; a retried step repeats its verdict)
    assert not any("retryStrategy" in step for step in steps.values())


def _template(deployed: RecordingKubeApi, flow: str) -> dict:
    (template,) = [t for t in deployed.objects("WorkflowTemplate") if flow in t["metadata"]["name"]]
    return template


def test_the_training_flow_retrains_on_the_event_with_the_data_version_it_names(deployed, compiled):
    assert json.loads(compiled["metadata"]["annotations"]["metaflow/triggers"]) == [{"name": EVENT, "type": "event"}]
    (sensor,) = deployed.objects("Sensor")
    (dependency,) = sensor["spec"]["dependencies"]
    assert dependency["eventName"] == "metaflow-event" and dependency["eventSourceName"] == "argo-events-webhook"
    assert [f["expr"] for f in dependency["filters"]["exprs"]] == [f"name == '{EVENT}'"]
    assert sensor["spec"]["template"]["serviceAccountName"] == "operate-workflow-sa"
    assert sensor["spec"]["eventBusName"] == "default"  # METAFLOW_ARGO_EVENTS_EVENT_BUS unset
    trigger = sensor["spec"]["triggers"][0]["template"]["k8s"]
    workflow = trigger["source"]["resource"]
    assert workflow["spec"]["workflowTemplateRef"]["name"] == _template(deployed, "trainingflow")["metadata"]["name"]
    (mapped,) = [p for p in trigger["parameters"] if p["dest"].endswith("(name=data-md5).value")]
    assert '(get $.Input.body.payload "data_md5" | toRawJson)' in mapped["src"]["dataTemplate"]
    assert mapped["src"]["value"] == json.dumps("")  # no data_md5 in the payload: the deployed pointer's version


def test_without_an_event_the_training_flow_has_no_trigger(project, env, compiled):
    untriggered = _only_json(project, env, "--config", "config", "params-no-event.yaml")
    assert "metaflow/triggers" not in untriggered["metadata"]["annotations"]
    assert "metaflow/triggers" in compiled["metadata"]["annotations"]  # the same project with the event: one


def test_a_trigger_without_argo_events_settings_is_refused_by_name(project, env):
    command = [sys.executable, "flow.py", "--no-pylint", "argo-workflows", "create", "--only-json"]
    done = run(command, project, 300, **{k: v for k, v in env.items() if k not in ARGO_EVENTS})
    assert done.returncode != 0 and "METAFLOW_ARGO_EVENTS_EVENT" in done.stdout + done.stderr


def test_the_monitor_runs_on_schedule_and_its_steps_can_publish(deployed):
    from hera.workflows.models.io.argoproj.workflow.v1alpha1 import WorkflowTemplate

    monitor = _template(deployed, "monitorflow")
    WorkflowTemplate.model_validate(monitor)
    (cron,) = deployed.objects("CronWorkflow")
    assert cron["spec"]["schedule"] == CRON and not cron["spec"]["suspend"]
    assert cron["spec"]["workflowSpec"] == {"workflowTemplateRef": {"name": monitor["metadata"]["name"]}}  # defaults
    assert "retrain-data-md5" in {p["name"] for p in monitor["spec"]["arguments"]["parameters"]}
    end = {e["name"]: e.get("value") for e in _steps(monitor)["end"]["container"]["env"]}
    assert end["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"] == WEBHOOK  # where ArgoEvent posts
    assert end["ARGO_WORKFLOW_TEMPLATE"] == monitor["metadata"]["name"]  # retrain_event.on_argo() is true there

"""The cloud profile on loopback: `make up` (S3 on moto, PostgreSQL, an MLflow server on them), the flow compiled for
Argo Workflows under the profile, and every step run as its pod would run it: the container command Metaflow compiled,
verbatim, in a private mount namespace whose /tmp and /mnt are empty (the project, its data, its git checkout and its
MLflow and BentoML stores are out of reach), with only the container's environment plus the credentials a pod's secret
gives. One flow run; the proofs are read back from S3, the MLflow server's REST API and its PostgreSQL tables."""

import base64
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from .conftest import bake, decide_on_point, pin_demo_data, run

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")]

VENV_BIN = str(Path(sys.executable).parent)
IMAGE_VENV = str(Path(sys.executable).parent.parent)  # what the image has installed: this venv
# what the image and the pod's secret give a container besides the env Metaflow compiled into the template
SECRET = {"AWS_ACCESS_KEY_ID": "stack", "AWS_SECRET_ACCESS_KEY": "stack"}
IMAGE_ENV = {
    "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp/home",  # in the pod's own /tmp: BentoML's default store goes with the pod
    "LANG": "C.UTF-8",
    "METAFLOW_SKIP_INSTALL_DEPENDENCIES": "1",  # the image has the project's requirements installed
}
# the pod: private mounts, an empty /tmp and /mnt (Argo's /mnt/out), the container command run in /tmp/pod; then
# what the pod held, for the test to judge
POD = r"""
set -e
# the image's venv ($2) stays at its own path even when it lives under /tmp (a CI checkout): bound aside, then back
mkdir -p /run/pod-image && mount --bind "$2" /run/pod-image
mount -t tmpfs pod /tmp && mount -t tmpfs pod /mnt && mkdir -p /mnt/out /tmp/pod /tmp/home
mkdir -p "$2" && mount --bind /run/pod-image "$2" && cd /tmp/pod
cmd="$POD_COMMAND"; unset POD_COMMAND
echo "POD-BEFORE $(ls -A | wc -l)"
echo "POD-SEES-PROJECT $([ -e "$1" ] && echo yes || echo no)"
set +e; bash -c "$cmd"; code=$?
echo "POD-TASK-ID $(cat /mnt/out/task_id 2>/dev/null)"
echo "POD-SWITCH $(cat /mnt/out/switch_step 2>/dev/null)"
echo "POD-PACKAGE $(tar -tzf /tmp/pod/metaflow/job.tar | grep -v '^\.mf_code/' | sort | tr '\n' ' ')"
echo "POD-DATA $(ls /tmp/pod/metaflow/data | tr '\n' ' ')"
echo "POD-GIT $(ls -d /tmp/pod/metaflow/.git 2>/dev/null || echo none)"
exit $code
"""


def _profile(project: Path) -> dict[str, str]:
    lines = (project / ".stack" / "cloud.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A baked project with 2000 pinned rows, its stack up (`make up`), its data pushed to the stack's DVC remote."""
    project = pin_demo_data(decide_on_point(bake(tmp_path_factory.mktemp("cloud"), scale_out=True)), 2000)
    up = run(["make", "up", f"PYTHON={sys.executable}"], project, timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        pushed = run([sys.executable, "-m", "dvc", "push", "-q", "-r", "stack"], project)
        assert pushed.returncode == 0, pushed.stderr
        yield project, _profile(project)
    finally:
        recorded = project / ".stack" / "pids.json"
        pids = json.loads(recorded.read_text()) if recorded.exists() else {}
        postgres_children = _children(pids["postgres"]) if "postgres" in pids else []
        down = run(["make", "down", f"PYTHON={sys.executable}"], project)
        assert down.returncode == 0, down.stdout + down.stderr
        assert pids and all(_stopped(pid) for pid in pids.values())  # exactly the servers `make up` started
        # PostgreSQL's own processes (their sessions are their own) went with it, and it shut down cleanly
        assert postgres_children and all(_stopped(pid) for pid in postgres_children)
        assert not (project / ".stack" / "postgres" / "postmaster.pid").exists()


def _stopped(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text()


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (PostgreSQL's checkpointer, WAL writer, ...)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if re.search(rf"^PPid:\s+{pid}$", status.read_text(), re.M):
                found.append(int(status.parent.name))
        except OSError:  # gone meanwhile
            continue
    return found


def _postgres_rows(project: Path, query: str, *args) -> list[tuple]:
    """Rows from the stack's PostgreSQL, reached through the port in its postmaster.pid (its 4th line)."""
    import psycopg2

    state = project / ".stack"
    port = (state / "postgres" / "postmaster.pid").read_text().splitlines()[3]
    password = (state / "postgres.password").read_text().strip()
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="stack", password=password, dbname="mlflow")
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, args)
            return cursor.fetchall()
    finally:
        connection.close()


def _compile(project: Path) -> dict:
    """`make argo` under the stack's profile, printing only: Metaflow uploads the code package to S3 and prints the
    WorkflowTemplate whose pods would run the steps."""
    argo = ["make", "-s", "argo", "PROFILE=.stack/cloud.env", "ARGS=--only-json", f"PYTHON={sys.executable}"]
    done = run(argo, project)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout[done.stdout.index("{") :])


def _fill(text: str, workflow: str, task_ids: dict[str, str], defaults: dict[str, str]) -> str:
    """What Argo substitutes into a template before the pod starts; a skipped task's outputs stay unresolved, as Argo
    leaves them (Metaflow's conditional_input_paths drops those paths)."""
    text = text.replace("{{workflow.name}}", workflow).replace("{{workflow.creationTimestamp}}", "2026-01-01T00:00:00Z")
    task_id = lambda m: task_ids.get(m.group(1), m.group(0))  # noqa: E731
    text = re.sub(r"\{\{tasks\.([\w-]+)\.outputs\.parameters\.task-id\}\}", task_id, text)
    base64_of = lambda m: base64.b64encode(defaults[m.group(1)].encode()).decode()  # noqa: E731
    return re.sub(r"\{\{=toBase64\(workflow\.parameters\['([\w-]+)'\]\)\}\}", base64_of, text)


def _command(container: dict, input_paths: str) -> str:
    encoded = base64.b64encode(input_paths.encode()).decode()
    command = container["command"][2].replace("{{=toBase64(inputs.parameters['input-paths'])}}", encoded)
    return command.replace("{{inputs.parameters.input-paths}}", input_paths)


def _runs(task: dict, status: dict[str, str], switches: dict[str, str]) -> bool:
    """Argo's `depends` (any alternative succeeded) and `when` (a switch step chose this branch) for the DAG's task."""
    if _deps(task) and not any(status[d.split(".")[0]] == "ok" for d in _deps(task)):
        return False
    when = task.get("when")
    if not when:
        return True
    chosen = re.findall(r"tasks\['([\w-]+)'\]\.outputs\.parameters\['switch-step'\] : nil\) == '([\w-]+)'", when)
    chosen += re.findall(r"\{\{tasks\.([\w-]+)\.outputs\.parameters\.switch-step\}\}==([\w-]+)", when)
    succeeded = re.findall(r"\{\{tasks\.([\w-]+)\.status\}\}==Succeeded", when)
    return any(switches.get(t) == step for t, step in chosen) or any(status.get(t) == "ok" for t in succeeded)


def _run_pods(workflow_template: dict, project: Path) -> tuple[str, list[dict]]:
    """Run the DAG's tasks in order, each as its pod; return the run id and what each pod held."""
    spec = workflow_template["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    dag = templates[spec["entrypoint"]]["dag"]["tasks"]
    defaults = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    workflow, task_ids, switches, pods = f"podsim-{uuid.uuid4().hex[:8]}", {}, {}, []
    status: dict[str, str] = {}  # task -> "ok" | "skipped"
    while len(status) < len(dag):
        task = next(t for t in dag if t["name"] not in status and all(d.split(".")[0] in status for d in _deps(t)))
        if not _runs(task, status, switches):
            status[task["name"]] = "skipped"
            continue
        container = templates[task["template"]]["container"]
        inputs = {p["name"]: p["value"] for p in task.get("arguments", {}).get("parameters", [])}
        input_paths = _fill(inputs.get("input-paths", ""), workflow, task_ids, defaults)
        env = {e["name"]: _fill(e["value"], workflow, task_ids, defaults) for e in container["env"] if e["value"]}
        env |= _downward_api(f"{workflow}-{task['name']}") | SECRET | IMAGE_ENV
        env["POD_COMMAND"] = _fill(_command(container, input_paths), workflow, task_ids, defaults)
        pod = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", POD, "pod", str(project), IMAGE_VENV],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert pod.returncode == 0, f"step {task['name']}:\n{pod.stdout[-6000:]}\n{pod.stderr[-6000:]}"
        facts = dict(re.findall(r"^(POD-[A-Z-]+) ?(.*)$", pod.stdout, re.M))
        task_ids[task["name"]], switches[task["name"]] = facts["POD-TASK-ID"], facts["POD-SWITCH"]
        pods.append({"step": task["name"], "env": env, "output": pod.stdout + pod.stderr} | facts)
        status[task["name"]] = "ok"
    return f"argo-{workflow}", pods


def _downward_api(pod: str) -> dict[str, str]:
    """The values Kubernetes fills into the container's fieldRef variables."""
    names = ("NAMESPACE", "POD_NAMESPACE", "POD_NAME", "POD_ID", "SERVICE_ACCOUNT_NAME", "NODE_IP")
    values = ("default", "default", pod, str(uuid.uuid4()), "default", "127.0.0.1")
    return {f"METAFLOW_KUBERNETES_{n}": v for n, v in zip(names, values, strict=True)}


def _deps(task: dict) -> list[str]:
    """The tasks named in `depends` ("a.Succeeded", or alternatives joined by ||)."""
    return [d for d in re.split(r"\s*(?:&&|\|\|)\s*", task.get("depends", "")) if d]


def _mlflow(profile: dict[str, str], path: str, **params) -> dict:
    answer = requests.get(f"{profile['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/{path}", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _s3_keys(profile: dict[str, str], prefix: str) -> list[str]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=profile["AWS_ENDPOINT_URL"],
        aws_access_key_id=profile["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=profile["AWS_SECRET_ACCESS_KEY"],
        region_name=profile["AWS_DEFAULT_REGION"],
    )
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    return [f"s3://{bucket}/{o['Key']}" for page in pages for o in page.get("Contents", [])]


def test_flow_runs_as_pods_under_the_cloud_profile(stack, tmp_path):
    project, profile = stack
    module = project.name.replace("-", "_")
    data = project / "data" / f"{module}.csv"
    pinned_md5 = yaml.safe_load((project / f"{data}.dvc").read_text())["outs"][0]["md5"]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    assert project.is_relative_to("/tmp")  # the pods' private /tmp hides it
    data.unlink()  # only the S3 DVC remote can supply the data now
    shutil.rmtree(project / ".dvc" / "cache", ignore_errors=True)

    run_id, pods = _run_pods(_compile(project), project)

    steps = [p["step"] for p in pods]
    assert steps == ["start", "train", "evaluate", "package", "end"]
    for pod in pods:  # each pod started empty, outside the project, without a git checkout or a data file
        assert pod["POD-BEFORE"] == "0", pod["output"][-3000:]
        assert pod["POD-SEES-PROJECT"] == "no"  # a step that reached for the workspace would fail
        assert pod["POD-GIT"] == "none"
        package = pod["POD-PACKAGE"].split()  # Metaflow's code package, as the pod downloaded it from S3
        assert {"flow.py", "params.yaml", f"data/{module}.csv.dvc", "bentofile.yaml", "launch-git.json"} <= set(package)
        assert {"requirements.txt", "requirements-serve.txt", f"src/{module}/scale/cloud.py"} <= set(package)
        assert f"data/{module}.csv" not in package and not any(f.startswith(".metaflow/") for f in package)
        assert pod["POD-DATA"].split() == [f"{module}.csv.dvc"]  # the step read the data without writing it here
        assert pod["env"]["MLFLOW_TRACKING_URI"] == profile["MLFLOW_TRACKING_URI"]  # forwarded by the profile
        assert pod["env"]["CLOUD_DVC_REMOTE"] == profile["CLOUD_DVC_REMOTE"]
        assert "BENTOML_HOME" not in pod["env"] and "PYTHONPATH" not in pod["env"]
    assert not data.exists()  # no step wrote the workspace

    # Metaflow's datastore is the bucket: the code package and every task's artifacts
    keys = _s3_keys(profile, f"{profile['METAFLOW_DATASTORE_SYSROOT_S3']}/TrainingFlow/")
    assert any(f"/TrainingFlow/{run_id}/package/" in k for k in keys), keys[:20]
    assert any("/TrainingFlow/data/" in k for k in keys)

    # the MLflow run on the server: finished, with the launch's commit and the data read from the DVC remote
    model_name = yaml.safe_load((project / "params.yaml").read_text())["packaging"]["model_name"]
    experiment = _mlflow(profile, "experiments/get-by-name", experiment_name=model_name)["experiment"]
    found = requests.post(
        f"{profile['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [experiment["experiment_id"]], "filter": f"tags.`metaflow.run_id` = '{run_id}'"},
        timeout=30,
    ).json()["runs"]
    assert len(found) == 1
    mlflow_run = found[0]
    tags = {t["key"]: t["value"] for t in mlflow_run["data"]["tags"]}
    assert mlflow_run["info"]["status"] == "FINISHED"
    assert tags["git.commit"] == commit and tags["git.dirty"] == "False"
    assert tags["data.remote"] == profile["CLOUD_DVC_REMOTE"] and tags["data.md5"] == pinned_md5
    assert tags["canonical"] == "true", tags.get("canonical.why_not")
    assert mlflow_run["info"]["artifact_uri"].startswith("mlflow-artifacts:")
    assert _s3_keys(profile, f"s3://{profile['METAFLOW_DATASTORE_SYSROOT_S3'].split('/')[2]}/mlartifacts/")

    # the model registered on the server; the BentoML model and the Bento exported to S3, and importable
    version = _mlflow(profile, "registered-models/get", name=model_name)["registered_model"]
    aliases = {a["alias"]: a["version"] for a in version.get("aliases", [])}
    assert aliases.get("champion") == "1"
    model_version = _mlflow(profile, "model-versions/get", name=model_name, version="1")["model_version"]
    version_tags = {t["key"]: t["value"] for t in model_version["tags"]}
    assert model_version["run_id"] == mlflow_run["info"]["run_id"]

    # the server keeps them in the stack's PostgreSQL: the postmaster `make up` recorded, on .stack/postgres
    state = project / ".stack"
    postmaster = int((state / "postgres" / "postmaster.pid").read_text().splitlines()[0])
    assert postmaster == json.loads((state / "pids.json").read_text())["postgres"]
    settings = dict(_postgres_rows(project, "SELECT name, setting FROM pg_settings"))
    assert settings["data_directory"] == str(state / "postgres")
    assert (settings["listen_addresses"], settings["unix_socket_directories"]) == ("127.0.0.1", "")  # no Unix socket
    assert settings["fsync"] == "off"  # a scratch store
    assert _postgres_rows(project, "SELECT DISTINCT auth_method FROM pg_hba_file_rules") == [("scram-sha-256",)]
    owner = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()  # root may not run it
    assert re.search(rf"^Uid:\s+{owner}\s", Path(f"/proc/{postmaster}/status").read_text(), re.M)
    runs_sql = "SELECT status, experiment_id FROM runs WHERE run_uuid = %s"
    experiment_id = int(experiment["experiment_id"])
    assert _postgres_rows(project, runs_sql, model_version["run_id"]) == [("FINISHED", experiment_id)]
    versions_sql = "SELECT version, run_id FROM model_versions WHERE name = %s"
    assert _postgres_rows(project, versions_sql, model_name) == [(1, model_version["run_id"])]
    aliases_sql = "SELECT alias, version FROM registered_model_aliases WHERE name = %s"
    assert {alias: str(v) for alias, v in _postgres_rows(project, aliases_sql, model_name)} == aliases
    assert not list(state.glob("*.db"))  # no SQLite store beside it

    bento_url = version_tags["bentoml.bento_url"]
    assert bento_url.startswith(profile["CLOUD_BENTO_STORE"]) and bento_url in _s3_keys(profile, bento_url)
    assert version_tags["bentoml.model_url"] in _s3_keys(profile, version_tags["bentoml.model_url"])
    home = tmp_path / "bentoml"
    imported = run([f"{VENV_BIN}/bentoml", "import", bento_url], project, BENTOML_HOME=str(home), **profile)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert (home / "bentos" / version_tags["bentoml.bento"].replace(":", "/") / "bento.yaml").is_file()

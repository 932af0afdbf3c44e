"""DVC pins the data, MLflow records lineage, snapshots tag code + data, reproduce proves it: real git, DVC, MLflow."""

import json
import re
import subprocess
import sys

import pytest
import yaml

from .conftest import copy_trained, latest_run, mlflow_client, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # several trainings
MODULE = "credit_approval_model"
DATA = f"data/{MODULE}.csv"


def git(project, *args):
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True).stdout.strip()


def dvc(project, *args):
    return run([sys.executable, "-m", "dvc", *args], project)


def flow(project, *args, config=None):
    cmd = [sys.executable, "flow.py", "--no-pylint", *(["--config", "config", config] if config else []), "run", *args]
    done = run(cmd, project, BENTOML_HOME=str(project.parent / "bentoml"))
    return done.returncode, done.stdout + done.stderr


def cli(project, *args):
    done = run(
        [sys.executable, "-m", f"{MODULE}.cli", *args],
        project,
        PYTHONPATH="src",
        BENTOML_HOME=str(project.parent / "bentoml"),
    )
    return done.returncode, done.stdout + done.stderr


def mlflow_run_id(output: str) -> str:
    return re.search(r"MLflow run (\w+)\)", output)[1]


def pinned_md5(project) -> str:
    return yaml.safe_load((project / f"{DATA}.dvc").read_text())["outs"][0]["md5"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_project):
    """A baked project with smaller demo data committed through DVC, one flow run (the shared trained project, copied),
    and snapshot v1."""
    project, _, _ = copy_trained(trained_project, tmp_path_factory.mktemp("repro"))
    code, output = cli(project, "snapshot", "v1", "-m", "first snapshot")
    assert code == 0, output
    return project


@pytest.fixture(scope="module")
def client(project):
    return mlflow_client(project)


def test_run_records_lineage_and_registers_model(project, client, monkeypatch):
    snapshot = git(project, "tag", "-l", "--format=%(contents)", "v1")
    run_id = re.search(r'"mlflow_run_id": "(\w+)"', snapshot)[1]
    record = client.get_run(run_id)
    tags, params = record.data.tags, record.data.params
    assert record.info.status == "FINISHED"
    assert tags["git.commit"] == git(project, "rev-parse", "HEAD") and tags["git.dirty"] == "False"
    assert tags["data.md5"] == pinned_md5(project) and tags["data.pinned"] == "True"
    assert tags["metaflow.pathspec"].startswith("TrainingFlow/") and tags["seed"] == "42"
    assert tags["train.threads"] == "1"  # params.yaml's training.threads, as training ran
    assert tags["version.torch"].startswith("2.13.0") and re.fullmatch(r"[0-9a-f]{64}", tags["weights_sha256"])
    assert params["training.max_epochs"] == "15" and params["data.target"] == "approved"
    assert len(client.get_metric_history(run_id, "val_loss")) == record.data.metrics["train.epochs_run"] <= 15
    assert 0.5 < record.data.metrics["test_roc_auc"] <= 1
    assert "environment" in [a.path for a in client.list_artifacts(run_id)]
    (data,) = record.inputs.dataset_inputs  # the training table as an MLflow dataset: the DVC md5 is its digest
    assert (data.dataset.name, data.dataset.digest) == (DATA, pinned_md5(project))
    assert {t.key: t.value for t in data.tags}["mlflow.data.context"] == "training"
    assert json.loads(data.dataset.profile)["num_rows"] == len((project / DATA).read_text().splitlines()) - 1

    version = client.get_model_version_by_alias(MODULE, "champion")
    assert version.run_id == run_id and {"candidate", "champion"} <= set(version.aliases)
    import mlflow.pyfunc
    import pandas as pd

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")  # undone after the test
    model = mlflow.pyfunc.load_model(f"models:/{MODULE}@champion")
    assert model.metadata.signature is not None
    frame = pd.read_csv(project / DATA).drop(columns=["approved", "sex"]).head(4)
    predictions = model.predict(frame)
    assert list(predictions.columns) == ["label", "probability", "probabilities.0", "probabilities.1"]
    assert len(predictions) == 4


def test_untouched_snapshot_reproduces_exactly_whatever_the_registry_says_today(project, client):
    """The champion gate was judged against the registry as it was: reproduce compares that recorded verdict and does
    not re-judge it. Here today's champion cannot even be scored (a version whose artifacts are no model)."""
    run_id = client.get_model_version_by_alias(MODULE, "champion").run_id
    source = f"{client.get_run(run_id).info.artifact_uri}/environment"
    broken = client.create_model_version(MODULE, source, run_id=run_id).version
    client.set_registered_model_alias(MODULE, "champion", broken)
    try:
        code, output = cli(project, "reproduce", "v1")
    finally:
        client.set_registered_model_alias(MODULE, "champion", "1")
    assert code == 0, output
    assert "v1: reproduced exactly" in output and "differs" not in output
    assert re.search(r"gate.champion\s+passed\s+not re-judged", output)
    assert re.search(r"gate.fairness\s+passed\s+passed", output)  # the recorded verdicts, compared


def test_reproduce_names_a_param_and_data_difference(project, client):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["training"]["max_epochs"] = 3
    (project / "other.yaml").write_text(yaml.safe_dump(params))
    data = project / DATA
    original = data.read_bytes()
    data.write_bytes(original + original.split(b"\n", 2)[1] + b"\n")  # one duplicated row: other bytes, other hash
    try:
        flags = ["--allow-unpinned-data", "true", "--publish", "false", "--skip-gates", "performance,fairness,champion"]
        code, output = flow(project, *flags, config="other.yaml")
    finally:
        data.write_bytes(original)
    assert code == 0, output
    other = mlflow_run_id(output)
    tags = client.get_run(other).data.tags
    assert tags["data.pinned"] == "False"  # the opt-out is marked in lineage
    assert tags["canonical"] == "false"  # and the run can never stand for its commit in a snapshot
    for reason in ("data not pinned", "--allow-unpinned-data", "config other.yaml", "--skip-gates performance"):
        assert reason in tags["canonical.why_not"]
    code, output = cli(project, "reproduce", "v1", "--against", other)
    assert code == 1
    assert re.search(r"param training.max_epochs\s+3\s+15\s+<-- differs", output), output
    assert re.search(r"data.md5\s+\w+\s+\w+\s+<-- differs", output), output
    assert re.search(r"gate.performance\s+skipped\s+passed\s+<-- differs", output), output  # against: skipped
    assert "v1: NOT reproduced" in output


def test_reproduce_with_a_damaged_remote_says_what_dvc_says(project):
    """DVC's own reason comes through (`dvc pull -q` hid it): the md5 missing from the remote and the file."""
    md5 = pinned_md5(project)
    blob = project / ".dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]
    aside = blob.rename(project.parent / "aside")
    try:
        code, output = cli(project, "reproduce", "v1")
    finally:
        aside.rename(blob)
    assert code != 0 and "dvc pull` failed:" in output and "Traceback" not in output
    assert f"md5: {md5}" in output and f"Checkout failed for following targets:\n{DATA}" in output


def test_tampered_data_is_refused_and_the_run_marked_failed(project, client):
    data = project / DATA
    original = data.read_bytes()
    data.write_bytes(original.replace(b",1\n", b",0\n", 5))  # five labels flipped
    assert data.read_bytes() != original
    try:
        code, output = flow(project)
    finally:
        data.write_bytes(original)
    assert code != 0
    assert f"{DATA} does not match its pointer {DATA}.dvc" in output
    assert pinned_md5(project) in output and f"dvc checkout --force {DATA}.dvc" in output
    failed = latest_run(client, MODULE)
    assert failed.info.status == "FAILED" and failed.data.tags["failed_step"] == "start"


def test_snapshot_refuses_dirty_tree_and_changed_data(project):
    params = project / "params.yaml"
    original = params.read_text()
    params.write_text(original.replace("seed: 42", "seed: 43"))
    try:
        code, output = cli(project, "snapshot", "v-dirty")
    finally:
        params.write_text(original)
    assert code == 2 and "uncommitted changes" in output
    data = project / DATA
    saved = data.read_bytes()
    data.write_bytes(saved + saved.split(b"\n", 2)[1] + b"\n")
    try:
        code, output = cli(project, "snapshot", "v-data")
    finally:
        data.write_bytes(saved)
    assert code == 2 and "data differs from its .dvc pointers" in output
    assert "v-dirty" not in git(project, "tag") and "v-data" not in git(project, "tag")
    code, output = cli(project, "snapshot", "v1")  # taken by the first snapshot
    assert code == 2 and "tag 'v1' already exists: choose another name" in output and "fatal:" not in output


def test_lineage_chain_of_the_served_model(project):
    code, output = cli(project, "lineage")
    assert code == 0, output
    head = git(project, "rev-parse", "HEAD")
    for link in ("bento", "bentoml model", "mlflow model version", "mlflow run", "metaflow run", "git commit", "data"):
        assert re.search(rf"^\s*{link}  \S", output, re.M), (link, output)
    assert head in output and pinned_md5(project) in output
    assert re.search(r"snapshot  v1$", output, re.M) and "champion" in output


def test_example_then_snapshot_needs_no_rerun(project, client):
    """`make example` then commit then `make snapshot`: the run of the previous commit still stands for this one, since
    only examples/ changed; a change to the code or params would need a new run."""
    v1_run = json.loads(re.search(r"\{.*\}", git(project, "tag", "-l", "--format=%(contents)", "v1"), re.S)[0])
    code, output = cli(project, "example", "--rows", "3")
    assert code == 0, output
    git(project, "commit", "-qam", "request example for three rows")
    code, output = cli(project, "snapshot", "v2")
    assert code == 0, output
    record = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert record["mlflow_run_id"] == v1_run["mlflow_run_id"] and record["run_commit"] == v1_run["commit"]
    assert record["commit"] == git(project, "rev-parse", "HEAD")


def test_training_on_an_older_tag_reads_that_data(project, client):
    old_md5 = pinned_md5(project)
    assert (
        run(
            [sys.executable, f"src/{MODULE}/pipeline/demo_data.py", "--rows", "900", "--seed", "3", "--out", DATA],
            project,
        ).returncode
        == 0
    )
    assert dvc(project, "add", "-q", DATA).returncode == 0
    git(project, "commit", "-qam", "new data version")
    assert pinned_md5(project) != old_md5
    code, output = flow(project, "--data-rev", "v1", "--publish", "false")
    assert code == 0, output
    tags = client.get_run(mlflow_run_id(output)).data.tags
    assert tags["data.md5"] == old_md5 and tags["data.rev"] == "v1"
    assert "loaded 5000 rows" in output
    assert pinned_md5(project) != old_md5 and len((project / DATA).read_text().splitlines()) == 901  # untouched
    assert tags["canonical"] == "false" and "data at --data-rev v1" in tags["canonical.why_not"]
    code, output = cli(project, "snapshot", "v3")  # the only run of this commit read other data: refused
    assert code == 2 and "no canonical run of commit" in output and "data at --data-rev v1" in output

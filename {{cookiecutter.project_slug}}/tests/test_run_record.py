"""The run record against a real MLflow store: what its writers record its readers give back typed, and lineage follows
a model by its run id, never by a registry version number."""

import json

import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.lineage import provenance, run_record, tracking


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """An empty SQLite tracking store as the project's store; the experiment's artifacts under tmp_path."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    MlflowClient(tracking_uri=uri).create_experiment("m", artifact_location=(tmp_path / "artifacts").as_uri())
    return tmp_path


DATA = {"path": "data/d.csv", "rev": "workspace", "md5": "0123456789abcdef0123456789abcdef", "pinned": True}


def trained(commit: str = "c1", data: dict = DATA) -> str:
    """A run with what the flow's start records (commit, data{{ ", canonical" if cookiecutter.snapshots }}) and a registered version of it."""
    run_id = tracking.start_run("m", "r", {run_record.COMMIT: commit})
    tracking.log(run_id, params={"seed": 42, "data.target": "y", "split.test_size": 0.2, "split.validation_size": 0.1})
    run_record.record_data(run_id, data{{ ", why_not=[]" if cookiecutter.snapshots }})
    client = tracking.client()
    if not client.search_registered_models("name = 'm'"):
        client.create_registered_model("m")
    client.create_model_version("m", "file:///nowhere", run_id=run_id)
    return run_id


def test_what_the_writers_record_the_reader_gives_back_typed(store):
    run_id = trained()
    verdicts = [
        {"gate": "performance", "passed": False, "checks": [{"state": "failed", "name": "auc", "detail": "0.6 < 0.8"}]},
        {"gate": "champion", "passed": True, "skipped": True, "checks": []},
    ]
    run_record.record_evaluation(run_id, {"accuracy": 0.9}, verdicts)
    run_record.fail(run_id, "package", "GateFailed: performance")
    record = run_record.find(run_id)
    assert (record.commit, record.data_md5, record.data_rev) == ("c1", DATA["md5"], "workspace")
    assert record.data_pinned is True
    assert {{ 'record.canonical and record.why_not == "" and ' if cookiecutter.snapshots }}record.seed == 42 and record.split.test_size == 0.2
    assert record.gates == {"performance": "failed", "champion": "skipped"}
    assert record.failed_checks("performance") == {"auc": "0.6 < 0.8"}
    assert (record.status, record.failed_step, record.metrics["test_accuracy"]) == ("FAILED", "package", 0.9)
    assert run_record.find("0" * 32) is None  # not in this store


def test_the_training_data_is_an_mlflow_dataset_whose_digest_is_the_dvc_md5(store):
    run_id = trained()
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    run_record.log_dataset(run_id, table, DATA, "y")
    (found,) = tracking.client().get_run(run_id).inputs.dataset_inputs
    assert (found.dataset.name, found.dataset.digest) == (DATA["path"], DATA["md5"])
    assert json.loads(found.dataset.source)["uri"].endswith(DATA["path"]) and '"y"' in found.dataset.schema
    assert json.loads(found.dataset.profile)["num_rows"] == 3
    assert {tag.key: tag.value for tag in found.tags}["mlflow.data.context"] == "training"
    other = trained()  # read from a DVC remote MLflow has no dataset source for: the pointer's path stands for it
    run_record.log_dataset(other, table, DATA | {"rev": "remote", "remote": "ssh://host/dvc"}, "y")
    (found,) = tracking.client().get_run(other).inputs.dataset_inputs
    assert json.loads(found.dataset.source)["uri"].endswith(DATA["path"]) and found.dataset.digest == DATA["md5"]


def test_lineage_finds_the_registry_version_by_run_id_not_by_number(store):
    other = trained(commit="unrelated")  # v1
    mine = trained(commit="mine")  # v2
    tracking.client().set_registered_model_alias("m", "champion", "2")
    labels = run_record.ModelLabels(run_id=mine, version="1", data_md5=DATA["md5"])  # a version number from elsewhere
    rows, broken = provenance.verify("m", labels)
    shown = dict(rows)
    assert broken == "" and shown["mlflow run"].startswith(mine) and shown["git commit"] == "mine"
    version = shown["mlflow model version"]
    assert version.startswith("m v2 (champion;") and "the model's label says v1" in version
    assert other not in str(rows) and "unrelated" not in str(rows)


def test_a_run_this_store_lacks_is_named_and_no_other_chain_is_shown(store):
    other = trained(commit="unrelated")  # v1, the number the missing run's model was given elsewhere
    labels = run_record.ModelLabels(run_id="f" * 32, version="1", data_md5=DATA["md5"])
    rows, broken = provenance.verify("m", labels)
    assert rows == [] and f"mlflow run {'f' * 32}: not in the tracking store" in broken
    assert "another tracking server" in broken and other not in broken
    deleted = trained(commit="gone")
    tracking.client().delete_run(deleted)
    rows, broken = provenance.verify("m", run_record.ModelLabels(run_id=deleted, version="2"))
    assert rows == [] and "(it was deleted)" in broken


def test_a_tracking_server_that_is_down_is_named_in_one_line(monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nothing listens on: the stack after `make down`
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    rows, broken = provenance.verify("m", run_record.ModelLabels(run_id="f" * 32))
    assert rows == [] and broken.startswith(f"the tracking store at http://127.0.0.1:{port} cannot be read (")


def test_a_model_whose_data_differs_from_its_runs_is_refused(store):
    run_id = trained()
    rows, broken = provenance.verify("m", run_record.ModelLabels(run_id=run_id, version="1", data_md5="e" * 32))
    assert rows == [] and f"trained on data md5 {DATA['md5']}, the model says {'e' * 32}" in broken


def test_a_run_with_no_registry_version_says_so(store):
    run_id = tracking.start_run("m", "r", {run_record.COMMIT: "c"})
    rows, broken = provenance.verify("m", run_record.ModelLabels(run_id=run_id))
    assert rows[0][0] == "mlflow run" and broken == "no m registry version is of that run"

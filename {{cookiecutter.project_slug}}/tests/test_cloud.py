"""The cloud profile's pieces without a cluster: what is forwarded, what is packaged, git facts from the launch, and
data read through DVC from a remote alone (a local-directory remote stands in for S3)."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.module_name }}.config import PROJECT_ROOT
from {{ cookiecutter.module_name }}.lineage.git import LAUNCH_GIT, git_facts
from {{ cookiecutter.module_name }}.lineage.lineage import DataNotPinned, read_data
from {{ cookiecutter.module_name }}.scale import cloud
from {{ cookiecutter.module_name }}.scale.stack import profile

DATA = "data/{{ cookiecutter.module_name }}.csv"


def test_nothing_is_forwarded_without_a_profile_and_credentials_never_are(monkeypatch):
    monkeypatch.delenv("METAFLOW_DEFAULT_DATASTORE", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")  # a tracking server alone: still local steps
    assert cloud.forwarded_env() == {}
    for name, value in profile(9000, 5000).items():
        monkeypatch.setenv(name, value)
    forwarded = cloud.forwarded_env()
    assert forwarded["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    assert forwarded["CLOUD_DVC_REMOTE"].startswith("s3://")
    assert forwarded["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert not any("SECRET" in name or "ACCESS_KEY" in name for name in forwarded)


def test_the_code_package_gets_what_steps_read_and_the_launch_git_facts():
    files = {name: path for path, name in cloud.package_files()}
    for name in ("params.yaml", "bentofile.yaml", "requirements.txt", "requirements-serve.txt", f"{DATA}.dvc"):
        assert Path(files[name]) == PROJECT_ROOT / name
    assert DATA not in files and not any(name.startswith(("mlartifacts/", ".metaflow/")) for name in files)
    assert json.loads(Path(files[LAUNCH_GIT]).read_text()) == git_facts(PROJECT_ROOT)


def test_outside_a_checkout_git_facts_come_from_the_launch(tmp_path):
    assert git_facts(tmp_path)["commit"] == ""  # no checkout, nothing packaged
    launched = {"commit": "a" * 40, "branch": "main", "dirty": True, "diff": "+x", "changed": ["f"]}
    (tmp_path / LAUNCH_GIT).write_text(json.dumps(launched))
    assert git_facts(tmp_path) == launched


@pytest.fixture
def pod(tmp_path, monkeypatch):
    """A directory holding only the data's pointer, as a pod does; the project's local DVC remote as the remote."""
    remote = PROJECT_ROOT / ".dvc-remote"
    if not remote.is_dir() or not (PROJECT_ROOT / f"{DATA}.dvc").is_file():
        pytest.skip("needs the bake's local DVC remote (.dvc-remote) and the data pointer")
    (tmp_path / "data").mkdir()
    shutil.copyfile(PROJECT_ROOT / f"{DATA}.dvc", tmp_path / f"{DATA}.dvc")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOUD_DVC_REMOTE", str(remote))
    return tmp_path


def test_under_the_profile_data_comes_from_the_remote_at_the_pin(pod):
    pinned = yaml.safe_load((pod / f"{DATA}.dvc").read_text())["outs"][0]["md5"]
    content, facts = read_data(DATA)
    assert hashlib.md5(content).hexdigest() == pinned == facts["md5"]
    assert facts["remote"] == str(PROJECT_ROOT / ".dvc-remote") and facts["pinned"]
    assert not (pod / DATA).exists()  # read, not checked out into the workspace


def test_data_the_remote_lacks_is_refused(pod, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CLOUD_DVC_REMOTE", str(tmp_path_factory.mktemp("empty-remote")))
    with pytest.raises(DataNotPinned, match="cannot be read from the DVC remote"):
        read_data(DATA)


def test_under_the_profile_a_models_training_data_is_read_from_the_remote_by_its_md5(pod):
    """The champion gate and the monitor re-read what a model trained on: in a pod, from the remote by md5 (no
    workspace file, no git history); a version the remote lacks is refused, so the champion gate fails closed."""
    from {{ cookiecutter.module_name }}.config import SplitConfig
    from {{ cookiecutter.module_name }}.lineage.run_record import RunRecord
    from {{ cookiecutter.module_name }}.pipeline.trained_on import LineageError, training_bytes

    pinned = yaml.safe_load((pod / f"{DATA}.dvc").read_text())["outs"][0]["md5"]
    facts = {"data_path": DATA, "data_rev": "workspace", "seed": 42, "target": "y", "split": SplitConfig()}
    data = RunRecord("run", data_md5=pinned, commit="c" * 40, **facts)
    content, source = training_bytes(data, "champion v1")
    assert hashlib.md5(content).hexdigest() == pinned and source.startswith("dvc remote ")
    with pytest.raises(LineageError, match="training data of champion v1: .* cannot be read from the DVC remote"):
        training_bytes(RunRecord("run", data_md5="0" * 32, **facts), "champion v1")


def test_under_the_profile_data_md5_reads_another_version_from_the_remote(pod, tmp_path_factory, monkeypatch):
    """A triggered retraining run's --data-md5: a version the packaged pointer does not pin, read from the remote (a
    DVC 3 remote keeps a file at files/md5/<2 hex>/<30 hex>); a version the remote lacks is refused."""
    from {{ cookiecutter.module_name }}.errors import DataError

    newer = (PROJECT_ROOT / DATA).read_bytes() if (PROJECT_ROOT / DATA).is_file() else b"a,b\n1,2\n"
    newer += newer.splitlines(keepends=True)[-1]  # one row more: another version
    digest = hashlib.md5(newer).hexdigest()
    remote = tmp_path_factory.mktemp("remote")
    (remote / "files" / "md5" / digest[:2]).mkdir(parents=True)
    (remote / "files" / "md5" / digest[:2] / digest[2:]).write_bytes(newer)
    monkeypatch.setenv("CLOUD_DVC_REMOTE", str(remote))
    content, facts = read_data(DATA, md5=digest)
    assert content == newer and facts["md5"] == digest and facts["rev"] == "remote"
    with pytest.raises(DataNotPinned, match=f"md5 {'0' * 32}\\) cannot be read from the DVC remote"):
        read_data(DATA, md5="0" * 32)
    tampered = "f" * 32  # bytes stored under a name that is not their md5
    (remote / "files" / "md5" / "ff").mkdir()
    (remote / "files" / "md5" / "ff" / tampered[2:]).write_bytes(newer)
    with pytest.raises(DataNotPinned, match=f"md5 {tampered}"):
        read_data(DATA, md5=tampered)
    monkeypatch.delenv("CLOUD_DVC_REMOTE")
    with pytest.raises(DataError, match="--data-md5 reads a version from the cloud profile's DVC remote"):
        read_data(DATA, md5=digest)

"""Snapshots: which runs may stand for their commit, how a re-run is compared with the run a tag records, and which
tags stand for a run."""

import os
import subprocess

from mlflow.tracking import MlflowClient

from {{ cookiecutter.module_name }}.lineage import run_record
from {{ cookiecutter.module_name }}.lineage.snapshots import affects_training, canonical_reasons, compare, on_gpu, snapshots_of


def test_only_a_canonical_run_stands_for_its_commit():
    clean = {"commit": "c" * 40, "changed": [], "untracked_src": []}
    pinned = {"pinned": True, "rev": "workspace"}
    assert canonical_reasons(clean, pinned, "params.yaml", "", False) == []
    by_md5 = {"pinned": True, "rev": "remote", "md5": "a" * 32}  # --data-md5 (a triggered retraining run)
    assert canonical_reasons(clean, by_md5, "params.yaml", "", False) == [
        f"data at --data-md5 {'a' * 32}, not the version the commit's pointer pins"
    ]
    reasons = canonical_reasons(
        clean | {"changed": ["src/m/data.py", "examples/request.json"], "untracked_src": ["src/m/new.py"]},
        {"pinned": True, "rev": "v1"},
        "other.yaml",
        "champion",
        True,
    )
    assert reasons == [
        "data at --data-rev v1",
        "--allow-unpinned-data",
        "config other.yaml",
        "--skip-gates champion",
        "uncommitted changes to ['src/m/data.py']",  # examples/ does not change what a run trains
        "untracked files under src/ ['src/m/new.py']",
    ]
    assert not affects_training("examples/request.json") and affects_training("params.yaml")
    assert not affects_training(".pre-commit-config.yaml")


def test_a_local_base_model_must_be_under_dvc(tmp_path):
    clean, pinned = {"commit": "c" * 40}, {"pinned": True, "rev": "workspace"}
    model = tmp_path / "tiny"
    model.mkdir()
    (reason,) = canonical_reasons(clean, pinned, "params.yaml", "", False, str(model))
    assert reason.startswith(f"base model {model} is a local directory DVC does not track")
    # `dvc add` refuses a path outside the project ("Cached output(s) outside of DVC project"): copy it in first
    assert f"outside the project: `cp -r {model} models/tiny`, `dvc add models/tiny`" in reason
    (tmp_path / "tiny.dvc").write_text(f"outs:\n- md5: {'a' * 32}.dir\n  nfiles: 3\n  path: tiny\n")  # as `dvc add`
    assert canonical_reasons(clean, pinned, "params.yaml", "", False, str(model)) == []
    assert canonical_reasons(clean, pinned, "params.yaml", "", False, "org/hub-model") == []  # a hub id


def test_reproduce_compares_exactly_on_cpu_and_within_tolerance_on_gpu(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("runs", artifact_location=(tmp_path / "artifacts").as_uri())

    def run(accuracy, weights, device, fairness="passed", champion="passed"):
        tags = {run_record.ACCELERATOR: device, run_record.WEIGHTS: weights, run_record.COMMIT: "c"}
        tags |= {f"{run_record.DATA}md5": "d", f"{run_record.GATE}fairness": fairness}
        tags |= {f"{run_record.GATE}champion": champion}
        run_id = client.create_run(experiment, tags=tags).info.run_id
        client.log_param(run_id, "seed", "42")
        client.log_metric(run_id, "test_accuracy", accuracy)
        return run_record.read(client.get_run(run_id))

    def same(rows):
        return all(ok for *_, ok in rows)

    assert same(compare(run(0.9, "w", "cpu"), run(0.9, "w", "cpu")))
    assert not same(compare(run(0.9, "w", "cpu"), run(0.9000001, "w", "cpu")))  # CPU: bit for bit
    assert not same(compare(run(0.9, "w1", "cpu"), run(0.9, "w2", "cpu")))
    assert same(compare(run(0.9, "w1", "gpu"), run(0.9004, "w2", "gpu")))  # GPU: within the documented tolerance
    assert not same(compare(run(0.9, "w", "gpu"), run(0.91, "w", "gpu")))
    assert on_gpu(run(0.9, "w", "cpu"), run(0.9, "w", "gpu")) and not on_gpu(run(0.9, "w", "cpu"))
    assert not same(compare(run(0.9, "w", "cpu"), run(0.9, "w", "cpu", fairness="failed")))  # recorded verdicts
    # the champion gate was judged against the registry as it was then: recorded, not re-judged
    rows = compare(run(0.9, "w", "cpu"), run(0.9, "w", "cpu", champion="skipped"))
    assert same(rows) and ("gate.champion", "passed", "not re-judged", True) in rows


def test_a_snapshot_stands_for_the_run_its_record_names_not_for_every_run_of_its_commit(tmp_path):
    """`lineage` shows the snapshots of the model's own run: v1 and v2 record run r1 (v2 on a later commit that
    changed nothing training reads), so a model from run r2 on v1's commit has none."""

    def git(*args):
        who = {f"GIT_{role}_{field}": "t" for role in ("AUTHOR", "COMMITTER") for field in ("NAME", "EMAIL")}
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, env=os.environ | who)

    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "first")
    git("tag", "-a", "v1", "-m", 'snapshot v1\n\n{"mlflow_run_id": "r1", "commit": "c1"}')
    git("tag", "plain")  # not a snapshot
    git("commit", "-q", "--allow-empty", "-m", "examples only")
    git("tag", "-a", "v2", "-m", 'snapshot v2\n\n{"mlflow_run_id": "r1", "commit": "c2", "run_commit": "c1"}')
    assert snapshots_of("r1", root=tmp_path) == ["v1", "v2"]
    assert snapshots_of("r2", root=tmp_path) == []

"""Snapshots tie code and data together under one git tag; reproduce re-runs one and proves the results match."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .lineage import git_facts

ROOT = Path(__file__).resolve().parents[2]


class SnapshotError(RuntimeError):
    """A snapshot cannot be taken or reproduced; the message says why and what to do."""


def _run(*cmd: str, cwd: Path = ROOT, check: bool = True, **env) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=os.environ | env)
    if check and done.returncode != 0:
        raise SnapshotError(f"`{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def _dvc(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    return _run(sys.executable, "-m", "dvc", *args, cwd=cwd, check=check, DVC_NO_ANALYTICS="1")


def data_pins(root: Path = ROOT) -> dict[str, str]:
    """{data file: md5} for every committed .dvc pointer."""
    pins = {}
    for pointer in sorted(root.glob("data/**/*.dvc")):
        for out in yaml.load(pointer.read_text(), Loader=yaml.BaseLoader)["outs"]:
            pins[str(pointer.parent.relative_to(root) / out["path"])] = out["md5"]
    return pins


def latest_run(commit: str, experiment: str):
    """The newest finished MLflow run made from `commit`."""
    from .tracking import client

    mlflow_client = client()
    found = mlflow_client.get_experiment_by_name(experiment)
    runs = mlflow_client.search_runs(
        [found.experiment_id] if found else [],
        filter_string=f"tags.`git.commit` = '{commit}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None


def snapshot(tag: str, experiment: str, message: str = "") -> str:
    """Push the data, then tag the commit with its data hashes and the latest MLflow run made from it."""
    if git_facts(ROOT)["dirty"]:
        raise SnapshotError("the git tree has uncommitted changes: commit or stash them first")
    if _dvc("status", "-q", check=False).returncode != 0:
        raise SnapshotError(
            "data differs from its .dvc pointers (`dvc status`): `dvc add` + commit, or `dvc checkout --force`"
        )
    commit = git_facts(ROOT)["commit"]
    run = latest_run(commit, experiment)
    if run is None:
        raise SnapshotError(f"no finished MLflow run for commit {commit[:12]}: run `python flow.py run` first")
    _dvc("push", "-q")
    record = {"mlflow_run_id": run.info.run_id, "data": data_pins(), "commit": commit}
    body = f"{message or 'snapshot ' + tag}\n\n{json.dumps(record, indent=2)}\n"
    _run("git", "tag", "-a", tag, "-m", body)
    return body


def read_snapshot(tag: str, root: Path = ROOT) -> dict:
    body = _run("git", "tag", "-l", "--format=%(contents)", tag, cwd=root).stdout
    if not body.strip():
        raise SnapshotError(f"no snapshot tag {tag!r}")
    return json.loads(body[body.index("{") : body.rindex("}") + 1])


def _checkout(tag: str, workdir: Path) -> Path:
    """A clean clone at `tag` with its data pulled from the project's DVC remote."""
    clone = workdir / "checkout"
    _run("git", "clone", "-q", str(ROOT), str(clone))
    _run("git", "-c", "advice.detachedHead=false", "checkout", "-q", tag, cwd=clone)
    for name, url in _remotes(ROOT).items():  # a local remote is relative to its project: use the original's
        if "://" not in url:
            _dvc("remote", "modify", "--local", name, "url", url, cwd=clone)
    _dvc("pull", "-q", cwd=clone)
    return clone


def _remotes(root: Path) -> dict[str, str]:
    """{name: url} of the project's DVC remotes, local paths resolved against `root`."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {name: remote["url"] for name, remote in repo.config["remote"].items()}


COMPARED_TAGS = ("data.md5", "weights_sha256", "git.commit")


GPU_METRIC_TOLERANCE = 1e-3  # GPU kernels are not bit-exact run to run; CPU runs must match exactly


def on_gpu(*runs) -> bool:
    """Whether any of these MLflow runs trained on a GPU (so bit-exact equality is not expected)."""
    return any(run.data.tags.get("train.accelerator") == "gpu" for run in runs)


def compare(recorded, rerun) -> list[tuple[str, str, str, bool]]:
    """Rows (what, recorded, rerun, same) for params, data hash, weights hash and every metric. On CPU everything must
    be equal; when either run trained on a GPU, metrics may differ by GPU_METRIC_TOLERANCE and weights are not
    compared bit for bit."""
    gpu = on_gpu(recorded, rerun)
    rows = []
    for key in sorted(set(recorded.data.params) | set(rerun.data.params)):
        a, b = recorded.data.params.get(key, "-"), rerun.data.params.get(key, "-")
        rows.append((f"param {key}", a, b, a == b))
    for key in COMPARED_TAGS:
        a, b = recorded.data.tags.get(key, "-"), rerun.data.tags.get(key, "-")
        rows.append((key, a, b, a == b or (gpu and key == "weights_sha256")))
    for key in sorted(set(recorded.data.metrics) | set(rerun.data.metrics)):
        a, b = recorded.data.metrics.get(key), rerun.data.metrics.get(key)
        close = a is not None and b is not None and abs(a - b) <= (GPU_METRIC_TOLERANCE if gpu else 0.0)
        rows.append((f"metric {key}", repr(a), repr(b), close))
    return rows


def reproduce(tag: str, experiment: str, against: str = "") -> tuple[bool, str]:
    """Re-run snapshot `tag` in a fresh checkout and compare with its recorded run (or run `against`)."""
    from .tracking import client, tracking_uri

    recorded_id = against or read_snapshot(tag)["mlflow_run_id"]
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        clone = _checkout(tag, Path(tmp))
        flow = _run(
            sys.executable,
            "flow.py",
            "--no-pylint",
            "run",
            "--publish",
            "false",
            cwd=clone,
            check=False,
            MLFLOW_TRACKING_URI=tracking_uri(),
        )
        if flow.returncode != 0:
            raise SnapshotError(f"the re-run of {tag} failed:\n{flow.stdout[-3000:]}{flow.stderr[-3000:]}")
        rerun_id = next(
            line.split("MLflow run ")[1].strip(" )") for line in flow.stdout.splitlines()[::-1] if "MLflow run " in line
        )
    mlflow_client = client()
    recorded, rerun = mlflow_client.get_run(recorded_id), mlflow_client.get_run(rerun_id)
    rows = compare(recorded, rerun)
    width = max(len(r[0]) for r in rows)
    cell = max(len(v) for r in rows for v in r[1:3])
    lines = [f"{'':{width}}  {'recorded ' + recorded_id[:8]:>{cell}}  {'re-run ' + rerun_id[:8]:>{cell}}"]
    lines += [f"{what:{width}}  {a:>{cell}}  {b:>{cell}}{'' if ok else '   <-- differs'}" for what, a, b, ok in rows]
    same = all(ok for *_, ok in rows)
    exactly = f"within the GPU tolerance {GPU_METRIC_TOLERANCE:g}" if on_gpu(recorded, rerun) else "exactly"
    lines.append(f"{tag}: {f'reproduced {exactly}' if same else 'NOT reproduced'}")
    return same, "\n".join(lines)

"""Snapshots tie code and data together under one git tag; reproduce re-runs one and proves the results match."""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from ..config import PROJECT_ROOT
from .git import GitError, git, git_facts
from .lineage import committed_pins, pointer
from .run_record import GATE, WEIGHTS, find, runs
from .tracking import tracking_uri


class SnapshotError(RuntimeError):
    """A snapshot cannot be taken or reproduced; the message says why and what to do."""


def _run(*cmd: str, cwd: Path = PROJECT_ROOT, check: bool = True, **env) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=os.environ | env)
    if check and done.returncode != 0:
        raise SnapshotError(f"`{' '.join(cmd)}` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def _dvc(*args: str, cwd: Path = PROJECT_ROOT, check: bool = True) -> subprocess.CompletedProcess:
    return _run(sys.executable, "-m", "dvc", *args, cwd=cwd, check=check, DVC_NO_ANALYTICS="1")


# Files that do not change what a run trains: a run of an earlier commit that differs from HEAD only in these still
# stands for HEAD (so `make example` + commit, then `make snapshot`, needs no re-run).
NOT_TRAINING = (
    "examples/",
    "docs/",
    "tests/",
    ".github/",
    "README.md",
    "LICENSE",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Makefile",
)


def affects_training(path: str) -> bool:
    return not any(path == p or path.startswith(p) for p in NOT_TRAINING)


def canonical_reasons(
    git: dict, data: dict, config_file: str, skip_gates: str, allow_unpinned: bool, base_model: str | None = None
) -> list[str]:
    """Why a run is not canonical (empty: it is). Only a canonical run may stand for its commit in a snapshot: pinned
    data as the commit names it, the default config file, every gate judged, code that is all in the commit, and a
    local base model (text) that DVC tracks, so the fresh clone `reproduce` makes has it too."""
    reasons = []
    if base_model and Path(base_model).exists() and pointer(base_model) is None:
        reasons.append(f"base model {base_model} is a local directory DVC does not track ({_track(base_model)})")
    if data.get("rev") == "remote":
        reasons.append(f"data at --data-md5 {data['md5']}, not the version the commit's pointer pins")
    elif not data.get("pinned") or data.get("rev") != "workspace":
        reasons.append(f"data {'at --data-rev ' + data['rev'] if data.get('rev') != 'workspace' else 'not pinned'}")
    if allow_unpinned:
        reasons.append("--allow-unpinned-data")
    if config_file != "params.yaml":
        reasons.append(f"config {config_file}")
    if skip_gates:
        reasons.append(f"--skip-gates {skip_gates}")
    if changed := [p for p in git.get("changed", []) if affects_training(p)]:
        reasons.append(f"uncommitted changes to {changed[:5]}")
    if git.get("untracked_src"):
        reasons.append(f"untracked files under src/ {git['untracked_src'][:5]}")
    if not git.get("commit"):
        reasons.append("not in a git repository")
    return reasons


def _track(path: str) -> str:
    """How to put a local directory under DVC: `dvc add` refuses a path outside the project, so copy it in first."""
    try:
        Path(path).resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        inside = f"models/{Path(path).resolve().name}"
        return f"outside the project: `cp -r {path} {inside}`, `dvc add {inside}`, model.name_or_path: {inside}"
    return f"`dvc add {path}`"


def _stands_for(run_commit: str, head: str, root: Path = PROJECT_ROOT) -> bool:
    """The run's commit is HEAD, or an ancestor that differs from HEAD only in files that do not change training."""
    if run_commit == head:
        return True
    try:
        git("merge-base", "--is-ancestor", run_commit, head, cwd=root)  # fails: not an ancestor (or unknown)
    except GitError:
        return False
    changed = git("diff", "--name-only", run_commit, head, cwd=root).split()
    return not any(affects_training(p) for p in changed)


def canonical_run(head: str, experiment: str):
    """The newest finished canonical run (its record) that stands for commit `head`; None when there is none."""
    return next((r for r in runs(experiment, canonical=True) if _stands_for(r.commit, head)), None)


def _why_not(head: str, experiment: str) -> str:
    """Why the newest run of `head` is not canonical, to put in the refusal."""
    found = runs(experiment, commit=head, limit=1)
    if not found:
        return "there is no run of it"
    reason = found[0].why_not or f"it {found[0].status.lower()}"
    return f"its newest run {found[0].run_id[:8]} is not canonical: {reason}"


def snapshot(tag: str, experiment: str, message: str = "") -> str:
    """Push the data, then tag the commit with its data hashes and the canonical MLflow run that stands for it."""
    if git("tag", "-l", tag, cwd=PROJECT_ROOT):
        raise SnapshotError(f"tag {tag!r} already exists: choose another name (a snapshot is never moved)")
    if git_facts(PROJECT_ROOT)["dirty"]:
        raise SnapshotError("the git tree has uncommitted changes: commit or stash them first")
    if _dvc("status", "-q", check=False).returncode != 0:
        raise SnapshotError(
            "data differs from its .dvc pointers (`dvc status`): `dvc add` + commit, or `dvc checkout --force`"
        )
    commit = git_facts(PROJECT_ROOT)["commit"]
    run = canonical_run(commit, experiment)
    if run is None:
        raise SnapshotError(
            f"no canonical run of commit {commit[:12]} ({_why_not(commit, experiment)}); a canonical run trains on the "
            "pinned data with params.yaml, every gate judged and all code committed: run `python flow.py run`"
        )
    _dvc("push")  # not -q: a failure keeps DVC's reason
    record = {"mlflow_run_id": run.run_id, "data": committed_pins(PROJECT_ROOT), "commit": commit}
    record |= {"run_commit": run.commit} if run.commit != commit else {}
    body = f"{message or 'snapshot ' + tag}\n\n{json.dumps(record, indent=2)}\n"
    git("tag", "-a", tag, "-m", body, cwd=PROJECT_ROOT)
    return body


def _record(message: str) -> dict:
    """The JSON record in a snapshot tag's message (ValueError: there is none)."""
    return json.loads(message[message.index("{") : message.rindex("}") + 1])


def read_snapshot(tag: str, root: Path = PROJECT_ROOT) -> dict:
    body = git("tag", "-l", "--format=%(contents)", tag, cwd=root)
    if not body:
        raise SnapshotError(f"no snapshot tag {tag!r}")
    return _record(body)


def snapshots_of(mlflow_run_id: str, root: Path = PROJECT_ROOT) -> list[str]:
    """The snapshot tags that stand for this MLflow run: those whose record names it, wherever they point (a later
    commit that changed nothing training reads keeps the run), and no other tag on the run's commit."""
    refs = git("for-each-ref", "refs/tags", "--format=%(refname:short)%00%(contents)%00%00", cwd=root)
    found = []
    for entry in refs.split("\0\0"):
        tag, _, message = entry.lstrip("\n").partition("\0")
        try:
            if _record(message).get("mlflow_run_id") == mlflow_run_id:
                found.append(tag)
        except ValueError:  # a tag that is not a snapshot
            continue
    return found


def _checkout(tag: str, workdir: Path) -> Path:
    """A clean clone at `tag` with its data pulled from the project's DVC remote."""
    from dvc.repo import Repo

    clone = workdir / "checkout"
    git("clone", "-q", str(PROJECT_ROOT), str(clone))
    git("-c", "advice.detachedHead=false", "checkout", "-q", tag, cwd=clone)
    with Repo(str(PROJECT_ROOT)) as repo:  # its config resolves a local remote's path against the project
        remotes = {name: remote["url"] for name, remote in repo.config["remote"].items()}
    for name, url in remotes.items():  # a local remote is relative to its project: use the original's
        if "://" not in url:
            _dvc("remote", "modify", "--local", name, "url", url, cwd=clone)
    _dvc("pull", cwd=clone)  # not -q, which hides why a pull failed (the missing md5 and file)
    return clone


REGISTRY_GATES = ("champion",)  # judged against the registry as it was: recorded, not re-judged

GPU_METRIC_TOLERANCE = 1e-3  # GPU kernels are not bit-exact run to run; CPU runs must match exactly


def on_gpu(*runs) -> bool:
    """Whether any of these runs (records) trained on a GPU (so bit-exact equality is not expected)."""
    return any(run.accelerator == "gpu" for run in runs)


def compare(recorded, rerun) -> list[tuple[str, str, str, bool]]:
    """Rows (what, recorded, rerun, same): status, params, data and weights hashes, metrics, recorded verdicts. Equal on
    CPU; when either run trained on a GPU, metrics within GPU_METRIC_TOLERANCE and weights not bit for bit."""
    gpu = on_gpu(recorded, rerun)
    rows = [("status", recorded.status, rerun.status, recorded.status == rerun.status)]
    for key in sorted(set(recorded.params) | set(rerun.params)):
        a, b = recorded.params.get(key, "-"), rerun.params.get(key, "-")
        rows.append((f"param {key}", a, b, a == b))
    compared, again = recorded.compared(), rerun.compared()
    for (key, a), b in zip(compared.items(), again.values(), strict=True):
        rows.append((key, a, b, a == b or (gpu and key == WEIGHTS)))
    rows.append(("git commit", recorded.commit or "-", rerun.commit or "-", True))  # a snapshot's: maybe an ancestor
    for key in sorted(set(recorded.metrics) | set(rerun.metrics)):
        a, b = recorded.metrics.get(key), rerun.metrics.get(key)
        close = a is not None and b is not None and abs(a - b) <= (GPU_METRIC_TOLERANCE if gpu else 0.0)
        rows.append((f"metric {key}", repr(a), repr(b), close))
    verdicts, again = recorded.verdicts(leave_out=REGISTRY_GATES), rerun.verdicts(leave_out=REGISTRY_GATES)
    for key in sorted(set(verdicts) | set(again)):
        rows.append((key, verdicts.get(key, "-"), again.get(key, "-"), verdicts.get(key) == again.get(key)))
    for gate in REGISTRY_GATES:
        rows.append((f"{GATE}{gate}", recorded.gates.get(gate, "-"), "not re-judged", True))
    return rows


def _rerun(tag: str, workdir: Path) -> tuple[str | None, str]:
    """Run the flow of snapshot `tag` in a fresh clone, nothing published, the registry gates skipped (the registry
    has moved on since); return (the re-run's MLflow run id or None, the flow's output)."""
    clone = _checkout(tag, workdir)
    skip = ",".join(REGISTRY_GATES)
    command = [sys.executable, "flow.py", "--no-pylint", "run", "--publish", "false", "--skip-gates", skip]
    flow = _run(*command, cwd=clone, check=False, MLFLOW_TRACKING_URI=tracking_uri())
    output = flow.stdout + flow.stderr
    started = re.search(r"\[(\d+)/start/\d+ ", output)
    if not started:
        return None, output
    found = runs(None, metaflow_run=started[1], limit=1)
    return (found[0].run_id if found else None), output


def _cell(value: str, limit: int = 64) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def reproduce(tag: str, experiment: str, against: str = "") -> tuple[bool, str]:
    """Re-run snapshot `tag` in a fresh checkout and compare with its recorded run (or run `against`): params, data,
    weights, metrics and the recorded verdicts. A re-run that fails is a difference, not an error."""
    recorded_id = against or read_snapshot(tag)["mlflow_run_id"]
    with tempfile.TemporaryDirectory(prefix="reproduce-") as tmp:
        rerun_id, output = _rerun(tag, Path(tmp))
    if rerun_id is None:
        return False, f"{output[-3000:]}\n{tag}: NOT reproduced (the re-run stopped before it recorded anything)"
    recorded, rerun = find(recorded_id), find(rerun_id)
    if recorded is None:
        return False, f"{tag}: NOT reproduced (its recorded MLflow run {recorded_id} is not in this tracking store)"
    rows = [(what, _cell(a), _cell(b), ok) for what, a, b, ok in compare(recorded, rerun)]
    width = max(len(r[0]) for r in rows)
    cell = max(len(v) for r in rows for v in r[1:3])
    lines = [f"{'':{width}}  {'recorded ' + recorded_id[:8]:>{cell}}  {'re-run ' + rerun_id[:8]:>{cell}}"]
    lines += [f"{what:{width}}  {a:>{cell}}  {b:>{cell}}{'' if ok else '   <-- differs'}" for what, a, b, ok in rows]
    same = all(ok for *_, ok in rows)
    if rerun.status != "FINISHED":
        lines.append(f"the re-run failed at {rerun.failed_step or '?'}: {rerun.error}")
    exactly = f"within the GPU tolerance {GPU_METRIC_TOLERANCE:g}" if on_gpu(recorded, rerun) else "exactly"
    lines.append(f"{tag}: {f'reproduced {exactly}' if same else 'NOT reproduced'}")
    return same, "\n".join(lines)

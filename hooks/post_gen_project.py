"""Finish the generated project: drop what the answers do not need, make the demo data, pin it with DVC, and make a
first git commit, so the first `python flow.py run` already has a commit and a data hash to record."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

MODULE = "{{ cookiecutter.module_name }}"
PACKAGE = f"src/{MODULE}"
DATA = f"data/{MODULE}.csv"
TEXT = "{{ cookiecutter.task }}" == "text_classification"
REGRESSION = "{{ cookiecutter.task }}" == "tabular_regression"
# The capabilities beyond the core lifecycle, each a yes/no answer; what an answer leaves out goes as whole files (the
# shared files carry their optional lines in Jinja blocks, tested both ways by the template's option matrix).
MONITORING = "{{ cookiecutter.monitoring }}" == "True"
SCALE_OUT = "{{ cookiecutter.scale_out }}" == "True"
SWEEP = "{{ cookiecutter.sweep }}" == "True"
BENCHMARKS = "{{ cookiecutter.benchmarks }}" == "True"
MITIGATION = "{{ cookiecutter.mitigation }}" == "True"
FAIRNESS = bool("{{ cookiecutter.__fairness }}")  # a sensitive feature was answered
SNAPSHOTS = "{{ cookiecutter.snapshots }}" == "True"
UNUSED = {
    # fairness: the fairness gate over the groups of the sensitive features (none answered: no gate)
    f"{PACKAGE}/gates/fairness.py": REGRESSION or not FAIRNESS,
    f"{PACKAGE}/gates/fairness_regression.py": not (REGRESSION and FAIRNESS),
    "tests/test_fairness.py": REGRESSION or not FAIRNESS,
    # mitigation: fairlearn's ThresholdOptimizer after training
    f"{PACKAGE}/gates/mitigation.py": not MITIGATION,
    "tests/test_mitigation.py": not MITIGATION,
    # monitoring: the prediction log, the monitor flow, shadow evaluation and retraining
    "monitor_flow.py": not MONITORING,
    f"{PACKAGE}/monitoring": not MONITORING,
    f"{PACKAGE}/release/prediction_log.py": not MONITORING,
    f"{PACKAGE}/release/json_lines_monitor.py": not MONITORING,
    "tests/test_monitoring.py": not MONITORING,
    "tests/test_json_lines_monitor.py": not MONITORING,
    "tests/test_prediction_log.py": not MONITORING,
    "tests/test_retrain.py": not MONITORING,
    "tests/test_shadow.py": not MONITORING,
    "benchmarks/monitoring.py": not MONITORING,
    # retraining on Argo Workflows: a monitor's event starts the deployed TrainingFlow (monitoring and scale_out)
    f"{PACKAGE}/monitoring/retrain_event.py": not (MONITORING and SCALE_OUT),
    "tests/test_retrain_event.py": not (MONITORING and SCALE_OUT),
    "docs": TEXT or REGRESSION or not MONITORING,  # the tabular classification drift demo's picture
    # scale_out: the cloud profile, the loopback stack, multi-node training
    f"{PACKAGE}/scale": not SCALE_OUT,
    f"{PACKAGE}/pipeline/distributed.py": not SCALE_OUT,
    "tests/test_cloud.py": not SCALE_OUT,
    "tests/test_local_postgres.py": not SCALE_OUT,
    "tests/test_distributed.py": not SCALE_OUT,
    # sweep: training.sweep
    f"{PACKAGE}/pipeline/sweep.py": not SWEEP,
    "tests/test_sweep.py": not SWEEP,
    # snapshots: a git tag over code + data, and reproduce, which re-runs one
    f"{PACKAGE}/lineage/snapshots.py": not SNAPSHOTS,
    "tests/test_snapshots.py": not SNAPSHOTS,
    # the cost benchmarks measure the tabular task
    "benchmarks": TEXT or REGRESSION or not BENCHMARKS,
    "LICENSE": "{{ cookiecutter.license }}" == "Proprietary",
    ".github": "{{ cookiecutter.ci }}" == "none",
    # one task per project: the other task's module, demo data and tests go
    f"{PACKAGE}/pipeline/tasks/tabular.py": TEXT,
    f"{PACKAGE}/pipeline/demo_data.py": TEXT,  # replaced by demo_text.py, renamed below
    "tests/test_tabular.py": TEXT,
    "tests/test_data.py": TEXT,
    "tests/test_serving.py": TEXT,
    f"{PACKAGE}/pipeline/tasks/text.py": not TEXT,
    f"{PACKAGE}/pipeline/demo_text.py": not TEXT,
    f"{PACKAGE}/pipeline/tiny_model.py": not TEXT,
    f"{PACKAGE}/pipeline/batching.py": not TEXT,  # dynamic padding of token ids
    "tests/test_text.py": not TEXT,
    # regression: its own target, metrics and group losses; the classification versions go (renamed below)
    f"{PACKAGE}/pipeline/tasks/regression.py": not REGRESSION,
    f"{PACKAGE}/pipeline/evaluation.py": REGRESSION,
    f"{PACKAGE}/pipeline/evaluation_regression.py": not REGRESSION,
    "tests/test_regression.py": not REGRESSION,
    "tests/test_reports.py": REGRESSION,  # test_regression.py covers training and the reports for a regression
    "tests/test_training.py": REGRESSION,
}
RENAMED = {  # the task's version of a shared module takes the shared name
    f"{PACKAGE}/pipeline/demo_text.py": f"{PACKAGE}/pipeline/demo_data.py",
    f"{PACKAGE}/pipeline/evaluation_regression.py": f"{PACKAGE}/pipeline/evaluation.py",
    f"{PACKAGE}/gates/fairness_regression.py": f"{PACKAGE}/gates/fairness.py",
}
# requirements.lock: the lock of this task's requirements for the answered Python (made by the template's
# scripts/lock.sh with the project's own `make lock`); the other locks go
# (regression has tabular classification's requirements, so its lock too)
LOCK = f"locks/{'text' if TEXT else 'tabular'}_classification-py{{ cookiecutter.python_version }}.txt"
ENV = os.environ | {"DVC_NO_ANALYTICS": "1"}


def remove_unused() -> None:
    for name, unused in UNUSED.items():
        path = Path(name)
        if unused and path.is_dir():
            shutil.rmtree(path)
        elif unused and path.exists():
            path.unlink()
    for source, name in RENAMED.items():
        if Path(source).exists():
            Path(source).rename(name)


def select_requirements() -> None:
    """One task's requirements: a text project's extras join the runtime and serving sets; this task's lock for the
    answered Python becomes requirements.lock."""
    extras = Path("requirements-text.txt")
    if TEXT:
        lines = "".join(line for line in extras.read_text().splitlines(keepends=True) if not line.startswith("#"))
        for name in ("requirements.txt", "requirements-serve.txt"):
            with Path(name).open("a") as out:
                out.write(lines)
    extras.unlink()
    if Path(LOCK).exists():
        Path(LOCK).rename("requirements.lock")
    shutil.rmtree("locks", ignore_errors=True)


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, env=ENV, stdout=subprocess.DEVNULL)


def make_demo_data() -> None:
    run(sys.executable, f"{PACKAGE}/pipeline/demo_data.py", "--out", DATA)


def pin_data_with_dvc() -> None:
    """DVC tracks the data; a local directory is the default remote, and holds the first version already."""
    dvc = [sys.executable, "-m", "dvc"] if importlib.util.find_spec("dvc") else [shutil.which("dvc") or ""]
    if not dvc[0]:
        Path("data/.gitignore").write_text(f"/{Path(DATA).name}\n")
        print("note: DVC not found; after installing, run: dvc init && dvc add " + DATA, file=sys.stderr)
        return
    run(*dvc, "init", "-q")
    run(*dvc, "remote", "add", "-d", "local", ".dvc-remote")
    run(*dvc, "add", "-q", DATA)
    run(*dvc, "push", "-q")


def git(*args: str) -> None:
    identity = []
    if subprocess.run(["git", "config", "user.email"], capture_output=True).returncode != 0:
        identity = ["-c", "user.name={{ cookiecutter.author_name }}"]
        identity += ["-c", "user.email={{ cookiecutter.author_email }}"]
    run("git", *identity, *args)


if __name__ == "__main__":
    remove_unused()
    select_requirements()
    make_demo_data()
    if not shutil.which("git"):
        print("note: git not found; run `git init`, `dvc init` and `dvc add` yourself", file=sys.stderr)
        sys.exit(0)
    git("init", "-q", "-b", "main")
    pin_data_with_dvc()
    git("add", "-A")
    git("commit", "-q", "-m", "Initial commit from template")

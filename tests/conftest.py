"""Shared helpers: bake the template with cookiecutter's API, run what it generated, serve it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]

for _name, _value in {
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
}.items():
    os.environ.setdefault(_name, _value)
if os.environ.get("USER", "root") == "root" and not os.environ.get("METAFLOW_USER"):
    os.environ["METAFLOW_USER"] = "tester"  # Metaflow refuses an unknown user and "root"


# Longest modules first, so two workers finish together (xdist hands out whole modules in collection order).
LONGEST_FIRST = [  # by their minutes in CI (pytest --durations), longest first
    "test_cloud_e2e",
    "test_gates_e2e",
    "test_reproducibility",
    "test_install",
    "test_text_e2e",
    "test_end_to_end",
    "test_monitoring_e2e",
    "test_regression_monitoring_e2e",
    "test_cloud_lineage",
    "test_failures",
    "test_regression_e2e",
    "test_promotion",
    "test_ddp",
    "test_bake",
    "test_own_data",
    "test_data_variants",
    "test_serving_hardening",
    "test_serving_soak",
    "test_serving_ops",
    "test_requirements",
    "test_sweep",
    "test_multiclass",
    "test_flow_cost",
    "test_option_sets",
    "test_argo",
]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1]
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a module's tests keep their order


# Not passed on to a baked project's commands: each project uses its own MLflow store (a URI left by one test, or by
# the developer's shell, would mix projects' registries), and a project's own `make` must not inherit the state of the
# `make test` that runs the suite (its variables and "Entering directory" lines).
NOT_INHERITED = {"MLFLOW_TRACKING_URI", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}


def project_env(**extra: str) -> dict[str, str]:
    """This interpreter's environment for a baked project's commands, less NOT_INHERITED, plus `extra`."""
    return {k: v for k, v in os.environ.items() if k not in NOT_INHERITED} | extra


# Every capability on: the shared trained project and the modules that exercise mitigation, monitoring, scale-out,
# the sweep or the benchmarks bake with these; a module that tests the core bakes with the defaults (every capability
# off but snapshots, which snapshot and reproduce need).
FULL = {"mitigation": True, "monitoring": True, "scale_out": True, "sweep": True, "benchmarks": True, "snapshots": True}


def bake(output_dir: Path, **answers) -> Path:
    """Generate a project (no prompts) and return its directory."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)))


def run(cmd: list[str], cwd: Path, timeout: int = 900, **env) -> subprocess.CompletedProcess:
    """Run a command of the generated project with this interpreter's environment (plus `env`)."""
    return subprocess.run(cmd, cwd=cwd, env=project_env(**env), capture_output=True, text=True, timeout=timeout)


def stop_process(proc: subprocess.Popen, timeout: float) -> None:
    """TERM the server started by the test (by its own PID); KILL it if it has not exited within `timeout` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`bentoml serve` on 127.0.0.1 in a subprocess, stopped by its own PID."""

    def __init__(self, project: Path, bentoml_home: Path, *args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = project / f"serve-{self.port}.log"
        cmd = [
            str(Path(sys.executable).parent / "bentoml"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *args,
        ]
        env = project_env(BENTOML_HOME=str(bentoml_home), **(env or {}))
        self.proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 120) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bentoml serve exited:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException:  # not listening yet, or busy starting
                pass
            time.sleep(0.3)
        raise TimeoutError(f"bentoml serve not ready after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        stop_process(self.proc, timeout=30)


def decide_on_point(project: Path) -> Path:
    """params.yaml's gates decide on point values (`gates.decide_on: point`), left for the next commit: for modules
    that train on a few thousand demo rows to test something other than the gates' interval rule (the generated
    tests, test_end_to_end, test_gates_e2e and test_regression_e2e test that), where 400 test rows leave fairness
    intervals too wide to decide."""
    params = project / "params.yaml"
    text = params.read_text()
    assert "  decide_on: interval " in text
    params.write_text(text.replace("  decide_on: interval ", "  decide_on: point    ", 1))
    return project


def pin_demo_data(project: Path, rows: int, *extra: str) -> Path:
    """Regenerate the baked project's demo data at `rows` rows, `dvc add` it and commit, as a user would."""
    module = project.name.replace("-", "_")
    data = f"data/{module}.csv"
    made = run(
        [sys.executable, f"src/{module}/pipeline/demo_data.py", "--rows", str(rows), "--out", data, *extra], project
    )
    assert made.returncode == 0, made.stderr
    pinned = run([sys.executable, "-m", "dvc", "add", "-q", data], project)
    assert pinned.returncode == 0, pinned.stderr
    subprocess.run(["git", "commit", "-qam", f"{rows} demo rows"], cwd=project, check=True)
    return project


def mlflow_client(project: Path):
    """A client of the project's own MLflow store (SQLite in the project)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


def latest_run(client, experiment: str):
    """The newest MLflow run of `experiment`, whatever its status."""
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]


PRISTINE: dict[Path, Path] = {}  # trained project -> a copy of its root taken right after its one run


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory):
    """The default project with every capability on (FULL), baked once, its flow run once on its own demo data (5000
    rows: 1000 test rows, enough for the gates' intervals to decide). Tests may add runs to it (so it is shared in one
    worker's order); a module that needs it exactly as trained takes `copy_trained`."""
    import shutil

    root = tmp_path_factory.mktemp("trained")
    project = bake(root, **FULL)
    home = root / "bentoml"
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(home))
    assert flow.returncode == 0, flow.stdout + flow.stderr
    PRISTINE[project] = shutil.copytree(root, tmp_path_factory.mktemp("pristine"), symlinks=True, dirs_exist_ok=True)
    return project, home, flow.stdout + flow.stderr


def copy_trained(trained_project, destination: Path) -> tuple[Path, Path, str]:
    """A private copy of the trained project as it was right after its one run, with its stores (git, DVC cache and
    remote, Metaflow datastore, MLflow database and artifacts, BentoML home), as if it had been baked and run in
    `destination`: the stores' absolute paths are rewritten, so the copy never reads or writes the original or another
    copy. Saves a module a ~1 min flow run."""
    import shutil
    import sqlite3

    project, home, output = trained_project
    shutil.copytree(PRISTINE[project], destination, symlinks=True, dirs_exist_ok=True)
    old, new = str(project.parent), str(destination)
    for path in destination.rglob("*"):  # Metaflow's metadata JSON, MLflow's MLmodel files: small text files
        if path.is_file() and not path.is_symlink() and ".git" not in path.parts and path.stat().st_size < 1 << 20:
            data = path.read_bytes()
            if old.encode() in data and path.suffix != ".db":
                path.write_bytes(data.replace(old.encode(), new.encode()))
    with sqlite3.connect(destination / project.name / "mlflow.db") as db:  # artifact locations, model sources
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            for column in db.execute(f"PRAGMA table_info('{table}')").fetchall():
                if column[2].upper() in ("TEXT", "VARCHAR", "") or column[2].upper().startswith("VARCHAR"):
                    db.execute(f'UPDATE "{table}" SET "{column[1]}" = replace("{column[1]}", ?, ?)', (old, new))
    copied = destination / project.name
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=copied, check=False)  # new inodes, same content
    return copied, destination / home.name, output

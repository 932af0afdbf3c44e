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


def project_env(**extra: str) -> dict[str, str]:
    """This interpreter's environment for a baked project's commands, minus any MLFLOW_TRACKING_URI: each project
    must use its own store (a URI left by one test, or by the developer's shell, would mix projects' registries)."""
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | extra


def bake(output_dir: Path, **answers) -> Path:
    """Generate a project (no prompts) and return its directory."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)))


def run(cmd: list[str], cwd: Path, timeout: int = 900, **env) -> subprocess.CompletedProcess:
    """Run a command of the generated project with this interpreter's environment (plus `env`)."""
    return subprocess.run(cmd, cwd=cwd, env=project_env(**env), capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`bentoml serve` on 127.0.0.1 in a subprocess, stopped by its own PID."""

    def __init__(self, project: Path, bentoml_home: Path, *args: str):
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
        env = project_env(BENTOML_HOME=str(bentoml_home))
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
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def pin_demo_data(project: Path, rows: int, *extra: str) -> Path:
    """Regenerate the baked project's demo data at `rows` rows, `dvc add` it and commit, as a user would."""
    module = project.name.replace("-", "_")
    data = f"data/{module}.csv"
    made = run([sys.executable, f"src/{module}/demo_data.py", "--rows", str(rows), "--out", data, *extra], project)
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


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory):
    """The default project, baked once, its flow run once on smaller demo data pinned with DVC (shared by tests)."""
    root = tmp_path_factory.mktemp("trained")
    project = pin_demo_data(bake(root), 2000)
    home = root / "bentoml"
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(home))
    assert flow.returncode == 0, flow.stdout + flow.stderr
    return project, home, flow.stdout + flow.stderr

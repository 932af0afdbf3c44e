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


def bake(output_dir: Path, **answers) -> Path:
    """Generate a project (no prompts) and return its directory."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)))


def run(cmd: list[str], cwd: Path, timeout: int = 900, **env) -> subprocess.CompletedProcess:
    """Run a command of the generated project with this interpreter's environment (plus `env`)."""
    return subprocess.run(cmd, cwd=cwd, env=os.environ | env, capture_output=True, text=True, timeout=timeout)


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
        env = os.environ | {"BENTOML_HOME": str(bentoml_home)}
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


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory):
    """The default project, baked once, its flow run once on smaller demo data pinned with DVC (shared by tests)."""
    root = tmp_path_factory.mktemp("trained")
    project = bake(root)
    home = root / "bentoml"
    module = project.name.replace("-", "_")
    made = run([sys.executable, f"src/{module}/demo_data.py", "--rows", "2000"], project)
    assert made.returncode == 0, made.stderr
    pinned = run([sys.executable, "-m", "dvc", "add", "-q", f"data/{module}.csv"], project)
    assert pinned.returncode == 0, pinned.stderr
    subprocess.run(["git", "commit", "-qam", "smaller demo data"], cwd=project, check=True)
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(home))
    assert flow.returncode == 0, flow.stdout + flow.stderr
    return project, home, flow.stdout + flow.stderr

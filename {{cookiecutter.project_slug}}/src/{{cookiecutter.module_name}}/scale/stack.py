"""A local stack to try the cloud profile on one machine (`make up` / `make down`): an S3 server (moto), PostgreSQL
(the machine's own install: local_postgres.py) and an MLflow tracking server that keeps its runs in that PostgreSQL and
its artifacts in that S3, all on 127.0.0.1, with their data under .stack/. `up` writes the profile (.stack/cloud.env)
and records the servers' process ids, so `down` stops exactly them.

The servers are the real ones (moto's server, `mlflow server`, PostgreSQL); only starting and stopping them together is
ours. The usual tool for that, Docker Compose, needs a Docker daemon, which this stack is for doing without; neither
MLflow nor moto ships a command that starts the other's server.

    python -m {{ cookiecutter.module_name }}.scale.stack up     # prints the profile's path
    python -m {{ cookiecutter.module_name }}.scale.stack down
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import ProjectError
from .local_postgres import LocalPostgres

STATE = PROJECT_ROOT / ".stack"
PIDS = STATE / "pids.json"
PROFILE = STATE / "cloud.env"
BUCKET = "{{ cookiecutter.project_slug.replace('_', '-')[:40] }}-stack"
# how `down` asks each server to stop: PostgreSQL's fast shutdown (SIGINT; SIGTERM waits for clients to leave)
STOP_SIGNALS = {"postgres": signal.SIGINT}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "stack", "AWS_SECRET_ACCESS_KEY": "stack", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def profile(s3_port: int, mlflow_port: int, bucket: str = BUCKET) -> dict[str, str]:
    """The cloud profile for this stack. Dummy credentials: moto accepts any, and without any boto waits on the
    cloud's instance-metadata endpoint."""
    s3 = f"http://127.0.0.1:{s3_port}"
    return CREDENTIALS | {
        "AWS_ENDPOINT_URL": s3,
        "METAFLOW_S3_ENDPOINT_URL": s3,
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://{bucket}/metaflow",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{mlflow_port}",
        "CLOUD_DVC_REMOTE": f"s3://{bucket}/dvc",
        "CLOUD_BENTO_STORE": f"s3://{bucket}/bentoml",
    }


def _wait(ready, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Until `ready()` holds; fails at once when the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log.stem} exited:\n{log.read_text()[-3000:]}")
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{log.stem} not ready after {timeout}s (log: {log})")


def _answers(url: str) -> bool:
    import requests

    try:
        requests.get(url, timeout=2)
        return True
    except requests.RequestException:
        return False


def _start(name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    log = STATE / f"{name}.log"
    # its own session: `down` stops the server's whole process group (mlflow's workers too), and nothing else
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def up() -> Path:
    if PIDS.exists():
        raise SystemExit(f"a stack is already up ({PIDS}): `make down` first")
    database = LocalPostgres(STATE)  # before anything starts: stops with what to install when PostgreSQL is missing
    STATE.mkdir(exist_ok=True)
    database.init()
    settings, db_port = profile(free_port(), free_port()), free_port()
    env = os.environ | settings
    bindir = Path(sys.executable).parent
    pids = {}
    try:
        s3 = settings["AWS_ENDPOINT_URL"]
        moto = _start("s3", [str(bindir / "moto_server"), "-H", "127.0.0.1", "-p", s3.rsplit(":", 1)[1]], env)
        pids["s3"] = moto.pid
        _wait(lambda: _answers(s3), moto, STATE / "s3.log")
        _s3(env).create_bucket(Bucket=BUCKET)
        postgres = _start("postgres", database.command(db_port), env)
        pids["postgres"] = postgres.pid
        _wait(lambda: database.ready(db_port), postgres, STATE / "postgres.log")
        database.create_database(db_port)
        mlflow_port = settings["MLFLOW_TRACKING_URI"].rsplit(":", 1)[1]
        server = [str(bindir / "mlflow"), "server", "--host", "127.0.0.1", "--port", mlflow_port, "--workers", "1"]
        server += ["--backend-store-uri", database.uri(db_port)]
        server += ["--artifacts-destination", f"s3://{BUCKET}/mlartifacts"]
        no_jobs = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # seven huey workers the flow never uses
        server_env = env | database.client_env() | no_jobs | {"MLFLOW_S3_ENDPOINT_URL": s3}
        mlflow = _start("mlflow", server, server_env)
        pids["mlflow"] = mlflow.pid
        _wait(lambda: _answers(f"{settings['MLFLOW_TRACKING_URI']}/health"), mlflow, STATE / "mlflow.log")
    finally:
        PIDS.write_text(json.dumps(pids))  # written even when a start failed: `down` stops what did start
    PROFILE.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    add_dvc_remote(settings)
    return PROFILE


def add_dvc_remote(settings: dict[str, str]) -> None:
    """`dvc push -r stack` sends the pinned data to the stack's S3 (in .dvc/config.local: not committed)."""
    dvc = [sys.executable, "-m", "dvc", "remote"]
    url, endpoint = settings["CLOUD_DVC_REMOTE"], settings["AWS_ENDPOINT_URL"]
    subprocess.run([*dvc, "add", "--local", "-f", "stack", url], cwd=PROJECT_ROOT, check=True)
    for key, value in [("endpointurl", endpoint), ("access_key_id", "stack"), ("secret_access_key", "stack")]:
        subprocess.run([*dvc, "modify", "--local", "stack", key, value], cwd=PROJECT_ROOT, check=True)


def _s3(env: dict[str, str]):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def down() -> list[str]:
    """Stop the recorded servers (their process groups), newest first; return their names. PostgreSQL's processes
    have sessions of their own: its postmaster stops them before it exits."""
    if not PIDS.exists():
        return []
    stopped = []
    for name, pid in reversed(list(json.loads(PIDS.read_text()).items())):
        try:
            os.killpg(pid, STOP_SIGNALS.get(name, signal.SIGTERM))
        except ProcessLookupError:
            continue
        for _ in range(100):
            if not _running(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        stopped.append(name)
    PIDS.unlink()
    PROFILE.unlink(missing_ok=True)
    return stopped


def _running(group: int) -> bool:
    """Whether a process of the group still runs. A server whose `up` has exited is init's child, and init may take
    seconds to reap it: on Linux a zombie (state Z in /proc/<pid>/stat) counts as stopped."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    if not Path("/proc/self/stat").exists():
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:  # gone meanwhile
            continue
        if int(pgrp) == group and state != "Z":
            return True
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("action", choices=["up", "down"])
    args = parser.parse_args(argv)
    if args.action == "up":
        try:
            path = up()
        except ProjectError as err:
            sys.exit(f"error: {err}")
        name = path.relative_to(PROJECT_ROOT)
        print(f"stack up; its cloud profile: {name} (e.g. make argo PROFILE={name})")
    else:
        print(f"stopped: {', '.join(down()) or 'nothing (no stack up)'}")


if __name__ == "__main__":
    main()

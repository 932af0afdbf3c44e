"""A local S3-compatible server for tests: moto's `moto_server` on 127.0.0.1 and a free port, stopped by its own PID."""

import subprocess
import sys
import time
from pathlib import Path

import requests

from .conftest import free_port, stop_process

# Dummy credentials: without them boto3 looks for the cloud metadata endpoint and hangs.
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


class MotoS3:
    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        server = Path(sys.executable).parent / "moto_server"
        cmd = [str(server), "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30) -> None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited:\n{self.log.read_text()}")
            try:
                requests.get(self.url, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise TimeoutError(f"moto_server not ready after {timeout}s:\n{self.log.read_text()}")

    def create_bucket(self, name: str) -> None:
        """Create a bucket (S3 REST: PUT /bucket); bucket names need 3 to 63 characters."""
        requests.put(f"{self.url}/{name}", timeout=10).raise_for_status()

    def env(self, bucket: str) -> dict[str, str]:
        """The environment of a Metaflow command whose datastore is this server's `bucket`."""
        return DUMMY_AWS | {
            "METAFLOW_DEFAULT_DATASTORE": "s3",
            "METAFLOW_DATASTORE_SYSROOT_S3": f"s3://{bucket}/metaflow",
            "METAFLOW_S3_ENDPOINT_URL": self.url,
        }

    def stop(self) -> None:
        stop_process(self.proc, timeout=15)

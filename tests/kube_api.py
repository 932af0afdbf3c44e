"""A recording Kubernetes API on 127.0.0.1 for `argo-workflows create`: it knows no object (GET and DELETE answer 404)
and accepts every object created (POST, PUT), keeping it. Deployed there, Metaflow sends what `--only-json` leaves
out: the Argo Events Sensor of a `@trigger`ed flow and the CronWorkflow of a `@schedule`d one."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RecordingKubeApi:
    def __init__(self):
        self.created: list[dict] = []
        created = self.created

        class Api(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer(404, {"kind": "Status", "code": 404, "message": f"{self.path} not found"})

            do_DELETE = do_GET

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                created.append(body)
                self._answer(201, body)

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Its address: a webhook too (Metaflow's ArgoEvent posts there; every POST is kept and answered 201)."""
        return f"http://127.0.0.1:{self.server.server_port}/"

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig naming this server (plain HTTP, a dummy token), for KUBECONFIG."""
        cluster = {"name": "recorder", "cluster": {"server": f"http://127.0.0.1:{self.server.server_port}"}}
        context = {"name": "recorder", "context": {"cluster": "recorder", "user": "recorder", "namespace": "default"}}
        config = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster], "contexts": [context]}
        config |= {"users": [{"name": "recorder", "user": {"token": "dummy"}}], "current-context": "recorder"}
        path.write_text(json.dumps(config))  # JSON is YAML
        return path

    def objects(self, kind: str) -> list[dict]:
        return [body for body in self.created if body.get("kind") == kind]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

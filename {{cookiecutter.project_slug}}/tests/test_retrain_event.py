"""The retraining trigger's pieces without a cluster: what the event carries, when it is published, and the real POST
Metaflow's ArgoEvent sends, received by a webhook on 127.0.0.1 standing in for Argo Events'."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from {{ cookiecutter.module_name }}.monitoring.retrain_event import (
    DATA_FIELD,
    RetrainNotRequested,
    on_argo,
    payload,
    request_retraining,
    schedule_arguments,
    trigger_event,
)

EVENT = "{{ cookiecutter.module_name }}.retrain"
MD5 = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def webhook():
    """An HTTP server answering every POST with `status` (200 unless a test changes it) and keeping the bodies."""
    received, status = [], [200]

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", received, status
    finally:
        server.shutdown()
        server.server_close()


def _facts(verdict="drift", data_md5=MD5):
    return payload(verdict, "credit:abc123", "3", "MonitorFlow/17", data_md5)


def test_the_event_maps_its_data_field_to_the_training_flows_data_md5():
    assert trigger_event(EVENT) == {"name": EVENT, "parameters": {"data-md5": DATA_FIELD}}
    assert schedule_arguments("hourly") == {"hourly": True}
    assert schedule_arguments("*/30 * * * *") == {"cron": "*/30 * * * *"}


def test_the_payload_names_the_verdict_the_model_and_the_data_only_when_known():
    assert _facts() == {
        "verdict": "drift",
        "model_version": "credit:abc123",
        "mlflow_model_version": "3",
        "monitor_run": "MonitorFlow/17",
        DATA_FIELD: MD5,
    }
    assert DATA_FIELD not in _facts(data_md5="")  # absent: the triggered run keeps its parameter's default


def test_only_argo_workflows_runs_are_recognised(monkeypatch):
    monkeypatch.delenv("ARGO_WORKFLOW_TEMPLATE", raising=False)
    assert not on_argo()
    monkeypatch.setenv("ARGO_WORKFLOW_TEMPLATE", "{{ cookiecutter.module_name }}.prod.monitorflow")
    assert on_argo()


@pytest.mark.parametrize(
    ("verdict", "event", "argo", "said"),
    [
        ("ok", EVENT, True, ""),
        ("warn", EVENT, True, ""),
        ("drift", None, True, "no retraining event (monitoring.retrain_event); retrain: make retrain BATCH="),
        ("drift", EVENT, False, f"retraining event {EVENT} not published (only a run on Argo Workflows publishes it)"),
    ],
)
def test_nothing_is_published_unless_the_verdict_needs_action_on_argo(webhook, verdict, event, argo, said):
    url, received, _ = webhook
    line = request_retraining(event, _facts(verdict), argo, url)
    assert line == "" if not said else said in line
    assert received == []


@pytest.mark.parametrize("verdict", ["drift", "degraded"])
def test_on_argo_the_event_reaches_the_webhook_with_the_payload(webhook, verdict):
    url, received, _ = webhook
    line = request_retraining(EVENT, _facts(verdict), True, url)
    assert f"retraining event {EVENT} published" in line and f"data to retrain on: {MD5}" in line
    (body,) = received
    assert body["name"] == body["payload"]["name"] == EVENT  # the sensor filters on payload.name
    assert {k: body["payload"][k] for k in _facts(verdict)} == _facts(verdict)


def test_a_failed_publication_stops_with_a_message(webhook):
    url, received, status = webhook
    status[0] = 500
    with pytest.raises(RetrainNotRequested, match=f"verdict drift: Unable to publish Argo Event \\({EVENT}\\)"):
        request_retraining(EVENT, _facts(), True, url)
    assert len(received) == 1  # an HTTP error is not retried

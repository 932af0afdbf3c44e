{% set regression = cookiecutter.task == "tabular_regression" -%}
"""The prediction log, written off the request path: for every request the service answered, one row per record with
{%- if regression %}
its inputs, the predicted value and the model version, for monitoring to read back.
{%- else %}
its inputs, the label, every class's probability and the model version, for monitoring to read back.
{%- endif %}

PredictionLog is a plain ASGI middleware (no BentoML import, so it is tested without a server). When an API route
answers 200, it queues the request's body, the answer's body and the request's context (BentoML's request id is in
it); one writer thread per serving worker parses them and calls `write(records, predictions)` in that context.
service.py's `write` hands `columns(...)` to BentoML's monitoring API (`bentoml.monitor`), whose sink is BentoML
configuration: by default JSON lines under `monitoring/predictions/data/`, one file per worker. The queue is bounded
in bytes: when the writer falls behind, requests go unlogged and are counted in a WARNING; no answer waits for the log.
"""

import contextvars
import json
import logging
import queue
import threading

LOG = logging.getLogger("bentoml.serve.prediction_log")
MAX_PENDING_BYTES = 32 << 20  # request and answer bodies waiting for the writer, per worker


def columns(
    records: list[dict], predictions: list[dict], fields: dict[str, str], model_version: str, shadow: tuple = ()
) -> list[tuple]:
    """(name, role, data_type, values) per column, in BentoML monitoring's vocabulary: every input field
{%- if regression %}
    (`fields`: name -> "numerical" | "categorical"), then the predicted value and the model version, one value per
    record.
{%- else %}
    (`fields`: name -> "numerical" | "categorical"), then the label, each class's probability and the model version,
    one value per record.
{%- endif %} `shadow`: (predictions, model_version, errors) of a challenger that scored the same records
    (a prediction is None where it could not; errors: why, per record, else None), logged beside as `shadow_*`."""
    out = [(name, "feature", kind, [record.get(name) for record in records]) for name, kind in fields.items()]
    out += answers(predictions, model_version, len(records))
    if shadow:
        their_predictions, their_version, errors = shadow
        out += answers(their_predictions, their_version, len(records), prefix="shadow_")
        out.append(("shadow_error", "prediction", "categorical", errors))
    return out


{% if regression -%}
def answers(predictions: list[dict | None], model_version: str, rows: int, prefix: str = "") -> list[tuple]:
    """The predicted value (numerical) and the model version: None where a record has no prediction."""
    out = [(f"{prefix}value", "prediction", "numerical", [None if p is None else p["value"] for p in predictions])]
{%- else -%}
def answers(predictions: list[dict | None], model_version: str, rows: int, prefix: str = "") -> list[tuple]:
    """The label, each class's probability and the model version: None where a record has no prediction."""
    known = next((p for p in predictions if p is not None), None)
    out = [(f"{prefix}label", "prediction", "categorical", [p and p["label"] for p in predictions])]
    for cls in known["probabilities"] if known else []:
        values = [p["probabilities"].get(cls) if p else None for p in predictions]
        out.append((f"{prefix}probability_{cls}", "prediction", "numerical", values))
{%- endif %}
    out.append((f"{prefix}model_version", "prediction", "categorical", [model_version] * rows))
    return out


def field_types(record_schema: dict) -> dict[str, str]:
    """The monitoring data type of each request field, from the record's JSON schema: numbers are numerical,
    anything else (categories, text) categorical."""
    types = {}
    for name, schema in record_schema["properties"].items():
        kinds = {option.get("type") for option in schema.get("anyOf", [schema])} - {"null"}
        types[name] = "numerical" if kinds <= {"number", "integer"} and kinds else "categorical"
    return types


class PredictionLog:
    """ASGI middleware in front of the API `routes`: queues each answered request for `write`, never delays it."""

    def __init__(self, app, routes: set[str], write, max_pending_bytes: int = MAX_PENDING_BYTES):
        self.app, self.routes, self.write = app, routes, write
        self.max_pending_bytes = max_pending_bytes
        self.pending = queue.SimpleQueue()
        self.pending_bytes = self.dropped = 0
        self.lock = threading.Lock()
        self.writer: threading.Thread | None = None  # started by the first request: threads do not survive a fork

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in self.routes or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        request, answer, status = [], [], []

        async def tee_receive():
            message = await receive()
            if message["type"] == "http.request":
                request.append(message.get("body", b""))
            return message

        async def tee_send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body" and status == [200]:
                answer.append(message.get("body", b""))
            await send(message)

        await self.app(scope, tee_receive, tee_send)
        if status == [200]:
            self.submit(b"".join(request), b"".join(answer), contextvars.copy_context())

    def submit(self, request: bytes, answer: bytes, context: contextvars.Context) -> None:
        size = len(request) + len(answer)
        with self.lock:
            if self.writer is None:
                self.writer = threading.Thread(target=self._drain, name="prediction-log", daemon=True)
                self.writer.start()
            if self.pending_bytes + size > self.max_pending_bytes:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    LOG.warning("prediction log behind: %d answered requests not logged so far", self.dropped)
                return
            self.pending_bytes += size
        self.pending.put((request, answer, context, size))

    def _drain(self) -> None:
        while True:
            request, answer, context, size = self.pending.get()
            try:
                records = json.loads(request)["records"]
                body = json.loads(answer)
                context.run(self.write, records, body["predictions"] if isinstance(body, dict) else body)
            except Exception:  # a log that fails must not take the service down; it says why, once per request
                LOG.exception("prediction log: a request's rows could not be written")
            finally:
                with self.lock:
                    self.pending_bytes -= size

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued request is written (tests, shutdown); False if `timeout` passed first."""
        import time

        deadline = time.monotonic() + timeout
        while self.pending_bytes and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.pending_bytes

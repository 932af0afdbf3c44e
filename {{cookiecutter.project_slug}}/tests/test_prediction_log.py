"""The prediction log (prediction_log.PredictionLog), driven as an ASGI app without a server: what it writes, when,
and that no answer waits for it."""

import asyncio
import contextvars
import json
import threading

from {{ cookiecutter.module_name }}.release.prediction_log import PredictionLog, columns, field_types

RECORDS = [{"age": 41, "region": "north"}, {"age": None, "region": "west"}]
{%- if cookiecutter.task == "tabular_regression" %}
PREDICTIONS = [{"value": 12.5}, {"value": 0.0}]
{%- else %}
PREDICTIONS = [
    {"label": 1, "probability": 0.9, "probabilities": {"0": 0.1, "1": 0.9}},
    {"label": 0, "probability": 0.8, "probabilities": {"0": 0.8, "1": 0.2}},
]
{%- endif %}
REQUEST_ID = contextvars.ContextVar("request_id", default=None)


class Api:
    """The API behind the log: answers `status` with the predictions, wrapped (/predict) or as a list (/classify)."""

    def __init__(self, status=200):
        self.status = status

    async def __call__(self, scope, receive, send):
        await receive()
        REQUEST_ID.set(scope["path"] + "-id")  # as BentoML's tracing middleware sets the request id
        answer = {"predictions": PREDICTIONS} if scope["path"] == "/predict" else PREDICTIONS
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})


class Sink:
    def __init__(self, gate: threading.Event | None = None):
        self.rows, self.gate = [], gate

    def __call__(self, records, predictions):
        if self.gate:
            self.gate.wait(10)
        self.rows.append((records, predictions, REQUEST_ID.get()))


def call(log, path="/classify", body=None) -> int:
    body = json.dumps({"records": RECORDS}).encode() if body is None else body
    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    async def request():
        await log(scope, receive, send)  # the request's own context: the API's request id is set in it

    asyncio.run(request())
    return sent[0]["status"]


def test_answered_requests_are_written_with_their_context():
    sink = Sink()
    log = PredictionLog(Api(), routes={"/predict", "/classify"}, write=sink)
    assert call(log, "/predict") == 200 and call(log, "/classify") == 200
    assert log.flush()
    assert sink.rows == [(RECORDS, PREDICTIONS, "/predict-id"), (RECORDS, PREDICTIONS, "/classify-id")]


def test_refused_requests_and_other_routes_are_not_written():
    sink = Sink()
    assert call(PredictionLog(Api(status=400), routes={"/classify"}, write=sink)) == 400
    assert call(PredictionLog(Api(), routes={"/predict"}, write=sink), path="/classify") == 200
    assert sink.rows == []


def test_no_answer_waits_for_the_log_and_a_full_queue_drops_rows(caplog):
    """The writer is held: answers still come back at once; past the byte bound requests go unlogged and counted."""
    gate = threading.Event()
    sink = Sink(gate)
    body = json.dumps({"records": RECORDS}).encode()
{%- if cookiecutter.task == "tabular_regression" %}
    size = len(body) + len(json.dumps(PREDICTIONS))  # a request and its answer: room for three
    log = PredictionLog(Api(), routes={"/classify"}, write=sink, max_pending_bytes=3 * size)
{%- else %}
    log = PredictionLog(Api(), routes={"/classify"}, write=sink, max_pending_bytes=3 * (len(body) + 200))
{%- endif %}
    statuses = [call(log, body=body) for _ in range(6)]
    assert statuses == [200] * 6 and sink.rows == []  # answered while the writer was stuck
    assert log.dropped >= 2 and "not logged" in caplog.text
    gate.set()
    assert log.flush()
    assert 1 <= len(sink.rows) == 6 - log.dropped


def test_a_row_that_cannot_be_written_is_logged_and_the_writer_goes_on(caplog):
    def broken(records, predictions):
        raise OSError("disk full")

    log = PredictionLog(Api(), routes={"/classify"}, write=broken)
    assert call(log) == 200 and log.flush()
    assert "could not be written" in caplog.text and log.writer.is_alive()


{% if cookiecutter.task == "tabular_regression" -%}
def test_columns_are_one_value_per_record_in_monitoring_terms():
    fields = {"age": "numerical", "region": "categorical"}
    out = {name: (role, kind, values) for name, role, kind, values in columns(RECORDS, PREDICTIONS, fields, "m:1")}
    assert list(out) == ["age", "region", "value", "model_version"]
    assert out["age"] == ("feature", "numerical", [41, None])
    assert out["value"] == ("prediction", "numerical", [12.5, 0.0])  # the predicted value, a 0 kept as 0
    assert out["model_version"] == ("prediction", "categorical", ["m:1", "m:1"])


def test_a_challenger_in_shadow_is_logged_beside_the_champion_and_a_refused_record_says_why():
    theirs = [{"value": 11.0}, None]
    errors = [None, "age: Input should be a valid number"]
    out = {c[0]: c[3] for c in columns(RECORDS, PREDICTIONS, {}, "m:1", (theirs, "m:2", errors))}
    assert out["value"] == [12.5, 0.0] and out["shadow_value"] == [11.0, None]
    assert out["shadow_model_version"] == ["m:2", "m:2"] and out["shadow_error"] == errors
{%- else -%}
def test_columns_are_one_value_per_record_in_monitoring_terms():
    fields = {"age": "numerical", "region": "categorical"}
    out = {name: (role, kind, values) for name, role, kind, values in columns(RECORDS, PREDICTIONS, fields, "m:1")}
    assert out["age"] == ("feature", "numerical", [41, None])
    assert out["label"] == ("prediction", "categorical", [1, 0])
    assert out["probability_1"] == ("prediction", "numerical", [0.9, 0.2])
    assert out["model_version"] == ("prediction", "categorical", ["m:1", "m:1"])


def test_a_challenger_in_shadow_is_logged_beside_the_champion_and_a_refused_record_says_why():
    theirs = [{"label": 0, "probability": 0.6, "probabilities": {"0": 0.6, "1": 0.4}}, None]
    errors = [None, "age: Input should be a valid number"]
    out = {c[0]: c[3] for c in columns(RECORDS, PREDICTIONS, {}, "m:1", (theirs, "m:2", errors))}
    assert out["label"] == [1, 0] and out["shadow_label"] == [0, None]
    assert out["shadow_probability_1"] == [0.4, None] and out["shadow_model_version"] == ["m:2", "m:2"]
    assert out["shadow_error"] == errors
{%- endif %}


def test_field_types_follow_the_record_schema():
    schema = {
        "properties": {
            "age": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "region": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "text": {"type": "string"},
        }
    }
    assert field_types(schema) == {"age": "numerical", "region": "categorical", "text": "categorical"}

"""The service's HTTP boundary (http_guard.RequestGuard), driven as an ASGI app without a server."""

import asyncio
import json
import logging

import pytest

from {{ cookiecutter.module_name }}.release.http_guard import (
    ClientErrorTracebacks,
    EscapeControls,
    RequestGuard,
    clean,
    max_body_bytes,
)

BODY = b'{"records": [{"x": 1}]}'


class Downstream:
    """The API behind the guard: records the body it got, answers 200 (or `reply`)."""

    def __init__(self, reply=(200, b'{"ok": true}')):
        self.reply, self.bodies = reply, []

    async def __call__(self, scope, receive, send):
        message = await receive()
        self.bodies.append(message["body"])
        status, body = self.reply
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"1")]})
        await send({"type": "http.response.body", "body": body})


def call(guard, body=BODY, headers=None, chunks=None, path="/predict", stall=False):
    """(status, headers, JSON body) of one request; `chunks` sends the body in pieces, `stall` never finishes it."""
    headers = [(b"content-type", b"application/json")] if headers is None else headers
    if chunks is None and not stall:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    pieces = list(chunks) if chunks is not None else [body]
    sent = []

    async def receive():
        if stall:
            await asyncio.sleep(3600)
        if pieces:
            piece = pieces.pop(0)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    start, body_messages = sent[0], [m for m in sent[1:] if m["type"] == "http.response.body"]
    data = b"".join(m.get("body", b"") for m in body_messages)
    return start["status"], dict(start["headers"]), json.loads(data)


@pytest.fixture()
def api():
    return Downstream()


def guard(app, limit=1000, timeout=10.0):
    return RequestGuard(app, keys={"/predict": {"records"}}, max_body_bytes=limit, body_timeout_s=timeout)


def test_a_valid_request_reaches_the_api_unchanged(api):
    status, _, body = call(guard(api))
    assert status == 200 and body == {"ok": True} and api.bodies == [BODY]
    status, _, _ = call(guard(api), chunks=[BODY[:5], BODY[5:]])  # chunked: reassembled
    assert status == 200 and api.bodies[-1] == BODY


@pytest.mark.parametrize(
    "content_type",
    [b"text/plain", b"multipart/form-data; boundary=xyz", b"application/json; charset=latin-1", None],
)
def test_other_content_types_get_415(api, content_type):
    headers = [] if content_type is None else [(b"content-type", content_type)]
    status, _, body = call(guard(api), headers=headers)
    assert status == 415 and ("application/json" in body["error"] or "UTF-8" in body["error"]), body
    assert not api.bodies


def test_compressed_bodies_get_415(api):
    headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
    assert call(guard(api), headers=headers)[0] == 415


def test_bodies_over_the_limit_get_413_declared_or_counted(api):
    headers = [(b"content-type", b"application/json"), (b"content-length", b"5000")]
    status, sent, body = call(guard(api), headers=headers, chunks=[])  # declared: refused before reading
    assert status == 413 and sent[b"connection"] == b"close" and "1000 bytes" in body["error"]
    status, _, _ = call(guard(api), chunks=[b" " * 600, b" " * 600])  # chunked: counted as it arrives
    assert status == 413 and not api.bodies


def test_a_stalled_body_gets_408(api):
    assert call(guard(api, timeout=0.2), stall=True)[0] == 408


def test_a_client_gone_mid_body_is_still_answered(api):
    """An answer (to no one) ends the request: BentoML's timeout middleware otherwise holds it, and the server's
    shutdown with it, until the request timeout."""
    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": [(b"content-type", b"application/json")]}
    messages = [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(guard(api)(scope, receive, send))
    assert sent[0]["status"] == 400 and not api.bodies


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"records": [], "records": []}', "duplicate key 'records'"),
        (b'{"records": [{"x": 1, "x": 2}]}', "duplicate key 'x'"),
        (b'{"records": [], "extra": 1}', "unknown top-level key 'extra'"),
        (b'{"records": [{"x": NaN}]}', "NaN is not a JSON number"),
        (b'{"records": [{"x": -Infinity}]}', "-Infinity is not a JSON number"),
        (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
        (b"[]", "must be an object"),
        (b'{"records": [', "not valid JSON"),
        (b'{"records": "\xff"}', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_malformed_json_gets_400_with_the_reason(api, body, reason):
    status, _, answer = call(guard(api, limit=100_000), body=body)
    assert status == 400 and reason in answer["error"], answer
    assert not api.bodies


def test_echoed_names_are_truncated_and_escaped(api):
    key = "k" * 100_000 + "\n"
    status, _, answer = call(guard(api, limit=1 << 20), body=json.dumps({"records": [], key: 1}).encode())
    assert status == 400 and len(answer["error"]) < 300 and "(+" in answer["error"]
    assert clean("a\nb\x1b[31m\u2028") == "a\\nb\\x1b[31m\\u2028"


def test_api_validation_errors_are_bounded_and_logged_in_one_line(caplog):
    """The API's own 4xx (pydantic's errors, one per record) comes back with bounded names and at most 20 errors."""
    errors = [{"type": "extra_forbidden", "loc": ["records", i, "k" * 10_000 + "\n"], "msg": "x"} for i in range(50)]
    api = Downstream(reply=(400, json.dumps({"error": "50 validation errors", "detail": errors}).encode()))
    with caplog.at_level(logging.INFO):
        status, headers, answer = call(guard(api, limit=1 << 20))
    assert status == 400 and len(answer["detail"]) == 20 and answer["more_errors"] == 30
    assert int(headers[b"content-length"]) == len(json.dumps(answer)) < 10_000
    assert all("\n" not in error["loc"][-1] for error in answer["detail"])
    (record,) = [r for r in caplog.records if r.name == "bentoml.serve.guard"]
    assert record.levelno == logging.WARNING and "\n" not in record.getMessage() and len(record.getMessage()) < 1000


def test_client_error_tracebacks_are_dropped_server_errors_kept():
    from pydantic import BaseModel, ValidationError

    class Model(BaseModel):
        x: int

    def record(error):
        try:
            raise error
        except Exception as err:
            return logging.LogRecord("x", logging.ERROR, "", 0, "Exception", (), (type(err), err, None))

    try:
        Model(x="no")
    except ValidationError as err:
        invalid = err
    keep = ClientErrorTracebacks()
    assert not keep.filter(record(invalid))
    assert keep.filter(record(RuntimeError("bug")))
    access = logging.LogRecord("bentoml.access", logging.INFO, "", 0, "%s", ("path=/predict\nforged",), None)
    EscapeControls().filter(access)
    assert access.getMessage() == "path=/predict\\nforged"


def test_the_body_limit_grows_with_the_batch_size():
    fields = {"age": 32, "region": 256}
    assert max_body_bytes(fields, 10) < max_body_bytes(fields, 1000)
    assert max_body_bytes(fields, 1000) > 1000 * len(json.dumps({"age": 1e308, "region": "é" * 256}))

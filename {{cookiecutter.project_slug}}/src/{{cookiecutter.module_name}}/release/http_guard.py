"""The service's HTTP boundary: a plain ASGI middleware (service.py adds it with BentoML's `add_asgi_middleware`) that
refuses what the README's "What the service refuses" lists before the API sees it, bounds and logs every 4xx in one
line, and adds the model's lineage headers to every answer; and two log filters. No BentoML import: tested without a
server."""

import asyncio
import json
import logging
import re

LOG = logging.getLogger("bentoml.serve.guard")  # under BentoML's logger: its handlers, format and trace ids
MAX_ERRORS = 20  # validation errors returned (and counted) per response
NAME_CHARS, TEXT_CHARS, LINE_CHARS = 64, 200, 600
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(value, limit: int = TEXT_CHARS) -> str:
    """`value` as text fit for a log line or an error body: at most `limit` characters (the rest counted), control
    characters escaped (no forged log lines, no terminal escapes)."""
    text = value if isinstance(value, str) else str(value)
    cut = f"...(+{len(text) - limit} chars)" if len(text) > limit else ""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text[:limit]) + cut


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _no_duplicates(pairs: list) -> dict:
    """json's object_pairs_hook: a repeated key is refused. Ours because neither parser behind the API can refuse one:
    pydantic 2's `model_validate_json` keeps the last value (no ConfigDict setting for duplicates) and BentoML's input
    models parse with `json.loads`, which does the same; only this hook sees every pair."""
    data = dict(pairs)  # in C; the loop below only when a key repeats
    if len(data) == len(pairs):
        return data
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise ClientError(400, f"duplicate key {clean(key, NAME_CHARS)!r} in the JSON body")
        seen.add(key)


def _no_constants(name: str):
    raise ClientError(400, f"{name} is not a JSON number")


def parse_body(body: bytes, keys: set[str]) -> dict:
    """The body as a JSON object with only `keys` at the top level, each key once at any depth; else ClientError."""
    try:
        data = json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except ClientError:
        raise
    except RecursionError:
        raise ClientError(400, "the JSON body is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise ClientError(400, f"the body is not valid JSON: {clean(err, TEXT_CHARS)}") from None
    if not isinstance(data, dict):
        raise ClientError(400, f"the JSON body must be an object with {sorted(keys)}, not a {type(data).__name__}")
    unknown = [key for key in data if key not in keys]
    if unknown:
        raise ClientError(400, f"unknown top-level key {clean(unknown[0], NAME_CHARS)!r} (expected {sorted(keys)})")
    return data


def _header(scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key.lower() == name]


def check_headers(scope, max_body_bytes: int) -> None:
    """Content type, encoding and declared length, before any of the body is read."""
    types = _header(scope, b"content-type")
    if len(types) != 1:
        raise ClientError(415, "send the body as JSON with one `Content-Type: application/json` header")
    media, *params = (part.strip().lower() for part in types[0].split(";"))
    if media != "application/json":
        raise ClientError(415, f"content type {clean(media, NAME_CHARS)!r} not supported: send application/json")
    for param in params:
        if param.startswith("charset=") and param.removeprefix("charset=").strip('"') not in ("utf-8", "utf8"):
            raise ClientError(415, f"{clean(param, NAME_CHARS)!r} not supported: send UTF-8 JSON")
    if any(value.strip().lower() not in ("", "identity") for value in _header(scope, b"content-encoding")):
        raise ClientError(415, "compressed bodies are not supported: send the JSON uncompressed")
    lengths = _header(scope, b"content-length")
    if len(set(lengths)) > 1 or not all(value.strip().isdigit() for value in lengths):
        raise ClientError(400, "invalid Content-Length")
    if lengths and int(lengths[0]) > max_body_bytes:
        raise ClientError(413, f"body of {int(lengths[0])} bytes is over the limit of {max_body_bytes} bytes")


def _bounded(error) -> dict:
    """One of BentoML's validation errors (pydantic's {type, loc, msg, ...}) with every name and message bounded."""
    if not isinstance(error, dict):
        return {"msg": clean(error)}
    loc = [item if isinstance(item, int) else clean(item, NAME_CHARS) for item in error.get("loc", [])[:8]]
    message = clean(error.get("msg", error.get("error", "")))
    return {"type": clean(error.get("type", ""), NAME_CHARS), "loc": loc, "msg": message}


def bounded_body(status: int, body: bytes) -> dict:
    """A 4xx body as {"error": ..., "detail": [...]}, every string in it bounded and escaped."""
    try:
        data = json.loads(body)
    except ValueError:
        return {"error": clean(body.decode("utf-8", "replace"))}
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):  # BentoML's InvalidArgument: [{..}]
        data = data[0]
    if not isinstance(data, dict):
        return {"error": clean(json.dumps(data))}
    out = {"error": clean(data.get("error", f"HTTP {status}"))}
    if "detail" in data:
        errors = data["detail"] if isinstance(data["detail"], list) else [data["detail"]]
        out["detail"] = [_bounded(error) for error in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            out["more_errors"] = len(errors) - MAX_ERRORS
    return out


def summary(body: dict) -> str:
    """One line for the log: the error, then each error's location and message."""
    parts = [".".join(map(str, error.get("loc", []))) + ": " + error["msg"] for error in body.get("detail", [])[:3]]
    more = len(body.get("detail", [])) - 3 + body.get("more_errors", 0)
    line = body["error"] + (" | " + "; ".join(parts) if parts else "") + (f" (+{more} more)" if more > 0 else "")
    return clean(line, LINE_CHARS)


class RequestGuard:
    """ASGI middleware in front of the API routes `keys` (route -> top-level keys it takes); other routes pass."""

    def __init__(self, app, keys: dict[str, set[str]], max_body_bytes: int, body_timeout_s: float = 10.0, headers=None):
        self.app, self.keys = app, keys
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        self.max_body_bytes, self.body_timeout_s = max_body_bytes, body_timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in self.keys or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        try:
            check_headers(scope, self.max_body_bytes)
            body = await self._read(receive)
            parse_body(body, self.keys[scope["path"]])
        except ClientError as err:
            return await self._refuse(scope, send, err)

        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for a disconnect, as the server would

        await self.app(scope, replay, _BoundedErrors(scope, send, self.headers))

    async def _read(self, receive) -> bytes:
        chunks, size = [], 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise ClientError(408, f"request body not received within {self.body_timeout_s:g} s") from None
            if message["type"] == "http.disconnect":  # answered all the same (to no one): BentoML's timeout
                raise ClientError(400, "the client disconnected before sending the whole body")  # waits for an answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise ClientError(413, f"body over the limit of {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope, send, err: ClientError) -> None:
        body = {"error": str(err)}
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        if err.status in (408, 413):  # the rest of the body is not read: this connection cannot be reused
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})
        LOG.warning("%s %s -> %d: %s", scope["method"], clean(scope["path"], NAME_CHARS), err.status, summary(body))


class _BoundedErrors:
    """`send` for the API: `headers` added to its answer; a 4xx answer held, rewritten with bounded text, and logged
    in one line."""

    def __init__(self, scope, send, headers: list[tuple[bytes, bytes]]):
        self.scope, self.send, self.headers = scope, send, headers
        self.start, self.chunks = None, []

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            message = message | {"headers": [*message.get("headers", []), *self.headers]}
        if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            return await self.send(message)
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        status = self.start["status"]
        body = bounded_body(status, b"".join(self.chunks))
        data = json.dumps(body).encode()
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(data)).encode()))
        await self.send(self.start | {"headers": headers})
        await self.send({"type": "http.response.body", "body": data, "more_body": False})
        scope = self.scope
        LOG.warning("%s %s -> %d: %s", scope["method"], clean(scope["path"], NAME_CHARS), status, summary(body))


class ClientErrorTracebacks(logging.Filter):
    """Drops BentoML's ERROR-with-traceback record for a client error (a validation error, or a BentoML error with a
    4xx code): RequestGuard logs those in one line. Server errors (5xx) keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        if type(error).__name__ == "ValidationError":
            return False
        code = getattr(getattr(error, "error_code", None), "value", 500)
        return not (isinstance(code, int) and 400 <= code < 500)


class EscapeControls(logging.Filter):
    """Escapes control characters in a record's arguments (the access log prints the decoded URL path: `%0A` in a
    URL would otherwise start a forged line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(clean(a, 2 * LINE_CHARS) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_filters() -> None:
    """In the serving process: client errors without tracebacks, no raw control characters in the access log (BentoML
    has no setting for either). The traceback filter sits on the handlers of `bentoml`, the documented logger that its
    internal modules' error records propagate to."""
    for handler in logging.getLogger("bentoml").handlers:
        if not any(isinstance(f, ClientErrorTracebacks) for f in handler.filters):
            handler.addFilter(ClientErrorTracebacks())
    access = logging.getLogger("bentoml.access")
    if not any(isinstance(f, EscapeControls) for f in access.filters):
        access.addFilter(EscapeControls())


def max_body_bytes(fields: dict[str, int], max_batch_size: int) -> int:
    """The body limit derived from the batch size: `fields` maps each record field to the most characters its value
    may take; every character may arrive as a 6-byte JSON escape (\\u00e9), with room for indentation."""
    record = 16 + sum(len(json.dumps(name)) + 16 + 6 * chars for name, chars in fields.items())
    return max_batch_size * record + 64 * 1024

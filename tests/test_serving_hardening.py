"""Issue 11's measured serving defects, each against a real `bentoml serve` of the trained default project, then a
seeded fuzz run across all of them: every answer is a 4xx (never a 5xx) or a 200 with finite probabilities, and the
log stays one line per event, without tracebacks for client errors, without forged lines, and bounded in size."""

import json
import random
import re
import select
import socket
import time

import pytest
import requests

from .conftest import Server

pytestmark = pytest.mark.e2e

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")  # every line BentoML writes starts with its timestamp
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def served(trained_project):
    project, home, _ = trained_project
    server = Server(project, home)
    try:
        server.wait_ready()
        example = json.loads((project / "examples" / "request.json").read_text())
        yield server, example
    finally:
        server.stop()


def post(server, body, headers=JSON, path="/predict", timeout=30) -> requests.Response:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return requests.post(server.url + path, data=data, headers=headers, timeout=timeout)


def fields(example) -> tuple[list[str], list[str]]:
    record = example["records"][0]
    numbers = [k for k, v in record.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    return numbers, [k for k, v in record.items() if isinstance(v, str)]


def finite_predictions(response) -> bool:
    """A 200 whose every probability is a finite number in [0, 1] (NaN would come back as null)."""
    body = response.json()
    values = [p["probability"] for p in body["predictions"]]
    values += [v for p in body["predictions"] for v in p["probabilities"].values()]
    return all(isinstance(v, float | int) and 0 <= v <= 1 for v in values)


def named(response, field: str) -> bool:
    return response.status_code == 400 and field in json.dumps(response.json())


def log_since(server, offset: int) -> str:
    return server.log.read_bytes()[offset:].decode("utf-8", "replace")


def raw_request(server, head: str, chunks=(), wait: float = 10) -> tuple[int, bytes, float]:
    """Send `head` (request line and headers), then `chunks` while the server has not answered; return the status,
    the response and the seconds until it came. Stops sending as soon as the server answers."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(head.encode("latin-1"))
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed while we were sending
                break
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + _length(data):
            try:
                part = sock.recv(65536)
            except OSError:
                break
            if not part:
                break
            data += part
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data, time.monotonic() - start


def _length(data: bytes) -> int:
    found = re.search(rb"content-length: *(\d+)", data, re.IGNORECASE)
    return int(found.group(1)) if found else 0


def test_non_finite_predictions_never_come_back(served):
    """Defect 1: a number that overflows float32 once scaled gave 200 with probability null."""
    server, example = served
    record = example["records"][0]
    numbers, _ = fields(example)
    for field in numbers:
        for value in (1e308, -1e308, 1e38, 3.5e38, 1e20):
            response = post(server, {"records": [record | {field: value}]})
            assert named(response, field), (field, value, response.status_code, response.text)
    ok = post(server, {"records": [record | {numbers[0]: record[numbers[0]] * 3}]})  # an outlier, not an overflow
    assert ok.status_code == 200 and finite_predictions(ok), ok.text


def test_torch_threads_follow_the_serving_config(served):
    """Defect 2: torch ran its default OpenMP team (one per core) whatever the service's `cpu` resource."""
    server, _ = served
    assert "torch intra-op threads: 1" in server.log.read_text()


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=xyz", "text/plain", "image/png", "application/x-www-form-urlencoded", None],
)
def test_only_json_is_accepted(served, content_type):
    """Defect 3: a multipart content type with a JSON body gave 500; text/plain and others were parsed as JSON."""
    server, example = served
    headers = {"content-type": content_type} if content_type else {}
    response = requests.post(server.url + "/predict", data=json.dumps(example).encode(), headers=headers, timeout=30)
    assert response.status_code == 415 and "application/json" in response.json()["error"], response.text
    charset = post(server, example, headers={"content-type": "application/json; charset=utf-8"})
    assert charset.status_code == 200


def test_client_errors_are_one_bounded_escaped_log_line(served):
    """Defect 4: each client error was logged at ERROR with a traceback; a 1 MiB unknown key came back as a 1 MiB
    body and a 1 MiB log line; a key with a newline forged a log line."""
    server, example = served
    record = example["records"][0]
    offset = server.log.stat().st_size
    huge = post(server, {"records": [record | {"k" * (1 << 20): 1}]})
    assert huge.status_code == 400 and len(huge.content) < 2000, len(huge.content)
    forged = post(server, {"records": [record | {"x\n2026-01-01T00:00:00+0000 [INFO] forged": 1}]})
    assert forged.status_code == 400 and "\n" not in json.dumps(forged.json()["detail"][0]["loc"][-1])
    path = requests.post(server.url + "/predict%0A2026-01-01T00:00:00+0000%20forged", json=example, timeout=30)
    assert path.status_code == 404
    time.sleep(0.5)  # let the log flush
    log = log_since(server, offset)
    assert "Traceback" not in log and "[ERROR]" not in log, log[:3000]
    assert all(LINE.match(line) for line in log.splitlines()), log[:3000]
    assert len(log) < 20_000 and max(map(len, log.splitlines())) < 2000
    assert len(re.findall(r"\[WARNING\].* POST /predict -> 400: ", log)) == 2, log


@pytest.mark.parametrize("value", ["41", "1_000", True, False, "1e3", [41], {"v": 41}])
def test_numeric_fields_take_json_numbers_only(served, value):
    """Defect 5: "41", "1_000" and true were accepted as numbers (pydantic's lax mode)."""
    server, example = served
    field = fields(example)[0][0]
    response = post(server, {"records": [example["records"][0] | {field: value}]})
    assert named(response, field), response.text


def test_unknown_top_level_and_duplicate_keys_are_refused(served):
    """Defect 6: unknown top-level keys were ignored; duplicate JSON keys were accepted (the last one won)."""
    server, example = served
    unknown = post(server, example | {"recrods": []})
    assert named(unknown, "recrods"), unknown.text
    record = json.dumps(example["records"][0])
    field = fields(example)[0][0]
    for body in (
        '{"records": [' + record + '], "records": [' + record + "]}",
        '{"records": [' + record.replace("{", '{"' + field + '": 1, ', 1) + "]}",
    ):
        response = post(server, body)
        assert response.status_code == 400 and "duplicate key" in response.json()["error"], response.text


def test_oversized_bodies_are_refused_before_they_are_read(served):
    """Defect 7: a 50 MB body was read and parsed before the batch cap refused it."""
    server, example = served
    head = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    status, data, seconds = raw_request(server, head + "Content-Length: 50000000\r\n\r\n")  # and no body at all
    assert status == 413 and b"over the limit" in data and seconds < 5, data
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"  # chunked: no length to check, so the guard counts
    status, data, seconds = raw_request(server, head + "Transfer-Encoding: chunked\r\n\r\n", [chunk] * 800)
    assert status == 413 and b"over the limit" in data, data
    largest = {"records": example["records"] * 500}  # max_batch_size (1000) records fit the limit
    assert post(server, largest).status_code == 200
    too_many = post(server, {"records": example["records"] * 501})
    assert named(too_many, "records"), too_many.text[:500]


def test_overload_answers_429_and_a_stalled_body_408(served):
    """Defect 7: past `serving.max_concurrency` (128) requests in progress, a request gets 429 at once instead of
    queueing into a timeout; a client that stops sending mid-body gets 408 after `serving.body_timeout_s` (10 s),
    not a 504 after 30 s."""
    server, example = served
    body = json.dumps(example).encode()
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    stalled, start = [], time.monotonic()
    try:
        for _ in range(128):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
            sock.sendall(head.encode() + body[:10])  # half a request: it holds its place until the body timeout
            stalled.append(sock)
        time.sleep(1)
        busy = post(server, example)
        assert busy.status_code == 429, busy.text
        answer = stalled[0].recv(65536)
        assert answer.startswith(b"HTTP/1.1 408") and 9 < time.monotonic() - start < 20, answer
    finally:
        for sock in stalled:
            sock.close()
    time.sleep(0.5)
    assert post(server, example).status_code == 200  # and serving again


def hostile_cases(example, seed: int = 11, count: int = 320) -> list[tuple[str, dict, bytes, str]]:
    """(category, headers, body, path): a seeded mix of every category above."""
    rng = random.Random(seed)
    record = example["records"][0]
    numbers, categories = fields(example)
    text = json.dumps

    def one(**change):
        return {"records": [record | change]}

    extremes = [1e308, -1e308, 1e38, -3.5e38, 3.4e38, 1e39, 1e300, 5e-324, -0.0, 0, 2**63, -(2**63), 2**64 + 1]
    extremes += [10**400, 1e20, 1e7, -1e7, 123456789012345678901234567890]
    wrong_types = ["41", "1_000", "1e3", " 41", True, False, [], {}, "", "NaN", [1, 2], {"$gt": 0}]
    strings = ["", " ", "x" * 256, "x" * 257, "é" * 200, "\x00", "\x1b[31mred", "a\nb", "\u202eevil", "🙂" * 50]
    strings += ["\ud800", "null", "' OR 1=1 --", "%s%s%n", "${jndi:ldap://x}", 0, 1.5, True, [], {}]

    def numeric():
        value = rng.choice(extremes)
        return "numeric", JSON, text(one(**{rng.choice(numbers): value})).encode(), "/predict"

    def wrong_type():
        return "type", JSON, text(one(**{rng.choice(numbers): rng.choice(wrong_types)})).encode(), "/predict"

    def category():
        return "string", JSON, text(one(**{rng.choice(categories): rng.choice(strings)})).encode(), "/predict"

    def keys():
        key = rng.choice(["x\n2026-01-01T00:00:00+0000 [INFO] forged", "\x00", "k" * rng.choice([100, 5000, 200_000])])
        kind = rng.choice(["unknown", "missing", "duplicate", "top", "dup-top"])
        if kind == "unknown":
            body = text(one(**{key: 1}))
        elif kind == "missing":
            body = text({"records": [{k: v for k, v in record.items() if k != rng.choice(list(record))}]})
        elif kind == "duplicate":
            name = rng.choice(list(record))
            body = text(one()).replace("{", '{"' + name + '": null, ', 2)
        elif kind == "top":
            body = text(example | {key: 1})
        else:
            body = '{"records": [], "records": ' + text(example["records"]) + "}"
        return "keys", JSON, body.encode(), "/predict"

    def syntax():
        good = text(example)
        body = rng.choice(
            [
                good[: rng.randrange(1, len(good))],
                good + "garbage",
                good.replace("41", "NaN", 1),
                good.replace("41", "Infinity", 1),
                good.replace("41", "-Infinity", 1),
                "[" * 50_000 + "]" * 50_000,
                '{"records": ' + "[" * 5000 + "]" * 5000 + "}",
                "\ufeff" + good,
                "",
                "null",
                "[]",
                '"records"',
                "41",
                '{"records": null}',
                '{"records": {}}',
                '{"records": []}',
                '{"records": [null]}',
                '{"records": [[]]}',
                '{"records": [1, 2]}',
            ]
        )
        if rng.random() < 0.2:
            return "syntax", JSON, good.encode()[:40] + b"\xff\xfe\x80" + good.encode()[40:], "/predict"
        return "syntax", JSON, body.encode("utf-8", "surrogatepass"), "/predict"

    def content_type():
        kind = rng.choice(
            [
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "text/plain",
                "text/html",
                "image/png",
                "application/octet-stream",
                "application/x-www-form-urlencoded",
                "application/json; charset=latin-1",
                "application/json-patch+json",
                "application/vnd.bentoml+pickle",
                "APPLICATION/JSON",
                "",
            ]
        )
        return "content-type", {"content-type": kind}, text(example).encode(), "/predict"

    def batch():
        size = rng.choice([0, 1, 999, 1000, 1001, 1500])
        return "batch", JSON, text({"records": (example["records"] * 1500)[:size]}).encode(), "/predict"

    def path():
        where = rng.choice(["/predict%0Aforged", "/predict%0D%0Aforged", "/%1B[2J", "/predict/", "/predict?x=%0A"])
        return "path", JSON, text(example).encode(), where

    makers = [numeric, wrong_type, category, keys, syntax, content_type, batch, path]
    return [rng.choice(makers)() for _ in range(count)]


def test_seeded_fuzz_gets_4xx_or_finite_200_and_a_clean_log(served):
    server, example = served
    cases = hostile_cases(example)
    assert len(cases) >= 300 and len({c[0] for c in cases}) == 8
    offset = server.log.stat().st_size
    start, statuses, failures = time.monotonic(), {}, []
    session = requests.Session()
    for category, headers, body, path in cases:
        try:
            response = session.post(server.url + path, data=body, headers=headers, timeout=30)
        except requests.ConnectionError as err:  # a dropped connection is a failure too
            failures.append((category, "dropped", repr(err)[:200], body[:200]))
            session = requests.Session()
            continue
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        good = 400 <= response.status_code < 500 and len(response.content) < 10_000
        good |= response.status_code == 200 and finite_predictions(response)
        if not good:
            failures.append((category, response.status_code, response.text[:300], body[:200]))
    elapsed = time.monotonic() - start
    session.close()  # no keep-alive connection left to hold up the server's shutdown
    assert not failures, failures[:10]
    assert statuses.get(200, 0) > 0 and sum(v for k, v in statuses.items() if k >= 400) > 200, statuses
    assert post(server, example).status_code == 200  # still serving

    time.sleep(0.5)
    log = log_since(server, offset)
    lines = log.splitlines()
    assert "Traceback" not in log and "[ERROR]" not in log, log[:3000]
    forged = [line for line in lines if not LINE.match(line)]
    assert not forged, forged[:5]
    assert len(log) < 2000 * len(cases) and max(map(len, lines)) < 2000, (len(log), max(map(len, lines)))
    assert elapsed < 90, elapsed

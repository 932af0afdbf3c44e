"""Serving benchmark: the project's Bento against the FastAPI + uvicorn app a user would write instead
(benchmarks/fastapi_app.py: the same Predictor over the same BentoML store model), both driven by wrk.

    make bench-serve [MODEL=candidate] [ARGS="--duration 10 --rounds 3 --json serving.json"]
    python benchmarks/serving.py [--model champion] [--duration 5] [--rounds 2] [--concurrency 1 8 64]
                                 [--batch 1 32] [--endpoint predict|classify|both] [--json OUT]

For every (batch, concurrency) cell the servers take turns (baseline, Bento /predict, Bento /classify, then again:
A B A B, `--rounds` times), so drift on a shared machine hits all of them alike. Printed per cell: successful (2xx)
requests/s and records/s, latency p50/p95/p99 (of every answer: a 503 shed at once is fast), CPU ms per request of
the server's processes, errors (non-2xx answers and socket errors), the ratio to the baseline and the
in-process `Predictor.predict` time for the same batch (the floor no server can beat). Also: cold start (launch to
/readyz 200) and the RSS of each server process, after warm-up and after the load. The goals are printed beside the
figures; this is a benchmark, not a gate: it exits non-zero only when a server fails to start or wrk is missing.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = "{{ cookiecutter.module_name }}"
# the servers and the CLI import the package from src/ (as `make` does, with PYTHONPATH=src)
ENV = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
BASELINE = "baseline"
ROW = "{:16} {:>8} {:>13} {:>10} {:>8} {:>8} {:>8} {:>10} {:>8} {:>6}"
GOALS = {"predict": 1.0, "classify": 2.0}  # issue 11: req/s ratio to the baseline (/classify: adaptive batching)
P99_GOAL = 1.2  # at most this p99 ratio, and no errors
# wrk: one POST body read from $WRK_BODY; each thread counts answers by status; done() prints one JSON line.
# (No brace directly before a percent sign: this file is a Jinja template.)
LUA = r"""
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.method, wrk.body = "POST", f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("codes")) do all[code] = (all[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(all) do table.insert(parts, string.format('"%d": %d', code, n)) end
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %d, "duration_s": %.3f, "status": { %s }, "status_errors": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, table.concat(parts, ", "), e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3))
end
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes, timeout: float = 30) -> int:
    """HTTP status of one POST (an error status is returned, not raised)."""
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def process_tree(root: int) -> list[dict]:
    """A server's processes from /proc: pid, name and RSS (MiB) of the main process, then each descendant. RSS counts
    the pages a process shares with others (the torch libraries) in each of them, so a tree's sum overstates it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        args = [a.decode(errors="replace") for a in argv if a] + ["", "", ""]
        name = args[2] if args[1] == "-m" else f"{Path(args[1] or args[0]).name} {args[2]}".strip()
        tree.append({"pid": pid, "name": name, "rss_mib": round(rss_kb / 1024, 1)})
        todo += sorted(children.get(pid, []))
    return tree


def cpu_seconds(tree: list[dict]) -> float:
    """User + system CPU seconds the processes of `tree` have used so far (/proc/<pid>/stat)."""
    total = 0
    for process in tree:
        try:
            fields = Path(f"/proc/{process['pid']}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


class Launched:
    """A server started on 127.0.0.1 (from the project root), stopped by its own PID; `cold_start_s`: seconds from
    launch until /readyz answered 200."""

    def __init__(self, name: str, cmd: list[str], port: int, log: Path, env: dict, timeout: float = 180):
        self.name, self.url, self.log = name, f"http://127.0.0.1:{port}", log
        start = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} exited with {self.proc.returncode} before it was ready:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        self.cold_start_s = time.monotonic() - start
                        return
            except (urllib.error.URLError, OSError):  # not listening yet, or still loading
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"{name} not ready after {timeout:.0f} s:\n{log.read_text()}")

    def processes(self) -> list[dict]:
        return process_tree(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()  # both servers stop their workers on SIGTERM
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def model(alias: str) -> tuple[str, Path]:
    """(BentoML tag, store directory) of the model `make serve MODEL=alias` serves (registry alias or version)."""
    cmd = [sys.executable, "-m", f"{MODULE}.cli", "serve", alias, "--print-tag"]
    found = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    if found.returncode != 0:
        raise SystemExit(f"no model to serve for {alias!r}: {found.stderr.strip()}")
    tag = found.stdout.split()[-1]
    import bentoml

    return tag, Path(bentoml.models.get(tag).path)


def body(records: list[dict], batch: int) -> bytes:
    """A request of `batch` records, cycling through the example's."""
    return json.dumps({"records": [records[i % len(records)] for i in range(batch)]}).encode()


def floor_ms(model_dir: Path, records: list[dict], batch: int, repeats: int = 50) -> float:
    """Median ms of an in-process Predictor.predict on the batch, with the servers' torch threads: no network,
    no JSON, the records validated by the request model beforehand (both servers hand Predictor.predict what it gives:
    floats, not JSON's integers). No server can answer faster than this."""
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    from {{ cookiecutter.module_name }}.release.artifact import Predictor

    predictor = Predictor(model_dir)
    torch.set_num_threads(predictor.spec.serving.threads)
    record = predictor.record  # the request model (built anew on each access)
    rows = [record.model_validate(row).model_dump() for row in json.loads(body(records, batch))["records"]]
    predictor.predict(rows)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict(rows)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def wrk(url: str, payload: bytes, concurrency: int, duration: int, work: Path) -> dict:
    """One wrk run (<= 2 threads, the 30 s timeout the service has) against `url`; its done() figures."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`")
    (work / "body.json").write_bytes(payload)
    (work / "post.lua").write_text(LUA)
    cmd = ["wrk", f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{duration}s", "--timeout", "30s"]
    cmd += ["-s", str(work / "post.lua"), url]
    env = os.environ | {"WRK_BODY": str(work / "body.json")}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["socket_errors"] = sum(result[k] for k in ("connect", "read", "write", "timeout"))
    result["non2xx"] = sum(n for code, n in result["status"].items() if not code.startswith("2"))
    result["answered_per_s"] = result["requests"] / result["duration_s"]  # any status, 503s shed at once included
    result["rps"] = (result["requests"] - result["non2xx"]) / result["duration_s"]  # what the figures count: 2xx
    return result


def measure(server: Launched, url: str, payload: bytes, concurrency: int, duration: int, work: Path) -> dict:
    """One wrk run, plus the CPU time the server's processes spent per answered request: unlike requests/s, it does
    not depend on what else the machine is running."""
    tree = server.processes()
    before = cpu_seconds(tree)
    result = wrk(url, payload, concurrency, duration, work)
    result["cpu_ms_per_request"] = (cpu_seconds(tree) - before) * 1e3 / max(result["requests"], 1)
    return result


def summarise(runs: list[dict], batch: int) -> dict:
    """Rounds of one server in one cell: mean throughput and latency percentiles, errors summed."""
    mean = {k: statistics.mean(r[k] for r in runs) for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_request")}
    return mean | {
        "records_per_s": mean["rps"] * batch,
        "rps_range": [min(r["rps"] for r in runs), max(r["rps"] for r in runs)],
        "non2xx": sum(r["non2xx"] for r in runs),
        "socket_errors": sum(r["socket_errors"] for r in runs),
        "status": dict(sum((Counter(r["status"]) for r in runs), Counter())),
        "rounds": runs,
    }


def start_servers(tag: str, model_dir: Path, work: Path) -> dict[str, Launched]:
    """The baseline, then the Bento (one after the other, so each cold start has the machine to itself)."""
    base_port, bento_port = free_port(), free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(ROOT / "benchmarks")]
    uvicorn += ["--host", "127.0.0.1", "--port", str(base_port), "--workers", "1", "--log-level", "warning"]
    base_env = ENV | {"BENCH_MODEL_DIR": str(model_dir)}
    servers = {BASELINE: Launched(BASELINE, uvicorn, base_port, work / "baseline.log", base_env)}
    bentoml = Path(sys.executable).with_name("bentoml")
    serve = [str(bentoml) if bentoml.exists() else "bentoml", "serve", "--host", "127.0.0.1", "--port", str(bento_port)]
    try:
        servers["bento"] = Launched("bento", [*serve, "--arg", f"model_tag={tag}"], bento_port, work / "bento.log", ENV)
    except SystemExit:
        servers[BASELINE].stop()
        raise
    return servers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="champion", help="registry alias or version, as `make serve MODEL=`")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each server per cell (A B A B ...)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32], help="records per request")
    parser.add_argument("--endpoint", choices=["predict", "classify", "both"], default="both", help="the Bento's")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`")
    examples = json.loads((ROOT / "examples" / "request.json").read_text())["records"]
    tag, model_dir = model(args.model)
    floors = {b: floor_ms(model_dir, examples, b) for b in args.batch}
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    servers = start_servers(tag, model_dir, work)  # a server that does not start exits here, with its log
    threads = json.loads((model_dir / "model.json").read_text())["serving"]["threads"]
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())  # other work on the machine skews req/s, not CPU ms/req
    print(f"model {tag}, {os.cpu_count()} CPUs (load average {load}), torch threads per server process: {threads}")
    print("baseline: uvicorn --workers 1 (FastAPI runs the sync handler in its thread pool); bento: `bentoml serve`")
    try:
        targets = {BASELINE: servers[BASELINE].url + "/predict"}
        for endpoint in ("predict", "classify") if args.endpoint == "both" else (args.endpoint,):
            status = post(f"{servers['bento'].url}/{endpoint}", body(examples, 1))
            if status == 200:
                targets[f"bento /{endpoint}"] = f"{servers['bento'].url}/{endpoint}"
            else:
                print(f"skipped: the Bento's /{endpoint} answered {status} (this service has no such endpoint?)")
        for url in targets.values():  # warm-up: first requests, lazy imports, thread pools
            wrk(url, body(examples, max(args.batch)), max(args.concurrency), 2, work)
        rss = {"after warm-up": {name: s.processes() for name, s in servers.items()}}
        cells = []
        for batch in args.batch:
            for concurrency in args.concurrency:
                runs: dict[str, list] = {name: [] for name in targets}
                # An unmeasured second at this cell's batch size first: BentoML's batching dispatcher sheds requests
                # (503) by a model of the time per request (not per record) fitted to its last 50 batches, which the
                # previous cell's batch size would skew.
                for url in targets.values():
                    wrk(url, body(examples, batch), concurrency, 1, work)
                for _ in range(args.rounds):
                    for name, url in targets.items():
                        server = servers[name.split()[0]]
                        runs[name].append(measure(server, url, body(examples, batch), concurrency, args.duration, work))
                cells.append({"batch": batch, "concurrency": concurrency, "floor_ms": floors[batch]})
                cells[-1]["servers"] = {name: summarise(r, batch) for name, r in runs.items()}
                report_cell(cells[-1])
        rss["after the load"] = {name: s.processes() for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)  # the servers' logs, wrk's script and bodies
    report_servers(servers, rss)
    print("load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    if args.json:
        cold = {name: s.cold_start_s for name, s in servers.items()}
        saved = {"model": tag, "args": vars(args) | {"json": str(args.json)}, "cold_start_s": cold, "rss": rss}
        args.json.write_text(json.dumps(saved | {"cells": cells}, indent=1))
    return 0


def report_cell(cell: dict) -> None:
    """One table per cell; ratios against the baseline measured in the same cell."""
    base = cell["servers"][BASELINE]
    batch, concurrency, floor = cell["batch"], cell["concurrency"], cell["floor_ms"]
    print(f"\nbatch {batch}, concurrency {concurrency}: in-process Predictor.predict {floor:.2f} ms (floor)")
    heads = ("2xx/s", "(min-max)", "records/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "non-2xx", "socket")
    print("  " + ROW.format("server", *heads))
    for name, s in cell["servers"].items():
        spread = "({:.0f}-{:.0f})".format(*s["rps_range"])
        figures = (s["rps"], spread, s["records_per_s"], s["p50_ms"], s["p95_ms"], s["p99_ms"], s["cpu_ms_per_request"])
        print("  " + ROW.format(name, *(f"{x:.1f}" if isinstance(x, float) else x for x in figures), *errors(s)))
    for name, s in cell["servers"].items():
        if name != BASELINE:
            throughput, p99 = s["rps"] / base["rps"], s["p99_ms"] / base["p99_ms"]
            goal = GOALS[name.rsplit("/", 1)[-1]]
            met = throughput >= goal and p99 <= P99_GOAL and s["non2xx"] + s["socket_errors"] == 0
            verdict = f"goal >= {goal:.1f}x req/s, p99 <= {P99_GOAL}x, 0 errors: {'met' if met else 'missed'}"
            print(f"  ratio {name} / baseline: {throughput:.2f}x req/s, {p99:.2f}x p99   [{verdict}]")


def errors(summary: dict) -> tuple[str, str]:
    """Non-2xx answers (with their statuses when any) and socket errors."""
    codes = ",".join(f"{n}x{code}" for code, n in sorted(summary["status"].items()) if not code.startswith("2"))
    return (f"{summary['non2xx']}" + (f" ({codes})" if codes else ""), str(summary["socket_errors"]))


def report_servers(servers: dict, rss: dict) -> None:
    print("\ncold start (launch to /readyz 200) and RSS per process (MiB)")
    for name, server in servers.items():
        print(f"  {name}: cold start {server.cold_start_s:.1f} s, {len(rss['after warm-up'][name])} process(es)")
        for when, by_server in rss.items():
            procs = by_server[name]
            each = ", ".join(f"{p['rss_mib']:.0f} ({p['name']}, pid {p['pid']})" for p in procs)
            print(f"    {when:14} total {sum(p['rss_mib'] for p in procs):6.0f}: {each}")


if __name__ == "__main__":
    sys.exit(main())

"""Issue 11 under load, against a real `bentoml serve` of the trained default project on 127.0.0.1: a 60 s soak at
concurrency 64 with valid requests, then the generated serving benchmark (benchmarks/serving.py) run briefly end to
end. Both drive the server with wrk (installed by the template's `make setup`; without it they fail, saying so)."""

import importlib.util
import json
import shutil
import sys

import pytest

from .conftest import Server, run

pytestmark = pytest.mark.e2e

SOAK_S, CONCURRENCY = 60, 64
# Measured on the 2-core machine (2026-11-26, after a 5 s warm-up, three 60 s soaks in a row against one server, about
# 2800-4800 requests each): the worker grew 14.5 MiB in the first minute, 1.3 MiB in the second, 0 in the third; the
# arbiter did not grow. The bound is over 4x that first minute (the growth levels off, as the later minutes show),
# while a leak of 16 KiB per request would cross it within the soak's ~4000 requests. A clean-clone CI run on
# 2026-12-07 served 31,371 requests in the minute (523/s) and the worker grew 65.7 MiB (2.1 KiB per request): the bound
# therefore grows with the requests served, by 4 KiB each, so a 16 KiB-per-request leak still crosses it at any rate.
RSS_GROWTH_MIB, LEAK_KIB_PER_REQUEST = 64, 4


def bench(project):
    """The baked project's benchmarks/serving.py as a module: its wrk driver and /proc reader, so the soak measures
    the way the benchmark does."""
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: `make setup` installs it (as root, with apt-get), or `apt-get install wrk`")
    spec = importlib.util.spec_from_file_location("project_serving_benchmark", project / "benchmarks" / "serving.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_minute_at_concurrency_64_drops_nothing_and_rss_stays_bounded(trained_project, tmp_path):
    project, home, _ = trained_project
    serving = bench(project)
    example = (project / "examples" / "request.json").read_bytes()
    server = Server(project, home)
    try:
        server.wait_ready()
        url = f"{server.url}/predict"
        warm = serving.wrk(url, example, CONCURRENCY, 5, tmp_path)  # lazy imports, thread pools, allocator arenas
        before = serving.process_tree(server.proc.pid)
        soak = serving.wrk(url, example, CONCURRENCY, SOAK_S, tmp_path)
        after = serving.process_tree(server.proc.pid)
    finally:
        server.stop()
    assert warm["status"].keys() == {"200"}, warm
    assert soak["status"] == {"200": soak["requests"]}, soak  # every answer a 200: no 5xx, no 429, no 4xx
    assert soak["socket_errors"] == 0, soak  # no refused, reset or timed-out connection
    assert soak["requests"] >= SOAK_S * 10, soak  # it was under load all along (about 80/s measured)
    assert [p["pid"] for p in after] == [p["pid"] for p in before] and len(before) >= 2  # arbiter + worker, none died
    growth = sum(p["rss_mib"] for p in after) - sum(p["rss_mib"] for p in before)
    print(f"soak: {soak['requests']} requests, p99 {soak['p99_ms']:.0f} ms, RSS {before} -> {after}")  # pytest -rP
    assert growth < max(RSS_GROWTH_MIB, soak["requests"] * LEAK_KIB_PER_REQUEST / 1024), (
        soak["requests"],
        before,
        after,
    )


def test_the_serving_benchmark_compares_the_bento_with_the_fastapi_baseline(trained_project, tmp_path):
    """A short run of `benchmarks/serving.py` (1 s, one round, c=8, batch 1): both servers start, answer without
    errors, and a ratio line is printed for each Bento endpoint (/predict, and /classify with adaptive batching);
    the JSON holds both servers' figures."""
    project, home, _ = trained_project
    bench(project)  # fails with the reason when wrk is missing
    out = tmp_path / "serving.json"
    args = ["--duration", "1", "--rounds", "1", "--concurrency", "8", "--batch", "1", "--json", str(out)]
    done = run([sys.executable, "benchmarks/serving.py", *args], project, timeout=300, BENTOML_HOME=str(home))
    assert done.returncode == 0, done.stdout + done.stderr
    for endpoint in ("predict", "classify"):
        assert f"ratio bento /{endpoint} / baseline: " in done.stdout, done.stdout
    figures = json.loads(out.read_text())
    (cell,) = figures["cells"]
    for name in ("baseline", "bento /predict", "bento /classify"):
        assert cell["servers"][name]["rps"] > 0 and cell["servers"][name]["non2xx"] == 0, cell
        assert cell["servers"][name]["socket_errors"] == 0 and cell["servers"][name]["cpu_ms_per_request"] > 0, cell
    assert cell["floor_ms"] > 0
    assert set(figures["cold_start_s"]) == {"baseline", "bento"} and min(figures["cold_start_s"].values()) > 0
    assert len(figures["rss"]["after the load"]["baseline"]) == 1  # uvicorn, one worker: one process
    assert len(figures["rss"]["after the load"]["bento"]) >= 2  # the arbiter and its worker(s)

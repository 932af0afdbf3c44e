"""Time the quick start on this machine: bake, `python flow.py run` (per step), `bentoml serve` until ready, first
prediction. Figures are printed with ratios against baselines measured in the same run: an empty two-step Metaflow flow
(Metaflow's own floor) and the issue's targets (flow < 60 s, bake → served prediction < 120 s). Installs excluded.

    make bench            # or: python benchmarks/quickstart.py [--rows 5000]
"""

import argparse
import json
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import Server, bake, run  # noqa: E402

EMPTY_FLOW = """from metaflow import FlowSpec, step
class EmptyFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)
    @step
    def end(self):
        pass
if __name__ == "__main__":
    EmptyFlow()
"""
LINE = re.compile(r"^(\S+ \S+) \[\d+/(\w+)/\d+ \(pid \d+\)\] Task (is starting|finished successfully)")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def step_seconds(log: str) -> dict[str, float]:
    starts, spans = {}, {}
    for match in map(LINE.match, log.splitlines()):
        if match:
            stamp = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S.%f")
            if match[3] == "is starting":
                starts[match[2]] = stamp
            else:
                spans[match[2]] = (stamp - starts[match[2]]).total_seconds()
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="demo data size (the default project uses 5000)")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-"))
    home = out / "bentoml"

    (out / "empty_flow.py").write_text(EMPTY_FLOW)
    t_empty, done = timed(lambda: run([sys.executable, "empty_flow.py", "--no-pylint", "run"], out))
    assert done.returncode == 0, done.stderr

    t_bake, project = timed(lambda: bake(out))
    module = project.name.replace("-", "_")
    if args.rows != 5000:
        run([sys.executable, f"src/{module}/demo_data.py", "--rows", str(args.rows)], project)
    flow = [sys.executable, "flow.py", "--no-pylint", "run"]
    t_flow, done = timed(lambda: run(flow, project, BENTOML_HOME=str(home)))
    assert done.returncode == 0, done.stdout + done.stderr
    steps = step_seconds(done.stdout + done.stderr)

    example = json.loads((project / "examples" / "request.json").read_text())
    server = Server(project, home)
    try:
        t_ready = server.wait_ready()
        t_first, response = timed(lambda: requests.post(f"{server.url}/predict", json=example, timeout=30))
        assert response.status_code == 200, response.text
        warm = sorted(timed(lambda: requests.post(f"{server.url}/predict", json=example))[0] for _ in range(20))
    finally:
        server.stop()

    total = t_bake + t_flow + t_ready + t_first
    print(f"quick start on {args.rows} demo rows (seconds; installs excluded)")
    print(f"  bake                      {t_bake:7.2f}")
    print(f"  python flow.py run        {t_flow:7.2f}   = {t_flow / t_empty:4.1f}x an empty 2-step flow", end="")
    print(f" ({t_empty:.2f} s); {t_flow / 60:.2f}x the 60 s target")
    for name, seconds in steps.items():
        print(f"    {name:<22}  {seconds:7.2f}   ({seconds / t_flow:5.1%})")
    print(f"  bentoml serve until ready {t_ready:7.2f}")
    print(f"  first prediction          {t_first:7.3f}   (warm median {warm[len(warm) // 2] * 1000:.1f} ms)")
    print(f"  bake -> served prediction {total:7.2f}   = {total / 120:.2f}x the 120 s target")


if __name__ == "__main__":
    main()

"""Time the quick start on this machine: bake, `python flow.py run` (per step), `bentoml serve` until ready, first
prediction, then `reproduce` of a snapshot. Figures are printed with ratios against baselines measured in the same run:
an empty two-step Metaflow flow (Metaflow's own floor), the targets (flow < 60 s, bake → served prediction < 120 s),
and, with --baseline-ref (repeatable, oldest first), the same flow baked from earlier template revisions, each
compared with the next: e.g. before lineage → with lineage → this one isolates what each feature costs.

    make bench BASELINE="REV1 REV2"   # or: python benchmarks/quickstart.py [--rows 5000] [--baseline-ref REV ...]
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import TEMPLATE, Server, bake, run  # noqa: E402

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


def flow_seconds(project: Path, home: Path, *args: str) -> tuple[float, str]:
    done = None

    def go():
        nonlocal done
        done = run([sys.executable, "flow.py", "--no-pylint", "run", *args], project, BENTOML_HOME=str(home))

    seconds, _ = timed(go)
    assert done.returncode == 0, done.stdout + done.stderr
    return seconds, done.stdout + done.stderr


def resize_data(project: Path, rows: int) -> None:
    """Regenerate the demo data and pin it (dvc add + commit), as a user would."""
    module = project.name.replace("-", "_")
    data = f"data/{module}.csv"
    run([sys.executable, f"src/{module}/pipeline/demo_data.py", "--rows", str(rows), "--out", data], project)
    if (project / f"{data}.dvc").exists():
        run([sys.executable, "-m", "dvc", "add", "-q", data], project)
        changed = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
        if changed:  # the same size as shipped changes nothing
            subprocess.run(["git", "commit", "-qam", f"{rows} demo rows"], cwd=project, check=True)


def baseline_flow(ref: str, out: Path, rows: int) -> float:
    """Seconds of the default flow baked from template revision `ref` (a git worktree of this repo)."""
    tree = out / f"template-{ref}"
    subprocess.run(["git", "-C", str(TEMPLATE), "worktree", "add", "-q", "--detach", str(tree), ref], check=True)
    try:
        from cookiecutter.main import cookiecutter

        project = Path(cookiecutter(str(tree), no_input=True, output_dir=str(out / "baseline")))
        resize_data(project, rows)
        return flow_seconds(project, out / "baseline-bentoml")[0]
    finally:
        subprocess.run(["git", "-C", str(TEMPLATE), "worktree", "remove", "--force", str(tree)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="demo data size (the default project uses 5000)")
    parser.add_argument(
        "--baseline-ref", action="append", default=[], help="template revision to time the same flow at (repeatable)"
    )
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-"))
    home = out / "bentoml"

    (out / "empty_flow.py").write_text(EMPTY_FLOW)
    t_empty, done = timed(lambda: run([sys.executable, "empty_flow.py", "--no-pylint", "run"], out))
    assert done.returncode == 0, done.stderr

    t_bake, project = timed(lambda: bake(out))
    if args.rows != 5000:
        resize_data(project, args.rows)
    t_flow, output = flow_seconds(project, home)
    steps = step_seconds(output)

    example = json.loads((project / "examples" / "request.json").read_text())
    server = Server(project, home)
    try:
        t_ready = server.wait_ready()
        t_first, response = timed(lambda: requests.post(f"{server.url}/predict", json=example, timeout=30))
        assert response.status_code == 200, response.text
        warm = sorted(timed(lambda: requests.post(f"{server.url}/predict", json=example))[0] for _ in range(20))
    finally:
        server.stop()

    module = project.name.replace("-", "_")
    cli = [sys.executable, "-m", f"{module}.cli"]
    assert run([*cli, "snapshot", "bench"], project, PYTHONPATH="src").returncode == 0
    t_reproduce, done = timed(lambda: run([*cli, "reproduce", "bench"], project, PYTHONPATH="src"))
    assert done.returncode == 0, done.stdout + done.stderr
    baselines = {ref: baseline_flow(ref, out / f"at-{i}", args.rows) for i, ref in enumerate(args.baseline_ref)}

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
    ratio = t_reproduce / t_flow
    print(f"  reproduce a snapshot      {t_reproduce:7.2f}   = {ratio:.2f}x a flow run (clone, dvc pull, re-run)")
    if baselines:
        previous = None
        for label, seconds in [*baselines.items(), ("this revision", t_flow)]:
            versus = f"   = {seconds / previous:.2f}x the line above ({seconds - previous:+.1f} s)" if previous else ""
            print(f"  flow at {label:<17} {seconds:7.2f}{versus}")
            previous = seconds


if __name__ == "__main__":
    main()

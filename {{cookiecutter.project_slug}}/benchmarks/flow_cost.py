"""What the workflow costs: `python flow.py run` against benchmarks/plain_run.py (the same steps' functions in one
process), side by side, A B A B, at several demo data sizes.

    python benchmarks/flow_cost.py                        # 10k, 100k and 1M rows, 2 rounds each (tens of minutes)
    python benchmarks/flow_cost.py --rows 5000 --rounds 3

Each size runs in a throwaway copy of this project (its own git, DVC, MLflow, Metaflow and BentoML stores) with demo
data of that many rows, pinned with DVC as a user would. Printed per size: the median wall seconds of each and their
ratio; seconds per step (the flow's from Metaflow's task timestamps, so process start-up shows in them, the script's
from its own clock); the peak RSS of each one's whole process tree (sampled every 50 ms) above the import floor (the
same measure at --floor-rows rows), and of each flow step's process; the datastore growth per flow run; and the data's
size on disk and in memory.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = "{{ cookiecutter.module_name }}"
STEPS = ["start", "train", "evaluate", "package", "end"]  # flow.py's, in order
RUN_STATE = {".metaflow", "mlartifacts", "mlflow.db", "monitoring", ".venv"}  # at the project root only: the package
# has a monitoring/ room of its own


def leave_out(directory: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: this project's stores and environment, and every __pycache__."""
    return {n for n in names if n == "__pycache__" or (Path(directory) == ROOT and n in RUN_STATE)}


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return children


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) * 1024
    except (OSError, StopIteration):
        return 0


def _step_of(pid: int) -> str | None:
    """The step a Metaflow task process runs (`flow.py ... step <name> ...`), else None."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    return args[args.index("step") + 1] if "step" in args[:-1] else None


def tree_rss(pid: int) -> tuple[int, dict[str, int]]:
    """Bytes resident in `pid` and all its descendants now (Linux /proc), and per Metaflow step: its task process and
    that process's own children (the card processes)."""
    children = _children()
    rss = {p: _rss(p) for p in _descendants(pid, children)}
    steps: dict[str, int] = {}
    for p in rss:
        if step := _step_of(p):
            steps[step] = steps.get(step, 0) + sum(rss.get(q, 0) for q in _descendants(p, children))
    return sum(rss.values()), steps


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, int, dict[str, int], str]:
    """(wall seconds, peak tree RSS bytes, peak RSS bytes per flow step, output) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, by_step, done = [0], {}, threading.Event()

    def sample():
        while not done.is_set():
            total, steps = tree_rss(proc.pid)
            peak[0] = max(peak[0], total)
            for step, rss in steps.items():
                by_step[step] = max(by_step.get(step, 0), rss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output[-3000:]}")
    return seconds, peak[0], by_step, output


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def prepare(rows: int, workdir: Path, env: dict) -> Path:
    """A copy of this project with `rows` demo rows, pinned with DVC and committed, in a directory of its own under
    `workdir` (the import floor may be measured at one of the sizes too)."""
    project = Path(tempfile.mkdtemp(prefix=f"rows-{rows}-", dir=workdir)) / "project"
    shutil.copytree(ROOT, project, ignore=leave_out, symlinks=True)
    data = f"data/{MODULE}.csv"
    for cmd in (
        [sys.executable, f"src/{MODULE}/pipeline/demo_data.py", "--rows", str(rows), "--out", data],
        [sys.executable, "-m", "dvc", "add", "-q", data],
        ["git", "commit", "-qam", f"benchmark: {rows} demo rows", "--allow-empty"],
    ):
        subprocess.run(cmd, cwd=project, env=env, check=True, capture_output=True)
    return project


def flow_steps(project: Path, env: dict) -> dict[str, float]:
    """Seconds per step of the project's latest TrainingFlow run, from Metaflow's task timestamps."""
    code = (
        "import json; from metaflow import Flow, namespace; namespace(None); run = Flow('TrainingFlow').latest_run\n"
        "print(json.dumps({s.id: sum((t.finished_at - t.created_at).total_seconds() for t in s) for s in run}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rows: int, rounds: int, workdir: Path) -> dict:
    env = os.environ | {"PYTHONPATH": "src"}
    env.pop("MLFLOW_TRACKING_URI", None)
    project = prepare(rows, workdir, env)
    env["BENTOML_HOME"] = str(project.parent / "bentoml")
    import pandas as pd

    table = pd.read_csv(project / "data" / f"{MODULE}.csv")
    result = {"rows": rows, "data_mb": (project / "data" / f"{MODULE}.csv").stat().st_size / 1e6}
    result["table_mb"] = table.memory_usage(deep=True).sum() / 1e6
    del table
    runs = {"flow": [], "script": []}
    commands = {
        "flow": [sys.executable, "flow.py", "--no-pylint", "run"],
        "script": [sys.executable, "benchmarks/plain_run.py"],
    }
    for _ in range(rounds):
        for name in ("flow", "script"):  # A B A B
            before = du(project / ".metaflow")
            seconds, peak, by_step, output = timed(commands[name], project, env)
            if name == "flow":
                steps, growth = flow_steps(project, env), du(project / ".metaflow") - before
            else:
                steps = json.loads(output.split("plain steps:", 1)[1].splitlines()[0])
                growth = 0
            runs[name].append(
                {"seconds": seconds, "peak_rss": peak, "step_rss": by_step, "steps": steps, "growth": growth}
            )
            print(f"  {rows} rows, {name}: {seconds:.1f} s, peak RSS {peak / 1e6:.0f} MB", flush=True)
    for name, items in runs.items():
        result[name] = {
            "seconds": statistics.median(r["seconds"] for r in items),
            "peak_rss_mb": max(r["peak_rss"] for r in items) / 1e6,
            "steps": {k: statistics.median(r["steps"].get(k, 0) for r in items) for k in items[0]["steps"]},
            "datastore_growth_mb": statistics.median(r["growth"] for r in items) / 1e6,
            "step_peak_rss_mb": {k: max(r["step_rss"].get(k, 0) for r in items) / 1e6 for k in items[0]["step_rss"]},
        }
    result["ratio"] = result["flow"]["seconds"] / result["script"]["seconds"]
    return result


def show(results: list[dict], floor: dict | None) -> None:
    floors = {name: floor[name]["peak_rss_mb"] for name in ("flow", "script")} if floor else {"flow": 0, "script": 0}
    print(
        "\nrows       flow s  script s  ratio  | peak RSS above floor MB (flow, script) | table MB  data MB  "
        "datastore MB/run"
    )
    for r in results:
        above = [r[n]["peak_rss_mb"] - floors[n] for n in ("flow", "script")]
        print(
            f"{r['rows']:<9}  {r['flow']['seconds']:6.1f}  {r['script']['seconds']:8.1f}  {r['ratio']:5.2f}x | "
            f"{above[0]:8.0f} {above[1]:8.0f} ({above[0] / r['table_mb']:.1f}x, {above[1] / r['table_mb']:.1f}x table)"
            f"           | {r['table_mb']:8.1f} {r['data_mb']:8.1f}  {r['flow']['datastore_growth_mb']:8.1f} "
            f"({r['flow']['datastore_growth_mb'] / r['data_mb']:.1f}x data)"
        )
    print("\nseconds per step (flow / script):")
    for r in results:
        flow, script = r["flow"]["steps"], r["script"]["steps"]
        cells = [f"{k} {flow.get(k, 0):.1f}/{script.get(k, 0):.1f}" for k in STEPS]
        print(f"  {r['rows']}: " + ", ".join(cells))
    print("\npeak RSS of each step's process (and the card processes it starts), MB:")
    for r in [floor, *results] if floor else results:
        cells = [f"{k} {r['flow']['step_peak_rss_mb'].get(k, 0):.0f}" for k in STEPS]
        print(f"  {r['rows']}: " + ", ".join(cells))
    if floor:
        print(f"\nimport floor ({floor['rows']} rows): flow {floors['flow']:.0f} MB, script {floors['script']:.0f} MB")
    print(
        "goals: flow <= 1.3x the script on the default data, <= 1.1x at 1M rows; time linear in rows; peak RSS above "
        "the floor <= 3x the table; datastore growth <= 2x the data per run"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--floor-rows", type=int, default=5000, help="the default data size; 0: no import floor")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flow-cost-") as tmp:
        floor = measure(args.floor_rows, 1, Path(tmp)) if args.floor_rows else None
        results = [measure(rows, args.rounds, Path(tmp)) for rows in args.rows]
    show(results, floor)
    if args.json:
        args.json.write_text(json.dumps({"floor": floor, "results": results}, indent=1))


if __name__ == "__main__":
    main()

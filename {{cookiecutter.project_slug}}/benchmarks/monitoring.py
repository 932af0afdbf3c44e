"""Time the monitor on a large batch: the issue's target is 100,000 rows judged in under 60 s on a 2-core machine.

    python benchmarks/monitoring.py [--rows 100000] [--shift]

Writes ROWS demo rows (demo_data.py, seed 11; shifted with --shift) to a temporary CSV, then times
`python monitor_flow.py run --batch CSV --report-only true` end to end (every Metaflow step, the model scoring the
batch and its training split, Evidently, the reports and the MLflow run). Needs a trained champion (`make run`).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from {{ cookiecutter.module_name }}.config import load  # noqa: E402
from {{ cookiecutter.module_name }}.pipeline.demo_data import generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--shift", action="store_true")
    args = parser.parse_args()
    cfg = load(ROOT / "params.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        path, groups = Path(tmp) / "batch.csv", cfg.data.sensitive_features
        batch = generate(path, args.rows, cfg.data.target, groups, seed=11, shift=args.shift)
        cmd = [sys.executable, "monitor_flow.py", "--no-pylint", "run", "--batch", str(batch), "--report-only", "true"]
        start = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        seconds = time.monotonic() - start
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], file=sys.stderr)
        return done.returncode
    verdict = next((line for line in done.stdout.splitlines()[::-1] if "verdict:" in line), "")
    print(f"monitor_flow.py on a {args.rows}-row batch: {seconds:.1f} s ({verdict.split('] ')[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

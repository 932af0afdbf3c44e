"""The drift demo's traffic: demo rows (shifted with --shift, see demo_data.py) sent through the served model, so the
prediction log holds what the monitor then judges.

    python -m {{ cookiecutter.module_name }}.monitoring.demo --rows 2000 --shift [--port 3000]

Sends to the service on 127.0.0.1:PORT when one answers there; otherwise starts `bentoml serve` on the registry's
champion (from the project root, so the log lands in monitoring/predictions/) and stops it, by its PID, afterwards.
Standard library and the project's own modules only: the requests go out with urllib.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..config import PROJECT_ROOT, load
from ..pipeline.demo_data import generate
from .window import log_files


def batch_records(rows: int, shift: bool, seed: int) -> list[dict]:
    """Demo rows as request records: the trained model's inputs (as the training flow derives them from params.yaml),
    numbers as numbers, blanks as null."""
    from ..pipeline.data import infer_columns, model_inputs, read_table, request_example

    cfg = load(PROJECT_ROOT / "params.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        where, sensitive = Path(tmp) / "batch.csv", {{ "cfg.data.sensitive_features" if cookiecutter.__fairness else "[]" }}
{%- if cookiecutter.task == "text_classification" %}
        path = generate(where, rows, cfg.data.target, sensitive, seed, text=cfg.data.text_column, shift=shift)
{%- else %}
        path = generate(where, rows, cfg.data.target, sensitive, seed, shift=shift)
{%- endif %}
        table = read_table(path)
    columns = infer_columns(table, cfg.data)
    return request_example(table, columns, model_inputs(columns, cfg), rows=rows)["records"]


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def send(url: str, batch: list[dict], size: int = 100) -> int:
    """POST the records to /predict, `size` per request; return how many were answered."""
    answered = 0
    for start in range(0, len(batch), size):
        body = json.dumps({"records": batch[start : start + size]}).encode()
        request = urllib.request.Request(f"{url}/predict", body, {"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            answered += len(json.loads(answer.read())["predictions"])
    return answered


def logged_rows(log_dir: Path) -> int:
    return sum(len(path.read_text().splitlines()) for path in log_files(log_dir))


def wait_logged(log_dir: Path, expected: int, timeout: float = 60) -> int:
    """The log's row count once it reaches `expected` (its writer runs behind the answers), or after `timeout`."""
    deadline = time.monotonic() + timeout
    while (rows := logged_rows(log_dir)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return rows


def serve(port: int, log) -> subprocess.Popen:
    """`bentoml serve` of the champion on 127.0.0.1:port, from the project root."""
    from ..release.promotion import serving_tag

    tag, _ = serving_tag(load(PROJECT_ROOT / "params.yaml").packaging.model_name, "champion")
    bentoml = Path(sys.executable).with_name("bentoml")
    cmd = [str(bentoml) if bentoml.exists() else "bentoml", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen([*cmd, "--arg", f"model_tag={tag}"], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--shift", action="store_true", help="shift the rows as demo_data.py --shift documents")
    parser.add_argument("--seed", type=int, default=7, help="not the training data's seed (42): new applicants")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    batch = batch_records(args.rows, args.shift, args.seed)
    log_dir = PROJECT_ROOT / load(PROJECT_ROOT / "params.yaml").monitoring.log_dir
    url, server = f"http://127.0.0.1:{args.port}", None
    try:
        if not ready(url):
            (PROJECT_ROOT / "monitoring").mkdir(exist_ok=True)
            log = (PROJECT_ROOT / "monitoring" / "demo-serve.log").open("w")
            server = serve(args.port, log)
            deadline = time.monotonic() + 120
            while not ready(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    print(f"bentoml serve did not start: see {log.name}", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        before = logged_rows(log_dir)
        answered = send(url, batch)
        if wait_logged(log_dir, before + answered) < before + answered:
            print(f"warning: the prediction log under {log_dir} has not caught up yet", file=sys.stderr)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    kind = "shifted (demo_data.py --shift)" if args.shift else "unshifted"
    print(f"{answered} {kind} demo records answered by {url} and logged under {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""training.nodes on one machine: the generated project's own `training.fit` as ranks of a data-parallel training
(`distributed.rendezvous`, as `train_node` calls it), one process per rank on 127.0.0.1: one rank alone, then two.
On the GPU the ranks talk over nccl; on the CPU over gloo. Prints each rank's result (weights hash, precision, nodes)
or the last error lines it died with.

    python benchmarks/ddp.py --project DIR [--device gpu|cpu]   # DIR: a baked tabular project (its src/ is used)
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

Parallel = namedtuple("Parallel", "main_ip num_nodes node_index")  # what train_node reads from current.parallel


def rank_main(module: str, rank: int, nodes: int, port: int, device: str) -> None:
    import importlib

    import numpy as np
    import torch

    config, distributed, training = (
        importlib.import_module(f"{module}.{m}") for m in ("config", "pipeline.distributed", "pipeline.training")
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 8)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))
    cfg = config.TrainingConfig(max_epochs=3, batch_size=128, accelerator=device)
    group = distributed.rendezvous(Parallel("127.0.0.1", nodes, rank), "1", port)
    start = time.time()
    info = training.fit(net, (x[:3200], y[:3200]), (x[3200:], y[3200:]), cfg, 42, group)
    sha = hashlib.sha256(training.weights_to_bytes(net)).hexdigest()
    keys = ("accelerator", "precision", "nodes", "best_epoch", "best_value", "epochs_run")
    facts = {"rank": rank, "sha": sha[:16], "s": round(time.time() - start, 1)} | {k: info.get(k) for k in keys}
    print("RESULT " + json.dumps(facts), flush=True)


def run_group(project: Path, module: str, nodes: int, port: int, device: str, timeout: int) -> None:
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": f"{project / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    args = [sys.executable, __file__, "--rank-of", module, str(nodes), str(port), device]
    procs = [
        subprocess.Popen([*args, str(r)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for r in range(nodes)
    ]
    print(f"=== {nodes} rank(s) on {device}:")
    for proc in procs:
        try:
            text, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            text = proc.communicate()[0] + "\nkilled after the timeout"
        lines = text.splitlines()
        results = [line for line in lines if line.startswith("RESULT")]
        errors = [line for line in lines if "rror" in line or "killed" in line][-3:]
        print("exit", proc.returncode, *(results or errors))


def main() -> None:
    if sys.argv[1:2] == ["--rank-of"]:
        module, nodes, port, device, rank = sys.argv[2:]
        return rank_main(module, int(rank), int(nodes), int(port), device)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--device", choices=["gpu", "cpu"], default="gpu")
    args = parser.parse_args()
    (module,) = [p.parents[1].name for p in (args.project / "src").glob("*/pipeline/distributed.py")]
    import torch

    nccl = torch.cuda.nccl.version() if torch.cuda.is_available() else None
    print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "nccl", nccl)
    run_group(args.project, module, 1, 29501, args.device, 150)
    run_group(args.project, module, 2, 29502, args.device, 90)


if __name__ == "__main__":
    main()

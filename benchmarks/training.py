"""Training throughput of the generated project's own `training.fit` (Lightning) against a plain PyTorch loop over the
same network, batches, optimizer, precision and epochs; on the CPU, and on the GPU when there is one.

Both sides build the network with the project's `task.build_network` and batch with its `training._loader`, so the
ratio is what Lightning and the project's callbacks cost per step (target: Lightning >= 0.9x the plain loop). Each
figure is the best of `--repeats` interleaved runs after one warm-up of each, in one process per task and device.

    python benchmarks/training.py [--rows 50000] [--epochs 3] [--tasks tabular text] [--batch-size 512]
    python benchmarks/training.py --project DIR ...   # an already baked project (a machine without cookiecutter)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULES = {"tabular": "credit_approval", "text": "review_sentiment"}


def measure(
    module: str, device: str, rows: int, epochs: int, repeats: int, tiny: str | None, batch_size: int | None
) -> dict:
    """In the project's directory, with its src/ importable: samples/s of each side."""
    import importlib
    from contextlib import redirect_stdout

    import pandas as pd
    import torch

    def load(name):
        return importlib.import_module(f"{module}.{name}")

    config, data, demo, training = (
        load("config"),
        load("pipeline.data"),
        load("pipeline.demo_data"),
        load("pipeline.training"),
    )
    task = load("pipeline.tasks").task
    cfg = config.load("params.yaml")
    if tiny:
        cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"name_or_path": tiny})})
    path = Path(tempfile.mkdtemp()) / "bench.csv"
    demo.generate(path, rows=rows, target=cfg.data.target, sensitive=cfg.data.sensitive_features, seed=7)
    frame = pd.read_csv(path)
    encoder = task.fit_encoder(frame, data.validate_table(frame, cfg.data), cfg)
    x, y = encoder.transform(frame), encoder.encode_target(frame[cfg.data.target])
    accelerator = "gpu" if device == "cuda" else "cpu"
    train_cfg = cfg.training.model_copy(update={"max_epochs": epochs, "patience": 0, "accelerator": accelerator})
    if batch_size:
        train_cfg = train_cfg.model_copy(update={"batch_size": batch_size})
    _, precision = training.resolve_device(train_cfg)
    if getattr(train_cfg, "threads", None):  # the plain loop runs with the CPU threads that fit() will set
        torch.set_num_threads(train_cfg.threads)
    no_validation = (tuple(a[:0] for a in x) if isinstance(x, tuple) else x[:0], y[:0])
    samples = len(y) * epochs

    def plain() -> float:
        training.seed_everything(cfg.seed)
        network = task.build_network(encoder, cfg.model).to(device)
        trainable = [p for p in network.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=train_cfg.learning_rate, weight_decay=train_cfg.weight_decay)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
        start = time.perf_counter()
        network.train()
        for _ in range(epochs):
            loader = training._loader(x, y, train_cfg.batch_size, True, cfg.seed, device == "cuda")
            for *inputs, labels in loader:
                inputs = [a.to(device, non_blocking=True) for a in inputs]
                with autocast:
                    loss = torch.nn.functional.cross_entropy(network(*inputs), labels.to(device, non_blocking=True))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        return samples / (time.perf_counter() - start)

    def lightning() -> float:
        training.seed_everything(cfg.seed)
        network = task.build_network(encoder, cfg.model)
        start = time.perf_counter()
        with open(os.devnull, "w") as quiet, redirect_stdout(quiet):  # the per-epoch lines
            training.fit(network, (x, y), no_validation, train_cfg, cfg.seed)
        return samples / (time.perf_counter() - start)

    plain(), lightning()  # warm-up: CUDA context, kernels, allocator, first imports
    runs = [(plain(), lightning()) for _ in range(repeats)]
    return {
        "device": device,
        "precision": precision,
        "rows": rows,
        "epochs": epochs,
        "batch_size": train_cfg.batch_size,
        "threads": torch.get_num_threads(),
        "plain": max(r[0] for r in runs),
        "lightning": max(r[1] for r in runs),
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
    }


def bake_projects(tasks: list[str], out: Path) -> dict[str, Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import bake

    names = {"tabular": "Credit Approval", "text": "Review Sentiment"}
    kinds = {"tabular": "tabular_classification", "text": "text_classification"}
    return {t: bake(out, task=kinds[t], project_name=names[t], compute="gpu") for t in tasks}


def tiny_model(project: Path, module: str, hidden: int, layers: int) -> str:
    """A local BERT built from the project's demo texts (no hub download), once per project and size."""
    tiny = project / "models" / f"bert-h{hidden}-l{layers}"
    if not tiny.exists():
        build = f"{module}.pipeline.tiny_model import build; import pandas as pd; from pathlib import Path; "
        texts = f"pd.read_csv('data/{module}.csv')['text'].tolist()"
        code = f"from {build}build({texts}, Path('{tiny}'), hidden_size={hidden}, layers={layers})"
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=project,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(["src", *os.environ.get("PYTHONPATH", "").split(os.pathsep)]),
            },
            check=True,
        )
    return str(tiny)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="tabular rows (text: a tenth of them)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tasks", nargs="+", default=["tabular", "text"], choices=list(MODULES))
    parser.add_argument("--batch-size", type=int, help="both sides' batch size (default: params.yaml's)")
    parser.add_argument("--hidden", type=int, default=32, help="text: hidden size of the local BERT")
    parser.add_argument("--layers", type=int, default=2, help="text: its number of layers")
    parser.add_argument("--project", type=Path, action="append", help="baked project(s) to use instead of baking")
    parser.add_argument("--worker", nargs=4, metavar=("MODULE", "DEVICE", "ROWS", "TINY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        module, device, rows, tiny = args.worker
        tiny = tiny if tiny != "-" else None
        result = measure(module, device, int(rows), args.epochs, args.repeats, tiny, args.batch_size)
        print(json.dumps(result))
        return

    import torch

    if args.project:
        projects = {next(t for t, m in MODULES.items() if (p / "src" / m).is_dir()): p.resolve() for p in args.project}
    else:
        projects = bake_projects(args.tasks, Path(tempfile.mkdtemp(prefix="bench-training-")))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("training throughput, samples/s (best of the interleaved runs): the project's training.fit vs a plain loop")
    for task_name in [t for t in args.tasks if t in projects]:
        project, module = projects[task_name], MODULES[task_name]
        tiny = tiny_model(project, module, args.hidden, args.layers) if task_name == "text" else "-"
        rows = args.rows if task_name == "tabular" else max(args.rows // 10, 500)
        results = {}
        for device in devices:
            done = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--worker",
                    module,
                    device,
                    str(rows),
                    tiny,
                    "--epochs",
                    str(args.epochs),
                    "--repeats",
                    str(args.repeats),
                    *(["--batch-size", str(args.batch_size)] if args.batch_size else []),
                ],
                cwd=project,
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(["src", *os.environ.get("PYTHONPATH", "").split(os.pathsep)]),
                },
                capture_output=True,
                text=True,
            )
            if done.returncode:
                sys.exit(f"{task_name} on {device} failed:\n{done.stderr[-4000:]}")
            results[device] = r = json.loads(done.stdout.strip().splitlines()[-1])
            where = r["gpu"] or f"CPU, {r['threads']} threads"
            print(
                f"  {task_name:8} {device:5} {r['rows']:>8} rows x {r['epochs']} epochs, batch {r['batch_size']}, "
                f"{r['precision']} ({where}): plain {r['plain']:9.0f}  Lightning {r['lightning']:9.0f}  "
                f"= {r['lightning'] / r['plain']:.2f}x the plain loop"
            )
        if "cuda" in results:
            speedup = results["cuda"]["lightning"] / results["cpu"]["lightning"]
            print(f"  {task_name:8} GPU / CPU, the project's fit: {speedup:.1f}x")


if __name__ == "__main__":
    main()

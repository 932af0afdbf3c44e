"""Text task figures on this machine, with ratios against baselines measured in the same run:

- `python flow.py run` on the default text demo data with a tiny local BERT (vs the 180 s target);
- training throughput of the shared LightningModule vs a plain PyTorch loop on the same model, batch and steps
  (target >= 0.9x); samples/s on GPU vs CPU when a GPU is present;
- dynamic padding (each batch as wide as its longest text, the project's DataLoader) vs every text padded to
  `model.max_length` (the old tokenization), same model and steps;
- serving latency for a batch of 32 texts vs one text (per-text cost of batching).

    python benchmarks/text.py [--rows 3000] [--steps 60]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import Server, bake, run  # noqa: E402

MODULE = "review_sentiment"


def throughput(project: Path, tiny: Path, steps: int, device: str) -> dict:
    """Samples/s: plain PyTorch loop vs Lightning, same tiny model, batch 32, same number of steps (in a subprocess
    of the generated project, so its own code is what is measured)."""
    code = f"""
import json, time, numpy as np, torch, pandas as pd
from torch.utils.data import DataLoader, TensorDataset
import lightning.pytorch as pl
from {MODULE}.config import load
from {MODULE}.pipeline.data import validate_table
from {MODULE}.pipeline.tasks import task
from {MODULE}.pipeline.classifier import Classifier
from {MODULE}.pipeline.training import _loader
cfg = load("params.yaml")
cfg = cfg.model_copy(update={{"model": cfg.model.model_copy(update={{"name_or_path": "{tiny}"}})}})
frame = pd.read_csv(cfg.data.path)
enc = task.fit_encoder(frame, validate_table(frame, cfg.data), cfg)
x, y = enc.transform(frame), enc.encode_target(frame[cfg.data.target])
n = {steps} * 32
x, y = tuple(a[:n] for a in x), y[:n]
dev = "{device}"
def plain():
    torch.manual_seed(0); net = task.build_network(enc, cfg.model).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    start = time.perf_counter()
    for ids, mask, labels in _loader(x, y, 32, True, 0, False):
        ids, mask, labels = ids.to(dev), mask.to(dev), labels.to(dev)
        loss = torch.nn.functional.cross_entropy(net(ids, mask), labels)
        opt.zero_grad(); loss.backward(); opt.step()
    if dev == "cuda": torch.cuda.synchronize()
    return n / (time.perf_counter() - start)
def padded():  # every text at max_length, no per-batch trimming: the tokenization before dynamic padding
    width = cfg.model.max_length - x[0].shape[1]
    ids = np.pad(x[0], ((0, 0), (0, width)), constant_values=enc.tokenizer.pad_token_id)
    mask = np.pad(x[1], ((0, 0), (0, width)))
    data = TensorDataset(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(y))
    return DataLoader(data, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
def lightning(loader=None):
    torch.manual_seed(0); net = task.build_network(enc, cfg.model)
    trainer = pl.Trainer(max_epochs=1, accelerator="gpu" if dev == "cuda" else "cpu", devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    start = time.perf_counter()
    trainer.fit(Classifier(net, 1e-3, 0.0), loader or _loader(x, y, 32, True, 0, dev == "cuda"))
    return n / (time.perf_counter() - start)
plain(); lightning()  # warm-up
result = {{"plain": plain(), "lightning": lightning(), "padded": lightning(padded())}}
print(json.dumps(result | {{"tokens": float(x[1].sum(1).mean()), "max_length": cfg.model.max_length}}))
"""
    done = run([sys.executable, "-c", code], project, PYTHONPATH="src")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--steps", type=int, default=60, help="training steps for the throughput comparison")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-text-"))
    project = bake(out, task="text_classification", project_name="Review Sentiment")
    data = f"data/{MODULE}.csv"
    if args.rows != 3000:
        run([sys.executable, f"src/{MODULE}/pipeline/demo_data.py", "--rows", str(args.rows), "--out", data], project)
    tiny = out / "tiny"
    run(
        [sys.executable, "-m", f"{MODULE}.pipeline.tiny_model", "--data", data, "--out", str(tiny)],
        project,
        PYTHONPATH="src",
    )
    params = (project / "params.yaml").read_text()
    params = params.replace("distilbert/distilbert-base-uncased", str(tiny)).replace("0.00005", "0.003")
    (project / "params.yaml").write_text(params)
    run([sys.executable, "-m", "dvc", "add", "-q", data], project)
    subprocess.run(["git", "commit", "-qam", "bench set-up"], cwd=project, check=True)

    start = time.perf_counter()
    done = run([sys.executable, "flow.py", "--no-pylint", "run"], project, BENTOML_HOME=str(out / "bentoml"))
    t_flow = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    import torch

    cpu = throughput(project, tiny, args.steps, "cpu")
    gpu = throughput(project, tiny, args.steps, "cuda") if torch.cuda.is_available() else None

    texts = json.loads((project / "examples" / "request.json").read_text())["records"]
    one, batch = {"records": texts[:1]}, {"records": (texts * 16)[:32]}
    server = Server(project, out / "bentoml")
    try:
        server.wait_ready()

        def latency(payload):
            times = []
            for _ in range(20):
                start = time.perf_counter()
                assert requests.post(f"{server.url}/predict", json=payload, timeout=30).status_code == 200
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        t_one, t_batch = latency(one), latency(batch)
    finally:
        server.stop()

    threads = torch.get_num_threads()
    print(f"text task, {args.rows} demo rows, tiny local BERT (2 layers, hidden 32), {threads} CPU threads")
    print(f"  python flow.py run              {t_flow:7.1f} s   = {t_flow / 180:.2f}x the 180 s target")
    print(f"  training, plain PyTorch loop    {cpu['plain']:7.0f} samples/s (CPU)")
    ratio = cpu["lightning"] / cpu["plain"]
    print(f"  training, LightningModule {cpu['lightning']:7.0f} samples/s = {ratio:.2f}x the plain loop (>=0.9x)")
    print(
        f"  training, padded to max_length  {cpu['padded']:7.0f} samples/s: dynamic padding is "
        f"{cpu['lightning'] / cpu['padded']:.2f}x that (texts: {cpu['tokens']:.1f} tokens of {cpu['max_length']})"
    )
    if gpu:
        print(
            f"  GPU: plain {gpu['plain']:.0f}, Lightning {gpu['lightning']:.0f} samples/s = "
            f"{gpu['lightning'] / cpu['lightning']:.1f}x CPU; Lightning/plain {gpu['lightning'] / gpu['plain']:.2f}x"
        )
    print(
        f"  serve: batch of 32 texts        {t_batch * 1000:7.1f} ms median = {t_batch / t_one:.2f}x one text "
        f"({t_one * 1000:.1f} ms); {t_batch / 32 * 1000:.2f} ms per text"
    )


if __name__ == "__main__":
    main()

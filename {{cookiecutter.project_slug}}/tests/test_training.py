import re

import numpy as np
import pytest

from {{ cookiecutter.module_name }}.config import ConfigError, TrainingConfig, validate
from {{ cookiecutter.module_name }}.pipeline.evaluation import classification_metrics, predict_proba
from {{ cookiecutter.module_name }}.pipeline.training import fit, load_weights, resolve_device, summary, weights_to_bytes
from {{ cookiecutter.module_name }}.release.packaging import weights_sha256


def _toy(seed=0, n=256):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x, y


def _train(seed):
    import torch

    torch.manual_seed(123)
    network = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x, y = _toy()
    cfg = TrainingConfig(max_epochs=3, batch_size=16, learning_rate=0.05, accelerator="cpu")
    info = fit(network, (x, y), (x[:64], y[:64]), cfg, seed)
    return network, info


def test_cpu_training_is_deterministic_and_learns():
    first, info = _train(seed=5)
    second, _ = _train(seed=5)
    assert weights_to_bytes(first) == weights_to_bytes(second)
    assert info["accelerator"] == "cpu" and len(info["history"]) == 3
    x, y = _toy(seed=1)
    assert classification_metrics(y, predict_proba(first, x))["accuracy"] > 0.8


def test_training_uses_the_configured_number_of_cpu_threads():
    import torch

    before = torch.get_num_threads()
    try:
        network = torch.nn.Sequential(torch.nn.Linear(4, 2))
        x, y = _toy(n=32)
        info = fit(network, (x, y), (x, y), TrainingConfig(max_epochs=1, accelerator="cpu", threads=1), seed=0)
        assert info["threads"] == torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_batches_are_those_of_a_shuffled_dataloader_from_the_same_seed():
    """The loader indexes each batch at once; the order is still the one a plain shuffled DataLoader gives."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from {{ cookiecutter.module_name }}.pipeline.training import _loader

    x, y = _toy(n=300)
    plain = DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(9),
    )
    ours = _loader(x, y, 64, True, 9, False)
    for _ in range(2):  # two epochs: each draws a new order from the same generator
        for (a, b), (c, d) in zip(plain, ours, strict=True):
            assert torch.equal(a, c) and torch.equal(b, d)


def test_fit_steps_exactly_as_a_plain_loop_with_a_per_batch_warm_up():
    """The Classifier steps its optimizer and warm-up schedule itself (Lightning's manual optimization): the weights
    are bit for bit those of a plain loop over the same batches with AdamW and a LambdaLR stepped after every batch.
    One epoch: Lightning draws the next epochs' orders from the loader's generator differently from a bare loop."""
    import torch

    from {{ cookiecutter.module_name }}.pipeline.training import _loader

    x, y = _toy()
    empty = (x[:0], y[:0])
    cfg = TrainingConfig(max_epochs=1, batch_size=16, learning_rate=0.05, accelerator="cpu", warmup_ratio=0.5)

    def network():
        torch.manual_seed(123)
        return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))

    fitted, flat = network(), network()
    fit(fitted, (x, y), empty, cfg, seed=5)
    fit(flat, (x, y), empty, cfg.model_copy(update={"warmup_ratio": 0.0}), seed=5)
    plain = network()
    optimizer = torch.optim.AdamW(plain.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    warmup = int(0.5 * len(y) / 16)  # half of the 16 steps: the rate rises, then stays
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    loader = _loader(x, y, 16, True, 5, False)
    for inputs, labels in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(plain(inputs), labels).backward()
        optimizer.step()
        schedule.step()
    assert weights_to_bytes(fitted) == weights_to_bytes(plain)
    assert weights_to_bytes(fitted) != weights_to_bytes(flat)  # the warm-up did change the training


def test_weights_round_trip():
    import torch

    network, _ = _train(seed=5)
    clone = load_weights(
        torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)), weights_to_bytes(network)
    )
    x, _ = _toy()
    assert np.array_equal(predict_proba(clone, x), predict_proba(network, x))


def test_gpu_request_degrades_to_cpu_without_a_gpu(monkeypatch, caplog):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the CPU fallback, on any machine
    assert resolve_device(TrainingConfig(accelerator="gpu", gpus=1)) == ("cpu", "32-true")
    assert "no GPU found: training on CPU" in caplog.text


@pytest.mark.parametrize("bf16, mixed", [(True, "bf16-mixed"), (False, "16-mixed")])
def test_on_a_gpu_machine_training_uses_mixed_precision_unless_told_otherwise(monkeypatch, bf16, mixed):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU branch, on a machine without one
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    assert resolve_device(TrainingConfig(gpus=1)) == ("gpu", mixed)
    assert resolve_device(TrainingConfig(precision="32-true")) == ("gpu", "32-true")
    assert resolve_device(TrainingConfig(accelerator="cpu", gpus=1)) == ("cpu", "32-true")


def _noisy(seed, n):
    """One informative feature of eight and 25% flipped labels: a wide network overfits 96 rows within a few epochs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, ((x[:, 0] > 0) ^ (rng.random(n) < 0.25)).astype("int64")


def _overfit(validation=None, **settings):
    import torch

    torch.manual_seed(1)
    network = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    settings = {"max_epochs": 40, "batch_size": 16, "learning_rate": 0.01, "accelerator": "cpu"} | settings
    validation = _noisy(1, 200) if validation is None else validation
    return network, fit(network, _noisy(0, 96), validation, TrainingConfig(**settings), seed=3)


def _val_loss(network, validation) -> float:
    import torch

    x, y = (torch.from_numpy(a) for a in validation)
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(network.eval()(x), y))


def test_early_stopping_ships_the_best_epoch_bit_exactly():
    first, info = _overfit(patience=3)
    second, again = _overfit(patience=3)
    assert weights_sha256(weights_to_bytes(first)) == weights_sha256(weights_to_bytes(second))
    assert {k: v for k, v in info.items() if k not in ("seconds", "samples_per_second")} == {
        k: v for k, v in again.items() if k not in ("seconds", "samples_per_second")
    }
    assert info["stopped_early"] and info["epochs_run"] == info["best_epoch"] + 3 < 40  # patience 3, epochs from 1
    history = [epoch["val_loss"] for epoch in info["history"]]
    assert info["monitor"] == "val_loss" and info["best_value"] == min(history) == history[info["best_epoch"] - 1]
    assert history[-1] > info["best_value"]  # the last epoch is worse: its weights are not the ones returned
    assert _val_loss(first, _noisy(1, 200)) == pytest.approx(info["best_value"], abs=1e-6)
    kept = f"kept epoch {info['best_epoch']} of {info['epochs_run']} (val_loss {min(history):.4f}), stopped early"
    assert summary(info) == kept


def test_patience_zero_runs_every_epoch_and_still_keeps_the_best():
    network, info = _overfit(max_epochs=8, patience=0)
    history = [epoch["val_loss"] for epoch in info["history"]]
    assert info["epochs_run"] == 8 and not info["stopped_early"]
    assert info["best_epoch"] < 8 and _val_loss(network, _noisy(1, 200)) == pytest.approx(min(history), abs=1e-6)


def test_best_epoch_by_validation_accuracy():
    _, info = _overfit(max_epochs=8, patience=None, monitor="val_accuracy")
    accuracy = [epoch["val_accuracy"] for epoch in info["history"]]
    assert info["monitor"] == "val_accuracy" and info["best_value"] == max(accuracy)
    assert info["best_epoch"] == accuracy.index(max(accuracy)) + 1  # the first epoch that reached it


def test_without_a_validation_split_the_last_epoch_is_kept(capsys, recwarn):
    empty = (np.zeros((0, 8), dtype="float32"), np.zeros(0, dtype="int64"))
    _, info = _overfit(validation=empty, max_epochs=4, patience=3)
    assert not [w for w in recwarn if "val_dataloader" in str(w.message)]  # the line below says it in our words
    assert (info["best_epoch"], info["epochs_run"], info["stopped_early"]) == (4, 4, False)
    assert info["monitor"] is None and info["best_value"] is None
    out = capsys.readouterr().out
    assert "no validation split: early stopping is off and the last epoch is kept" in out
    assert re.search(r"^epoch 4/4  train_loss \d\.\d{4}  \d+\.\ds$", out, re.M), out


def test_each_epoch_prints_a_progress_line_as_it_ends(capsys):
    _, info = _overfit(patience=3)
    out, err = capsys.readouterr()
    line = r"^epoch (\d+)/40  train_loss \d\.\d{4}  val_loss \d\.\d{4}  val_accuracy \d\.\d{4}  \d+\.\ds(  \*)?$"
    lines = re.findall(line, out, re.M)
    assert [int(epoch) for epoch, _ in lines] == list(range(1, info["epochs_run"] + 1))
    losses = [epoch["val_loss"] for epoch in info["history"]]
    new_bests = [i + 1 for i, loss in enumerate(losses) if loss < min(losses[:i], default=float("inf"))]
    assert [int(epoch) for epoch, star in lines if star] == new_bests
    assert lines[info["best_epoch"] - 1][1]  # the epoch kept is marked as a new best
    assert re.search(rf"^trained {96 * info['epochs_run']} samples in [\d.]+ s \(\d+ samples/s\)$", out, re.M)
    assert info["samples_per_second"] > 0
    assert "it/s" not in out + err and " batch " not in out  # no bar; epochs under progress_every_s: no batch lines


def test_a_long_epoch_shows_progress_lines_inside_it(capsys):
    """Inside an epoch, a line at most every `training.progress_every_s` (0: after each batch) with the throughput and
    the epoch's ETA, on a terminal or not: a Metaflow step's output is never a terminal."""
    _overfit(max_epochs=1, progress_every_s=0)
    lines = re.findall(r"^epoch 1/1  batch (\d+)/6  (\d+) samples/s  ETA (\d+)s$", capsys.readouterr().out, re.M)
    assert [int(batch) for batch, _, _ in lines] == [1, 2, 3, 4, 5, 6]  # 96 rows in batches of 16
    assert all(int(rate) > 0 for _, rate, _ in lines) and lines[-1][2] == "0"


@pytest.mark.parametrize(
    "training, message",
    [
        ({"patience": -1}, "training.patience: Input should be greater than or equal to 0"),
        ({"monitor": "val_f1"}, "training.monitor: Input should be 'val_loss' or 'val_accuracy'"),
    ],
)
def test_bad_early_stopping_settings_are_refused(params, training, message):
    raw = params.model_dump()
    raw["training"] |= training
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(raw)

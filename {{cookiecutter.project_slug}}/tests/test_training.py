import numpy as np
import pytest

from {{ cookiecutter.module_name }}.config import TrainingConfig
from {{ cookiecutter.module_name }}.evaluation import classification_metrics, predict_proba
from {{ cookiecutter.module_name }}.training import fit, load_weights, resolve_device, weights_to_bytes


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


def test_weights_round_trip():
    import torch

    network, _ = _train(seed=5)
    clone = load_weights(
        torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)), weights_to_bytes(network)
    )
    x, _ = _toy()
    assert np.array_equal(predict_proba(clone, x), predict_proba(network, x))


def test_gpu_request_degrades_to_cpu_without_a_gpu(caplog):
    import torch

    accelerator, precision = resolve_device(TrainingConfig(accelerator="gpu", gpus=1))
    if torch.cuda.is_available():
        assert accelerator == "gpu"
    else:
        assert (accelerator, precision) == ("cpu", "32-true")
        assert "no GPU found: training on CPU" in caplog.text


@pytest.mark.parametrize("bf16, mixed", [(True, "bf16-mixed"), (False, "16-mixed")])
def test_on_a_gpu_machine_training_uses_mixed_precision_unless_told_otherwise(monkeypatch, bf16, mixed):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU branch, on a machine without one
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    assert resolve_device(TrainingConfig(gpus=1)) == ("gpu", mixed)
    assert resolve_device(TrainingConfig(precision="32-true")) == ("gpu", "32-true")
    assert resolve_device(TrainingConfig(accelerator="cpu", gpus=1)) == ("cpu", "32-true")

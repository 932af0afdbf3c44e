"""On a GPU machine: training runs on the GPU in mixed precision, learns as well as on the CPU, and ships weights that
score the same on the CPU (where the service runs). Skipped, with the reason shown, where there is no GPU."""

import numpy as np
import pytest
import torch

from {{ cookiecutter.module_name }}.pipeline.data import validate_table
{%- if cookiecutter.task == "tabular_regression" %}
from {{ cookiecutter.module_name }}.pipeline.evaluation import predict_values, regression_metrics
{%- else %}
from {{ cookiecutter.module_name }}.pipeline.evaluation import classification_metrics, predict_proba
{%- endif %}
from {{ cookiecutter.module_name }}.pipeline.tasks import task
from {{ cookiecutter.module_name }}.pipeline.training import fit, load_weights, weights_to_bytes

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: none on this machine"),
]


@pytest.fixture(scope="module")
{%- if cookiecutter.task == "text_classification" %}
def settings(params, tiny_dir):
    """The tiny local BERT starts from random weights: it learns at a from-scratch rate, not a fine-tuning one."""
    model = params.model.model_copy(update={"name_or_path": str(tiny_dir)})
    training = params.training.model_copy(update={"learning_rate": 0.003, "max_epochs": 4})
    return params.model_copy(update={"model": model, "training": training})
{%- else %}
def settings(params):
    return params
{%- endif %}


@pytest.fixture(scope="module")
def arrays(demo_csv, settings):
    """(encoder, train, validation) from the demo table: two thirds to train on, the rest to validate and score."""
    import pandas as pd

    frame = pd.read_csv(demo_csv)
    encoder = task.fit_encoder(frame, validate_table(frame, settings.data), settings)
    x, y = encoder.transform(frame), encoder.encode_target(frame[settings.data.target])
    cut = 2 * len(y) // 3
    part = (lambda a, s: tuple(v[s] for v in a)) if isinstance(x, tuple) else (lambda a, s: a[s])
    return encoder, (part(x, slice(None, cut)), y[:cut]), (part(x, slice(cut, None)), y[cut:])


def _train(arrays, settings, accelerator: str):
    encoder, train, validation = arrays
    network = task.build_network(encoder, settings.model)
    cfg = settings.training.model_copy(update={"accelerator": accelerator})
    return network, fit(network, train, validation, cfg, settings.seed)


@pytest.fixture(scope="module")
def on_gpu(arrays, settings):
    return _train(arrays, settings, "gpu")


def test_training_uses_the_gpu_in_mixed_precision_and_hands_back_a_cpu_network(on_gpu):
    network, info = on_gpu
    assert info["accelerator"] == "gpu"
    assert info["precision"] == ("bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed")
    assert {p.device.type for p in network.parameters()} == {"cpu"}  # evaluation and packaging read it as it is


def test_gpu_training_learns_as_well_as_cpu_training(on_gpu, arrays, settings):
    (network, _), (cpu_network, _) = on_gpu, _train(arrays, settings, "cpu")
    x, y = arrays[2]
{%- if cookiecutter.task == "tabular_regression" %}
    encoder = arrays[0]
    truth = encoder.decode(y)
    gpu, cpu = (regression_metrics(truth, predict_values(n, x, encoder))["r2"] for n in (network, cpu_network))
    assert gpu > 0.5 and gpu >= cpu - 0.05, (gpu, cpu)
{%- else %}
    gpu, cpu = (classification_metrics(y, predict_proba(n, x))["accuracy"] for n in (network, cpu_network))
    majority = np.bincount(y).max() / len(y)
    assert gpu > majority and gpu >= cpu - 0.05, (gpu, cpu, majority)
{%- endif %}


def test_gpu_trained_weights_score_the_same_on_cpu_as_on_the_gpu(on_gpu, arrays, settings):
    network, _ = on_gpu
    x, _ = arrays[2]
    on_cpu = load_weights(task.build_network(arrays[0], settings.model, pretrained=False), weights_to_bytes(network))
{%- if cookiecutter.task == "tabular_regression" %}
    expected = predict_values(on_cpu, x, arrays[0])
    with torch.inference_mode():  # the same fp32 network on the GPU, no autocast
        outputs = network.cuda().eval()(torch.from_numpy(x).cuda())
    network.cpu()
    np.testing.assert_allclose(arrays[0].decode(outputs.float().squeeze(-1).cpu().numpy()), expected, atol=1e-3)
{%- else %}
    expected = predict_proba(on_cpu, x)
    inputs = x if isinstance(x, tuple) else (x,)
    with torch.inference_mode():  # the same fp32 network on the GPU, no autocast
        logits = network.cuda().eval()(*(torch.from_numpy(a).cuda() for a in inputs))
    network.cpu()
    np.testing.assert_allclose(torch.softmax(logits.float(), -1).cpu().numpy(), expected, atol=1e-4)
{%- endif %}

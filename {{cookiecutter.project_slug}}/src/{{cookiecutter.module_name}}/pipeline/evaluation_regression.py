"""Predict values in batches and score them on held-out data."""

import numpy as np


def predict_values(network, x: np.ndarray, encoder, batch_size: int = 1024) -> np.ndarray:
    """The network's outputs for the encoded inputs `x`, in the target's units (`encoder.decode`), float64."""
    import torch

    network.eval()
    with torch.inference_mode():
        chunks = [network(torch.from_numpy(x[i : i + batch_size])).float() for i in range(0, len(x), batch_size)]
    outputs = torch.cat(chunks).squeeze(-1).numpy() if chunks else np.zeros(0, dtype="float32")
    return encoder.decode(outputs)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """The gate's metrics, in the target's units except r2: root mean squared error, mean absolute error, the mean
    error (prediction minus truth: above 0, the model over-predicts on average) and the coefficient of determination
    (NaN with fewer than two rows: the gate then reports it as not judged)."""
    from sklearn import metrics

    y_true, y_pred = np.asarray(y_true, dtype="float64"), np.asarray(y_pred, dtype="float64")
    return {
        "rmse": float(metrics.root_mean_squared_error(y_true, y_pred)),
        "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        "mean_error": float(np.mean(y_pred - y_true)),
        "r2": float(metrics.r2_score(y_true, y_pred)) if len(y_true) >= 2 else float("nan"),
    }


def score(answers: dict[str, np.ndarray], names=None) -> dict[str, float]:
    """The metrics of a model's `answers` on some rows: {"y_true", "y_pred"}, row-aligned (`names`: only those)."""
    found = regression_metrics(answers["y_true"], answers["y_pred"])
    return {name: value for name, value in found.items() if names is None or name in names}

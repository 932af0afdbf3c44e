"""Predict class probabilities in batches and score them on held-out data."""

import numpy as np


def predict_proba(network, x, batch_size: int = 1024) -> np.ndarray:
    """x: one array of inputs, or a tuple of them (token ids and attention mask: each batch is trimmed to its longest
    text, see batching.py, so short texts are not scored at the width of the longest)."""
    import torch

    from .batching import trim_padding

    inputs = x if isinstance(x, tuple) else (x,)
    network.eval()

    def batch(start: int) -> tuple:
        return trim_padding(tuple(torch.from_numpy(a[start : start + batch_size]) for a in inputs))

    with torch.inference_mode():
        chunks = [torch.softmax(network(*batch(i)).float(), -1) for i in range(0, len(inputs[0]), batch_size)]
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), dtype="float32")


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, y_pred: np.ndarray | None = None) -> dict[str, float]:
    """Metrics for binary (positive class = last class) and multi-class problems; all in [0, 1] except log_loss.
    `y_pred`: decisions other than the argmax of `proba` (fairness thresholds)."""
    from sklearn import metrics

    labels = list(range(proba.shape[1]))
    y_pred = proba.argmax(1) if y_pred is None else y_pred
    binary = proba.shape[1] == 2
    average = "binary" if binary else "macro"
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)),
        "precision": float(metrics.precision_score(y_true, y_pred, average=average, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, y_pred, average=average, zero_division=0)),
        "f1": float(metrics.f1_score(y_true, y_pred, average=average, zero_division=0)),
        "roc_auc": float(
            metrics.roc_auc_score(y_true, proba[:, 1])
            if binary
            else metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels)
        ),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=labels)),
    }

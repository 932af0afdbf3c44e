"""Predict class probabilities in batches and score them on held-out data."""

import numpy as np


def predict_proba(network, x, batch_size: int = 1024) -> np.ndarray:
{%- if cookiecutter.task == "text_classification" %}
    """x: one array of inputs, or a tuple of them (token ids and attention mask: each batch is trimmed to its longest
    text, see batching.py, so short texts are not scored at the width of the longest)."""
    import torch

    from .batching import trim_padding

    inputs = x if isinstance(x, tuple) else (x,)
    network.eval()

    def batch(start: int) -> tuple:
        return trim_padding(tuple(torch.from_numpy(a[start : start + batch_size]) for a in inputs))
{%- else %}
    """x: one array of inputs, or a tuple of them."""
    import torch

    inputs = x if isinstance(x, tuple) else (x,)
    network.eval()

    def batch(start: int) -> tuple:
        return tuple(torch.from_numpy(a[start : start + batch_size]) for a in inputs)
{%- endif %}

    with torch.inference_mode():
        chunks = [torch.softmax(network(*batch(i)).float(), -1) for i in range(0, len(inputs[0]), batch_size)]
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), dtype="float32")


def decide(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class ids: binary, the positive class (last column) when its probability reaches `threshold`
    (`serving.threshold`); multi-class, the most probable class. Evaluation, gates and serving all decide here."""
    if proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype("int64")
    return proba.argmax(1).astype("int64")


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, y_pred: np.ndarray | None = None, names=None
) -> dict[str, float]:
    """The gate's metrics, all in [0, 1] except log_loss. Binary: precision, recall and F1 of the positive class (the
    last one); multi-class: their macro average, and ROC AUC one class against the rest. `y_pred`: the decisions
    (default: `decide` at 0.5); `names`: only these metrics (a bootstrap computes them a thousand times)."""
    from sklearn import metrics

    y_pred = decide(proba) if y_pred is None else y_pred
    labels = list(range(proba.shape[1]))
    average = "binary" if proba.shape[1] == 2 else "macro"
    scorers = {
        "accuracy": lambda: metrics.accuracy_score(y_true, y_pred),
        "balanced_accuracy": lambda: metrics.balanced_accuracy_score(y_true, y_pred),
        "precision": lambda: metrics.precision_score(y_true, y_pred, average=average, zero_division=0),
        "recall": lambda: metrics.recall_score(y_true, y_pred, average=average, zero_division=0),
        "f1": lambda: metrics.f1_score(y_true, y_pred, average=average, zero_division=0),
        "roc_auc": lambda: _roc_auc(y_true, proba, labels),
        "log_loss": lambda: metrics.log_loss(y_true, proba, labels=labels),
    }
    return {name: float(scorer()) for name, scorer in scorers.items() if names is None or name in names}


def score(answers: dict[str, np.ndarray], names=None) -> dict[str, float]:
    """The metrics of a model's `answers` on some rows: {"y_true", "y_pred", "proba"}, row-aligned arrays."""
    return classification_metrics(answers["y_true"], answers["proba"], answers["y_pred"], names)


def _roc_auc(y_true, proba, labels) -> float:
    """NaN when the test rows hold a single class (undefined): the gate then reports it as not judged."""
    from sklearn import metrics

    if len(np.unique(y_true)) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return float(metrics.roc_auc_score(y_true, proba[:, 1]))
    present = np.unique(y_true)
    if len(present) < len(labels):  # sklearn needs every class in y_true for one-vs-rest
        return float("nan")
    return float(metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))


def per_class_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list) -> dict[str, dict[str, float]]:
    """{class: precision, recall, f1, support}: what a macro average hides."""
    from sklearn import metrics

    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(classes))), zero_division=0
    )
    return {
        str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
        for c, p, r, f, n in zip(classes, precision, recall, f1, support, strict=True)
    }

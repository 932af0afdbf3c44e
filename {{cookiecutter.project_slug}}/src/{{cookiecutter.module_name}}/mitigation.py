"""Optional fairness mitigation: fairlearn's ThresholdOptimizer picks per-group thresholds on the network's
positive-class score. It is fitted on the training and validation rows (the test split stays held out for the gates;
the validation split alone is too small for stable per-group thresholds) and the same fairness gate re-checks its
decisions. Binary targets only.

Only the decisions change: probabilities (and ROC AUC, log loss) stay the network's own. By design the optimizer mixes
two thresholds per group at random to meet the constraint; the draws are seeded, so the same request gets the same
answer. The fitted optimizer is pickled beside the weights: load only models you made.
"""

import pickle

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .errors import DataError

THRESHOLDS = "thresholds.pkl"
FIT_ON = ("train", "validation")  # every split but test


def _score_frame(scores: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"score": np.asarray(scores, dtype="float64")})


def _groups(sensitive: pd.DataFrame) -> pd.DataFrame:
    """As strings, positionally aligned with the scores (fairlearn would align a split's shuffled index)."""
    return sensitive.astype(str).reset_index(drop=True)


class Score(BaseEstimator):
    """A fitted estimator whose prediction is its one input column, the network's score: fairlearn post-processes
    the network without ever calling it. Module-level, so the fitted optimizer pickles."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X, dtype="float64")[:, 0]


def require_binary(classes: list) -> None:
    if len(classes) != 2:
        raise DataError(
            f"mitigation threshold_optimizer needs a binary target; found {len(classes)} classes "
            "(set mitigation.method: none)"
        )


def fit_thresholds(scores: np.ndarray, y: np.ndarray, sensitive: pd.DataFrame, cfg) -> bytes:
    """Fit on positive-class scores, labels (0/1) and sensitive columns; `cfg`: params.yaml's mitigation section."""
    from fairlearn.postprocessing import ThresholdOptimizer

    optimizer = ThresholdOptimizer(
        estimator=Score().fit(None),
        constraints=cfg.constraints,
        objective=cfg.objective,
        prefit=True,
        predict_method="predict",
    )
    optimizer.fit(_score_frame(scores), np.asarray(y), sensitive_features=_groups(sensitive))
    return pickle.dumps(optimizer)


def fit_outside_test(network, arrays: dict, splits: dict, cfg) -> bytes:
    """fit_thresholds on the network's scores for every split but test; `cfg`: the validated params."""
    from .evaluation import predict_proba

    scores = np.concatenate([predict_proba(network, arrays[name][0])[:, -1] for name in FIT_ON])
    y = np.concatenate([arrays[name][1] for name in FIT_ON])
    sensitive = pd.concat([splits[name][cfg.data.sensitive_features] for name in FIT_ON])
    return fit_thresholds(scores, y, sensitive, cfg.mitigation)


def model_spec(splits: dict, cfg) -> dict:
    """What ships in the model's spec: the settings, the seed of the draws, and per sensitive feature the groups the
    thresholds know (the service accepts only those)."""
    groups = {c: sorted({str(v) for name in FIT_ON for v in splits[name][c]}) for c in cfg.data.sensitive_features}
    return cfg.mitigation.model_dump() | {"groups": groups, "seed": cfg.seed}


class Thresholds:
    """A fitted ThresholdOptimizer applied to the network's class probabilities."""

    def __init__(self, blob: bytes, sensitive: list[str], seed: int):
        self.optimizer = pickle.loads(blob)  # noqa: S301 - written by this project's own flow
        self.sensitive, self.seed = sensitive, seed
        self.groups = set(self.optimizer.interpolated_thresholder_.interpolation_dict)

    def decide(self, proba: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """Class ids (0/1) for the network's class probabilities and the rows' sensitive columns."""
        groups = _groups(frame[self.sensitive])
        keys = groups.agg(",".join, axis=1) if len(self.sensitive) > 1 else groups.iloc[:, 0]
        unknown = sorted(set(keys) - self.groups)
        if unknown:  # fairlearn would silently answer 0 for these
            from .serving import UnknownGroup

            raise UnknownGroup(f"unknown group(s) {unknown} of {self.sensitive}; known: {sorted(self.groups)}")
        labels = self.optimizer.predict(_score_frame(proba[:, 1]), sensitive_features=groups, random_state=self.seed)
        return np.asarray(labels, dtype="int64")

"""Optional fairness mitigation: fairlearn's ThresholdOptimizer picks per-group thresholds on the network's
positive-class score. Binary targets only; the same fairness gate re-checks its decisions on the test split.

Fitted on scores of rows the scoring network did not train on (training-split scores are over-confident, and the
test split stays held out for the gates), as `mitigation.fit_on` says:
- cross_fit (default): out-of-fold scores over train + validation. `folds` more networks are trained like the shipped
  one (same encoder, settings and seed), each on all but one fold, and score the fold it left out. Costs `folds`
  trainings. With it the mitigation end-to-end test (2,000-row biased demo) passes its equalized odds gate.
- validation: the shipped network's scores on the validation split alone. Cheap, but a small split gives unstable
  thresholds (the biased demo's 200 validation rows measured a test-split equalized odds difference of 0.30, over
  the 0.15 gate).
Either way the scored rows also chose their scoring network's epoch (early stopping): the only way they touched it.

What ships is fairlearn's per-group table as JSON (`artifact.THRESHOLDS`), not the fitted optimizer: per group two
threshold rules, the probability p0 of the first, and for some constraints a probability p_ignore of answering a
constant. Applying it takes a few lines of numpy, and loading a model unpickles nothing.

The mix between a group's two rules is randomised by design. A record's "random" number is a hash of its input values
and the seed, so a record gets the same decision alone or in any batch, in evaluation and in the service.

Only the decisions change: probabilities (and ROC AUC, log loss) stay the network's own.
"""

import hashlib
import logging
import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ..errors import DataError, UnknownGroup

log = logging.getLogger(__name__)

TABLE_FORMAT = 1


class Score(BaseEstimator):
    """A prefit "estimator" whose prediction is its one input column, the network's score: fairlearn post-processes
    the network without ever calling it."""

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


def group_keys(frame: pd.DataFrame, sensitive: list[str]) -> pd.Series:
    """One key per row: the group as text, several sensitive features joined by "," (as fairlearn keys them)."""
    groups = frame[sensitive].astype(str).reset_index(drop=True)
    return groups.agg(",".join, axis=1) if len(sensitive) > 1 else groups.iloc[:, 0]


def _number(value: float) -> float | str:
    return float(value) if math.isfinite(value) else str(float(value))  # "inf" / "-inf": strict JSON has neither


def fit_thresholds(scores: np.ndarray, y: np.ndarray, sensitive: pd.DataFrame, cfg, seed: int, inputs: list[str]):
    """The per-group table (a JSON-ready dict) of a ThresholdOptimizer fitted on positive-class scores, labels (0/1)
    and sensitive columns; `cfg`: params.yaml's mitigation section; `inputs`: the record fields the draw hashes."""
    from fairlearn.postprocessing import ThresholdOptimizer

    optimizer = ThresholdOptimizer(
        estimator=Score().fit(None),
        constraints=cfg.constraints,
        objective=cfg.objective,
        prefit=True,
        predict_method="predict",
    )
    frame = pd.DataFrame({"score": np.asarray(scores, dtype="float64")})
    groups = sensitive.astype(str).reset_index(drop=True)  # positional, as the scores (a split's index is shuffled)
    optimizer.fit(frame, np.asarray(y), sensitive_features=groups)
    table = {}
    for group, rule in optimizer.interpolated_thresholder_.interpolation_dict.items():
        table[str(group)] = {
            "p0": float(rule.p0),
            "rule0": [rule.operation0.operator, _number(rule.operation0.threshold)],
            "p1": float(rule.p1),
            "rule1": [rule.operation1.operator, _number(rule.operation1.threshold)],
            "p_ignore": float(rule.get("p_ignore", 0.0)),
            "constant": float(rule.get("prediction_constant", 0.0)),
        }
    return {
        "format": TABLE_FORMAT,
        "sensitive": list(sensitive.columns),
        "inputs": sorted(inputs),
        "seed": int(seed),
        "groups": table,
    }


def _rows(x, index):
    """Rows of encoded inputs: an array (tabular) or a tuple of arrays (text: ids, mask)."""
    return tuple(a[index] for a in x) if isinstance(x, tuple) else x[index]


def out_of_fold_scores(encoder, rows: pd.DataFrame, cfg) -> tuple[np.ndarray, np.ndarray]:
    """(positive-class scores, labels) of `rows`, each scored by a network trained without its fold."""
    from sklearn.model_selection import StratifiedKFold

    from ..pipeline.evaluation import predict_proba
    from ..pipeline.tasks import task
    from ..pipeline.training import fit, seed_everything

    x, y = encoder.transform(rows), encoder.encode_target(rows[cfg.data.target])
    scores = np.zeros(len(y))
    folds = StratifiedKFold(cfg.mitigation.folds, shuffle=True, random_state=cfg.seed)
    for k, (kept, left_out) in enumerate(folds.split(np.zeros(len(y)), y), 1):
        log.info("cross-fitting the fairness thresholds: network %d/%d", k, cfg.mitigation.folds)
        seed_everything(cfg.seed)
        network = task.build_network(encoder, cfg.model)
        fit(network, (_rows(x, kept), y[kept]), (_rows(x, left_out), y[left_out]), cfg.training, cfg.seed)
        scores[left_out] = predict_proba(network, _rows(x, left_out))[:, -1]
    return scores, y


def fit_outside_training(network, encoder, arrays: dict, splits: dict, cfg, inputs: list[str]) -> dict:
    """fit_thresholds on scores of rows the scoring network did not train on (`mitigation.fit_on`); `cfg`: the
    validated params; `network`: the one shipped, whose validation scores `fit_on: validation` uses."""
    from ..pipeline.evaluation import predict_proba

    if cfg.mitigation.fit_on == "validation":
        rows = splits["validation"]
        if rows.empty:
            raise DataError("mitigation.fit_on: validation needs split.validation_size > 0 (or fit_on: cross_fit)")
        x, y = arrays["validation"]
        scores = predict_proba(network, x)[:, -1]
    else:
        rows = pd.concat([splits["train"], splits["validation"]])
        scores, y = out_of_fold_scores(encoder, rows, cfg)
    return fit_thresholds(scores, y, rows[cfg.data.sensitive_features], cfg.mitigation, cfg.seed, inputs)


def model_spec(table: dict, cfg) -> dict:
    """The spec's mitigation section: the settings (fit_on and folds say whose scores fitted the thresholds), and per
    sensitive feature the groups the thresholds know (the service accepts only those)."""
    keys = [key.split(",") if len(table["sensitive"]) > 1 else [key] for key in table["groups"]]
    groups = {c: sorted({key[i] for key in keys}) for i, c in enumerate(table["sensitive"])}
    section = cfg.mitigation.model_dump() | {"groups": groups}
    return section if section["fit_on"] == "cross_fit" else section | {"folds": None}


def _text(value) -> str:
    """A value as the same text whether it came alone or in a batch (where pandas may widen ints to floats)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return "" if math.isnan(value) else format(float(value), ".12g")
    return "" if value is None or value is pd.NA else str(value)


def draws(frame: pd.DataFrame, inputs: list[str], seed: int) -> np.ndarray:
    """A number in [0, 1) per row, a function of the row's input values and the seed only."""
    out = np.empty(len(frame))
    for i, row in enumerate(frame[inputs].astype(object).to_numpy()):
        key = "\x1f".join([str(seed), *(_text(v) for v in row)]).encode()
        out[i] = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2.0**64
    return out


def _rule(rule: list, scores: np.ndarray) -> np.ndarray:
    operator, threshold = rule[0], float(rule[1])
    return scores > threshold if operator == ">" else scores < threshold


class Thresholds:
    """The per-group table applied to the network's class probabilities."""

    def __init__(self, table: dict):
        if table.get("format") != TABLE_FORMAT:
            raise ValueError(f"fairness thresholds format {table.get('format')!r}; this code reads {TABLE_FORMAT}")
        self.table = table
        self.sensitive, self.inputs, self.seed = table["sensitive"], table["inputs"], table["seed"]
        self.groups = table["groups"]

    def positive_probability(self, scores: np.ndarray, keys: pd.Series) -> np.ndarray:
        """The probability of deciding positive (fairlearn's _pmf_predict), per row."""
        out = np.zeros(len(scores))
        for group, t in self.groups.items():
            rows = (keys == group).to_numpy()
            s = scores[rows]
            mixed = t["p0"] * _rule(t["rule0"], s) + t["p1"] * _rule(t["rule1"], s)
            out[rows] = t["p_ignore"] * t["constant"] + (1 - t["p_ignore"]) * mixed
        return out

    def decide(self, proba: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        """Class ids (0/1) for the network's class probabilities and the rows' inputs (sensitive columns included)."""
        keys = group_keys(frame, self.sensitive)
        unknown = sorted(set(keys) - set(self.groups))
        if unknown:  # fairlearn would silently answer 0 for these
            raise UnknownGroup(f"unknown group(s) {unknown} of {self.sensitive}; known: {sorted(self.groups)}")
        positive = self.positive_probability(np.asarray(proba, dtype="float64")[:, -1], keys)
        return (draws(frame, self.inputs, self.seed) < positive).astype("int64")

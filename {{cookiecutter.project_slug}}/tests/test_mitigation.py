"""Fairness mitigation on hand-made scores: fairlearn's ThresholdOptimizer, fitted and applied as the flow does."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import ConfigError, MitigationConfig, validate
from {{ cookiecutter.module_name }}.mitigation import Thresholds, fit_thresholds, require_binary
from {{ cookiecutter.module_name }}.serving import UnknownGroup


def biased(n: int, seed: int):
    """Scores that favour group "a": same labels, but "b" scores 0.3 lower."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    y = (rng.random(n) < 0.5).astype(int)
    score = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.15, n) - 0.3 * (group == "b"), 0, 1)
    return np.column_stack([1 - score, score]), y, pd.DataFrame({"sex": group})


def selection_gap(labels, frame) -> float:
    rates = pd.Series(labels).groupby(frame["sex"].to_numpy()).mean()
    return float(rates.max() - rates.min())


def test_thresholds_close_the_demographic_parity_gap():
    proba, y, frame = biased(2000, seed=0)
    frame.index = np.random.default_rng(1).permutation(len(frame))
    blob = fit_thresholds(proba[:, 1], y, frame, MitigationConfig(method="threshold_optimizer"))
    test_proba, _, test_frame = biased(2000, seed=1)
    test_frame.index = np.random.default_rng(2).permutation(len(test_frame))  # as shuffled as a split's
    labels = Thresholds(blob, ["sex"], seed=42).decide(test_proba, test_frame)
    assert selection_gap(test_proba.argmax(1), test_frame) > 0.25  # the network alone
    assert selection_gap(labels, test_frame) < 0.1 and set(np.unique(labels)) <= {0, 1}


def test_decisions_are_seeded():
    proba, y, frame = biased(500, seed=0)
    blob = fit_thresholds(proba[:, 1], y, frame, MitigationConfig(method="threshold_optimizer"))
    first = Thresholds(blob, ["sex"], seed=7).decide(proba, frame)
    again = Thresholds(blob, ["sex"], seed=7).decide(proba, frame)
    assert np.array_equal(first, again)


def test_an_unseen_group_is_refused_not_answered():
    proba, y, frame = biased(200, seed=0)
    thresholds = Thresholds(fit_thresholds(proba[:, 1], y, frame, MitigationConfig()), ["sex"], seed=1)
    with pytest.raises(UnknownGroup, match=r"unknown group\(s\) \['c'\]"):
        thresholds.decide(proba[:2], pd.DataFrame({"sex": ["a", "c"]}))


def test_only_binary_targets_and_known_constraints():
    require_binary(["no", "yes"])
    with pytest.raises(ValueError, match="binary target; found 3 classes"):
        require_binary(["a", "b", "c"])
    raw = {"data": {"path": "x.csv", "target": "y", "sensitive_features": ["sex"]}, "packaging": {"model_name": "m"}}
    validate(raw | {"mitigation": {"method": "threshold_optimizer", "constraints": "equalized_odds"}})
    with pytest.raises(ConfigError, match="mitigation.constraints"):
        validate(raw | {"mitigation": {"constraints": "parity"}})


def test_several_sensitive_features_are_judged_by_combination():
    proba, y, frame = biased(400, seed=0)
    frame["age_group"] = np.where(np.arange(len(frame)) % 2, "young", "old")
    frame.loc[(frame["sex"] == "b") & (frame["age_group"] == "old"), "age_group"] = "young"  # no ("b", "old")
    thresholds = Thresholds(fit_thresholds(proba[:, 1], y, frame, MitigationConfig()), ["sex", "age_group"], seed=1)
    seen = pd.DataFrame({"sex": ["a", "b"], "age_group": ["old", "young"]})
    assert thresholds.decide(proba[:2], seen).shape == (2,)
    with pytest.raises(UnknownGroup, match=r"\['b,old'\]"):
        thresholds.decide(proba[:1], pd.DataFrame({"sex": ["b"], "age_group": ["old"]}))

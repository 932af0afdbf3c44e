"""Fairness mitigation on hand-made scores: fairlearn's ThresholdOptimizer fitted, its per-group table shipped as JSON
and applied with numpy, as the flow does."""

import json

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import ConfigError, MitigationConfig, validate
from {{ cookiecutter.module_name }}.errors import UnknownGroup
from {{ cookiecutter.module_name }}.gates.mitigation import Score, Thresholds, fit_thresholds, group_keys, require_binary

INPUTS = ["x", "sex"]


def biased(n: int, seed: int):
    """Scores that favour group "a": same labels, but "b" scores 0.3 lower; `x` is a feature of each record."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    y = (rng.random(n) < 0.5).astype(int)
    score = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.15, n) - 0.3 * (group == "b"), 0, 1)
    return np.column_stack([1 - score, score]), y, pd.DataFrame({"x": rng.normal(size=n).round(6), "sex": group})


def fitted(n=2000, seed=0, constraints="demographic_parity"):
    proba, y, frame = biased(n, seed)
    cfg = MitigationConfig(method="threshold_optimizer", constraints=constraints)
    return Thresholds(fit_thresholds(proba[:, 1], y, frame[["sex"]], cfg, seed=7, inputs=INPUTS))


def selection_gap(labels, frame) -> float:
    rates = pd.Series(labels).groupby(frame["sex"].to_numpy()).mean()
    return float(rates.max() - rates.min())


def test_thresholds_close_the_demographic_parity_gap():
    proba, y, frame = biased(2000, seed=0)
    frame.index = np.random.default_rng(1).permutation(len(frame))
    cfg = MitigationConfig(method="threshold_optimizer")
    thresholds = Thresholds(fit_thresholds(proba[:, 1], y, frame[["sex"]], cfg, seed=42, inputs=INPUTS))
    test_proba, _, test_frame = biased(2000, seed=1)
    test_frame.index = np.random.default_rng(2).permutation(len(test_frame))  # as shuffled as a split's
    labels = thresholds.decide(test_proba, test_frame)
    assert selection_gap(test_proba.argmax(1), test_frame) > 0.25  # the network alone
    assert selection_gap(labels, test_frame) < 0.1 and set(np.unique(labels)) <= {0, 1}


@pytest.mark.parametrize("constraints", ["demographic_parity", "equalized_odds"])
def test_the_table_is_plain_json(constraints):
    table = fitted(constraints=constraints).table
    again = json.loads(json.dumps(table, allow_nan=False))  # strict JSON: no NaN, no Infinity
    assert again == table and set(table["groups"]) == {"a", "b"}
    assert Thresholds(again).table == table


@pytest.mark.parametrize("constraints", ["demographic_parity", "equalized_odds"])
def test_the_json_table_applies_fairlearns_own_rule(constraints):
    """The numpy application gives fairlearn's probability of a positive decision for every row, and on a large
    sample the same per-group selection rates as fairlearn's own randomised predict."""
    from fairlearn.postprocessing import ThresholdOptimizer

    proba, y, frame = biased(2000, seed=0)
    optimizer = ThresholdOptimizer(
        estimator=Score().fit(None), constraints=constraints, prefit=True, predict_method="predict"
    )
    scores = pd.DataFrame({"score": proba[:, 1]})
    optimizer.fit(scores, y, sensitive_features=frame[["sex"]])
    thresholds = fitted(constraints=constraints)

    big_proba, _, big = biased(20000, seed=3)
    big_scores = pd.DataFrame({"score": big_proba[:, 1]})
    theirs = optimizer.interpolated_thresholder_._pmf_predict(big_scores, sensitive_features=big[["sex"]])[:, 1]
    ours = thresholds.positive_probability(big_proba[:, 1], group_keys(big, ["sex"]))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)

    their_labels = optimizer.predict(big_scores, sensitive_features=big[["sex"]], random_state=0)
    our_labels = thresholds.decide(big_proba, big)
    by_group = pd.DataFrame({"sex": big["sex"], "theirs": their_labels, "ours": our_labels}).groupby("sex").mean()
    np.testing.assert_allclose(by_group["ours"], by_group["theirs"], atol=0.02)


def test_a_decision_does_not_depend_on_its_batch():
    """One by one, in one batch, shuffled, or with ints where a batch has floats: the same decisions."""
    thresholds = fitted(constraints="equalized_odds")
    proba, _, frame = biased(1500, seed=5)
    batched = thresholds.decide(proba, frame)
    one_by_one = np.concatenate([thresholds.decide(proba[i : i + 1], frame.iloc[i : i + 1]) for i in range(len(frame))])
    assert np.array_equal(batched, one_by_one)
    order = np.random.default_rng(0).permutation(len(frame))
    assert np.array_equal(thresholds.decide(proba[order], frame.iloc[order])[np.argsort(order)], batched)
    as_int = pd.DataFrame({"x": [3], "sex": ["a"]})
    in_batch = pd.DataFrame({"x": [3.0, np.nan], "sex": ["a", "b"]})
    assert thresholds.decide(proba[:1], as_int)[0] == thresholds.decide(proba[:2], in_batch)[0]
    p = thresholds.positive_probability(proba[:, 1], group_keys(frame, ["sex"]))
    assert ((p > 0) & (p < 1)).sum() > 100  # the mix is exercised, not only deterministic rows


def test_an_unseen_group_is_refused_not_answered():
    thresholds = fitted(200)
    with pytest.raises(UnknownGroup, match=r"unknown group\(s\) \['c'\]"):
        thresholds.decide(np.array([[0.5, 0.5]] * 2), pd.DataFrame({"x": [0.0, 1.0], "sex": ["a", "c"]}))


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
    sensitive = frame[["sex", "age_group"]]
    table = fit_thresholds(proba[:, 1], y, sensitive, MitigationConfig(), seed=1, inputs=[*INPUTS, "age_group"])
    thresholds = Thresholds(table)
    seen = pd.DataFrame({"x": [0.1, 0.2], "sex": ["a", "b"], "age_group": ["old", "young"]})
    assert thresholds.decide(proba[:2], seen).shape == (2,)
    with pytest.raises(UnknownGroup, match=r"\['b,old'\]"):
        thresholds.decide(proba[:1], pd.DataFrame({"x": [0.0], "sex": ["b"], "age_group": ["old"]}))

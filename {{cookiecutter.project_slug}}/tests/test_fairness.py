"""Fairness computations against values worked out by hand on an 8-row frame."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import FairnessGate
from {{ cookiecutter.module_name }}.gates.fairness import fairness_gate, group_table, group_tables, wilson

Y_TRUE = np.array([1, 1, 0, 0, 1, 0, 0, 0])
Y_PRED = np.array([1, 0, 0, 1, 1, 0, 0, 0])
SCORES = np.array([0.9, 0.4, 0.3, 0.6, 0.8, 0.1, 0.2, 0.3])
GROUPS = pd.Series(["a"] * 4 + ["b"] * 4, name="group")
PROBA = np.stack([1 - SCORES, SCORES], axis=1)
OFF = {"max_demographic_parity_difference": None, "max_equalized_odds_difference": None}
ANY_SIZE = {"min_group_size": 1, "min_group_positives": 1, "min_group_negatives": 1}


@pytest.fixture()
def table():
    return group_table(Y_TRUE, Y_PRED, SCORES, GROUPS, "roc_auc")


def test_group_metrics_match_hand_computed_values(table):
    a, b = table.loc["a"], table.loc["b"]
    assert (a["count"], a["selection_rate"], a["true_positive_rate"], a["false_positive_rate"]) == (4, 0.5, 0.5, 0.5)
    assert (b["count"], b["selection_rate"], b["true_positive_rate"], b["false_positive_rate"]) == (4, 0.25, 1.0, 0.0)
    assert (a["accuracy"], b["accuracy"]) == (0.5, 1.0)
    assert (a["roc_auc"], b["roc_auc"]) == (0.75, 1.0)
    confusion = ["true_negatives", "false_positives", "false_negatives", "true_positives"]
    assert a[confusion].tolist() == [1, 1, 1, 1] and b[confusion].tolist() == [3, 0, 0, 1]
    assert (a["positives"], a["negatives"], b["positives"], b["negatives"]) == (2, 2, 1, 3)


def test_each_rate_has_a_wilson_interval(table):
    low, high = wilson(2, 4)
    assert (round(low, 3), round(high, 3)) == (0.15, 0.85)  # p = 0.5 on 4 rows: hardly known
    a = table.loc["a"]
    assert (a["selection_rate_low"], a["selection_rate_high"]) == pytest.approx((low, high))
    assert wilson(0, 0) != wilson(0, 0)  # NaN: no rows, no interval


def test_each_bound_fails_by_the_hand_computed_margin(table):
    cfg = FairnessGate(
        max_demographic_parity_difference=0.2,
        min_demographic_parity_ratio=0.6,
        max_equalized_odds_difference=0.4,
        min_group_primary=0.8,
        **ANY_SIZE,
    )
    verdict = fairness_gate({"group": table}, cfg, "roc_auc")
    values = {c.name: (c.value, c.passed) for c in verdict.checks}
    assert values == {
        "demographic parity difference [group]": (0.25, False),
        "demographic parity ratio [group]": (0.5, False),
        "equalized odds difference [group]": (0.5, False),
        "lowest group roc_auc [group]": (0.75, False),
    }
    assert "demographic parity difference [group] = 0.2500 on 8 rows, needs <= 0.2 (off by 0.0500)" in verdict.summary()


def test_loose_bounds_pass(table):
    cfg = FairnessGate(max_demographic_parity_difference=0.3, max_equalized_odds_difference=0.5, **ANY_SIZE)
    verdict = fairness_gate({"group": table}, cfg, "roc_auc")
    assert verdict.passed and verdict.headline() == "PASSED (2 judged)"


def test_rates_on_a_handful_of_positives_do_not_decide():
    """Two large groups differ by 0.09 in TPR; a third with 45 rows and 4 positives has TPR 1.0. Its TPR is shown and
    not judged (too few positives), so the verdict rests on the groups that can carry it."""
    rng = np.random.default_rng(0)
    sizes, positives = {"a": 400, "b": 400, "c": 45}, {"a": 200, "b": 200, "c": 4}
    tpr = {"a": 0.80, "b": 0.71, "c": 1.0}
    y_true, y_pred, groups = [], [], []
    for g, n in sizes.items():
        p = positives[g]
        hits = round(tpr[g] * p)
        y_true += [1] * p + [0] * (n - p)
        y_pred += [1] * hits + [0] * (p - hits) + list(rng.random(n - p) < 0.1)
        groups += [g] * n
    y_true, y_pred = np.array(y_true), np.array(y_pred, dtype=int)
    table = group_table(y_true, y_pred, y_pred * 0.8 + 0.1, pd.Series(groups, name="g"), "accuracy")
    cfg = FairnessGate(max_demographic_parity_difference=None, max_equalized_odds_difference=0.15)
    verdict = fairness_gate({"g": table}, cfg, "accuracy")
    (check,) = verdict.checks
    assert check.value < 0.15 and verdict.passed
    assert any("true_positive_rate not judged for groups with < 20 positives: {'c': 4}" in n for n in verdict.notes)


def test_a_gate_with_no_group_large_enough_fails_unjudged(table):
    """156 tiny groups must not print "fairness gate PASSED" with zero checks."""
    verdict = fairness_gate({"group": table}, FairnessGate(min_group_size=30), "roc_auc")
    assert not verdict.passed and verdict.headline() == "FAILED (0 judged, 2 not judged)"
    assert "demographic parity difference [group]: not judged (fewer than 2 groups with >= 30 rows" in verdict.summary()
    relaxed = fairness_gate({"group": table}, FairnessGate(min_group_size=30, require_judgement=False), "roc_auc")
    assert relaxed.passed and relaxed.headline() == "PASSED (0 judged, 2 not judged)"


def test_fairness_turned_off_is_said_not_passed_silently(table):
    verdict = fairness_gate({"group": table}, FairnessGate(enabled=False), "roc_auc")
    assert verdict.passed and verdict.headline() == "OFF" and "not assessed" in verdict.notes[0]


def test_small_groups_are_reported_or_fail_as_configured(table):
    warn = fairness_gate({"group": table}, FairnessGate(min_group_size=5, **OFF), "roc_auc")
    assert warn.passed and any("group size [group = a] is 4 (< 5)" in note for note in warn.notes)
    fail = fairness_gate({"group": table}, FairnessGate(min_group_size=5, small_group_action="fail", **OFF), "roc_auc")
    assert not fail.passed and [f.split(" = ")[0] for f in fail.failures] == ["group size [group", "group size [group"]
    assert "group size [group = a] = 4.0000, needs >= 5.0 (off by 1.0000)" in fail.failures


def test_intersections_are_judged_when_asked():
    sensitive = pd.DataFrame({"sex": ["f", "m"] * 4, "band": ["x"] * 4 + ["y"] * 4})
    tables = group_tables(Y_TRUE, Y_PRED, PROBA, sensitive, "accuracy", True, [0, 1])
    assert set(tables) == {"sex", "band", "sex × band"} and len(tables["sex × band"]) == 4
    assert set(group_tables(Y_TRUE, Y_PRED, PROBA, sensitive, "accuracy", False, [0, 1])) == {"sex", "band"}


def test_multiclass_is_judged_one_class_against_the_rest():
    y_true = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    y_pred = np.array([0, 1, 2, 1, 1, 2, 0, 0])
    proba = np.eye(3)[y_pred] * 0.7 + 0.1
    sensitive = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4})
    tables = group_tables(y_true, y_pred, proba, sensitive, "roc_auc", False, ["x", "y", "z"])
    assert set(tables) == {"g | class x", "g | class y", "g | class z"}
    x = tables["g | class x"]  # class x vs the rest: group a has true x at rows 0, 3; predicted x at row 0
    assert (x.loc["a", "positives"], x.loc["a", "true_positive_rate"], x.loc["a", "selection_rate"]) == (2, 0.5, 0.25)
    cfg = FairnessGate(**ANY_SIZE, classes=["z"])
    verdict = fairness_gate(tables, cfg, "roc_auc")
    assert {c.name for c in verdict.checks} == {
        "demographic parity difference [g | class z]",
        "equalized odds difference [g | class z]",
    }
    assert "[g | class x] reported, not judged (not in gates.fairness.classes)" in verdict.notes


def test_undefined_group_metric_is_not_judged_for_that_group():
    table = group_table(
        np.array([1, 1, 0, 1]),
        np.array([1, 1, 0, 1]),
        np.array([0.9, 0.8, 0.1, 0.7]),
        pd.Series(["a", "a", "b", "b"], name="g"),
        "roc_auc",
    )
    verdict = fairness_gate({"g": table}, FairnessGate(min_group_primary=0.5, **ANY_SIZE, **OFF), "roc_auc")
    assert "[g] roc_auc undefined (one class) for groups ['a']" in verdict.notes
    assert verdict.checks[0].value == 1.0  # judged on group b alone
    only_a = fairness_gate({"g": table.loc[["a"]]}, FairnessGate(min_group_primary=0.5, **ANY_SIZE, **OFF), "roc_auc")
    assert not only_a.passed and only_a.checks[0].state == "not judged"


def test_fairness_checks_decide_on_bootstrap_intervals_of_the_differences():
    """Selection rates 0.5 and 0.6: the demographic parity difference's interval holds 0.1, so a bound of 0.3 passes,
    one of 0.02 fails, and one of 0.1 cannot be decided: not judged, failing unless gates.undecided is report."""
    from {{ cookiecutter.module_name }}.config import GatesConfig

    rng = np.random.default_rng(0)
    rows = 2000
    sex = pd.DataFrame({"sex": rng.choice(["f", "m"], rows)})
    y_true = rng.integers(0, 2, rows)
    y_pred = (rng.random(rows) < np.where(sex["sex"] == "m", 0.6, 0.5)).astype(int)
    proba = np.c_[1 - y_pred * 0.8 - 0.1, y_pred * 0.8 + 0.1]

    def verdict(bound: float, **more):
        fairness = FairnessGate(max_demographic_parity_difference=bound, max_equalized_odds_difference=None)
        gates = GatesConfig(primary_metric="accuracy", resamples=300, fairness=fairness, **more)
        tables = group_tables(y_true, y_pred, proba, sex, "accuracy", False, [0, 1], gates)
        return tables["sex"], fairness_gate(tables, fairness, "accuracy", rule=gates)

    table, passed = verdict(0.3)
    low, high = table.attrs["intervals"]["demographic parity difference"]
    assert low < table["selection_rate"].max() - table["selection_rate"].min() < high < 0.3 and passed.passed
    assert f"[{low:.4f}, {high:.4f}] on {rows} rows <= 0.3" in passed.summary()
    assert not verdict(0.02)[1].passed
    undecided = verdict(0.1)[1]
    assert not undecided.passed and "its interval straddles <= 0.1" in undecided.failures[0]
    reported = verdict(0.1, undecided="report")[1]  # shown, not failing; but nothing else was judged
    assert reported.failures == ["none of its 1 checks could be judged (require_judgement)"]

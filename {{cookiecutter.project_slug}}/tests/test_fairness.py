"""Fairness computations against values worked out by hand on an 8-row frame."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import FairnessGate
from {{ cookiecutter.module_name }}.fairness import fairness_gate, group_table, group_tables

Y_TRUE = np.array([1, 1, 0, 0, 1, 0, 0, 0])
Y_PRED = np.array([1, 0, 0, 1, 1, 0, 0, 0])
SCORES = np.array([0.9, 0.4, 0.3, 0.6, 0.8, 0.1, 0.2, 0.3])
GROUPS = pd.Series(["a"] * 4 + ["b"] * 4, name="group")
OFF = {"max_demographic_parity_difference": None, "max_equalized_odds_difference": None}


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


def test_each_bound_fails_by_the_hand_computed_margin(table):
    cfg = FairnessGate(
        max_demographic_parity_difference=0.2,
        min_demographic_parity_ratio=0.6,
        max_equalized_odds_difference=0.4,
        min_group_primary=0.8,
        min_group_size=2,
    )
    verdict = fairness_gate({"group": table}, cfg, "roc_auc")
    values = {c.name: (c.value, c.passed) for c in verdict.checks}
    assert values == {
        "demographic parity difference [group]": (0.25, False),
        "demographic parity ratio [group]": (0.5, False),
        "equalized odds difference [group]": (0.5, False),
        "lowest group roc_auc [group]": (0.75, False),
    }
    assert "demographic parity difference [group] = 0.2500, needs <= 0.2 (off by 0.0500)" in verdict.summary()


def test_loose_bounds_pass(table):
    cfg = FairnessGate(max_demographic_parity_difference=0.3, max_equalized_odds_difference=0.5, min_group_size=2)
    assert fairness_gate({"group": table}, cfg, "roc_auc").passed


def test_small_groups_are_reported_or_fail_as_configured(table):
    warn = fairness_gate({"group": table}, FairnessGate(min_group_size=5, **OFF), "roc_auc")
    assert warn.passed and any("group size [group = a] is 4 (< 5)" in note for note in warn.notes)
    fail = fairness_gate({"group": table}, FairnessGate(min_group_size=5, small_group_action="fail", **OFF), "roc_auc")
    assert not fail.passed and {c.name for c in fail.failures} == {"group size [group = a]", "group size [group = b]"}


def test_intersections_are_judged_when_asked():
    sensitive = pd.DataFrame({"sex": ["f", "m"] * 4, "band": ["x"] * 4 + ["y"] * 4})
    tables = group_tables(Y_TRUE, Y_PRED, SCORES, sensitive, "accuracy", intersections=True)
    assert set(tables) == {"sex", "band", "sex × band"} and len(tables["sex × band"]) == 4
    assert set(group_tables(Y_TRUE, Y_PRED, SCORES, sensitive, "accuracy", intersections=False)) == {"sex", "band"}


def test_undefined_group_metric_fails_closed():
    table = group_table(
        np.array([1, 1, 0, 1]),
        np.array([1, 1, 0, 1]),
        np.array([0.9, 0.8, 0.1, 0.7]),
        pd.Series(["a", "a", "b", "b"], name="g"),
        "roc_auc",
    )
    verdict = fairness_gate({"g": table}, FairnessGate(min_group_primary=0.5, min_group_size=1, **OFF), "roc_auc")
    assert not verdict.passed  # group "a" has one class: AUC undefined, so it cannot pass

"""The shadow report's judgement (shadow.shadow_gate) over prediction-log rows where both models answered."""

import numpy as np
import pandas as pd
import pytest

{% if cookiecutter.task == "tabular_regression" -%}
from {{ cookiecutter.module_name }}.monitoring.shadow import mean_absolute_difference, score_summary, shadow_gate, shadow_rows
{%- elif cookiecutter.__fairness -%}
from {{ cookiecutter.module_name }}.monitoring.shadow import score_summary, selection_spread, shadow_gate, shadow_rows

CLASSES = [0, 1]
{%- else -%}
from {{ cookiecutter.module_name }}.monitoring.shadow import score_summary, shadow_gate, shadow_rows
{%- endif %}
{%- set judged = ", labelled_fairness=True" if cookiecutter.__fairness else "" %}
{%- set classes = "CLASSES, " if cookiecutter.__fairness else "" %}
{%- if cookiecutter.__fairness %}


@pytest.fixture()
def params(params):
    """The project's settings with a sensitive feature and fairness on, whatever its data has (none: fairness off):
    these tests judge the shadow report's fairness checks."""
    data = params.data.model_copy(update={"sensitive_features": params.data.sensitive_features or ["sex"]})
    gates = params.gates.model_copy(update={"fairness": params.gates.fairness.model_copy(update={"enabled": True})})
    return params.model_copy(update={"data": data, "gates": gates})
{%- endif %}


{% if cookiecutter.task == "tabular_regression" -%}
def log_rows(n=600, difference=0.5, errors=0, seed=0) -> pd.DataFrame:
    """n rows answered by champion m:1 with m:2 in shadow; the shadow's values are `difference` above the champion's
    on every other row and as far below on the rest."""
    rng = np.random.default_rng(seed)
    value = rng.normal(12.0, 5.0, n)
    rows = pd.DataFrame(
        {
            "value": value,
            "model_version": "m:1",
            "shadow_value": value + np.where(np.arange(n) % 2 == 0, difference, -difference),
            "shadow_model_version": "m:2",
            "shadow_error": None,
        }
    )
    rows.loc[: errors - 1, "shadow_value"] = np.nan
    rows.loc[: errors - 1, "shadow_error"] = "refused"
    return rows


def states(verdict) -> dict[str, str]:
    return {c.name: c.state for c in verdict.checks}


def test_enough_close_traffic_passes{{ "_when_fairness_is_judged_on_a_labelled_batch" if cookiecutter.__fairness }}(params):
    verdict = shadow_gate(log_rows(), params{{ judged }})
    assert verdict.passed, verdict.summary()
    assert states(verdict)["mean absolute difference from the champion"] == "passed"
    assert mean_absolute_difference(log_rows()) == pytest.approx(0.5)
    assert "mean difference, challenger - champion: 0.0000" in verdict.notes
{%- if cookiecutter.__fairness %}
    assert any("judged on the labelled batch" in note for note in verdict.notes)


def test_without_a_labelled_batch_fairness_is_not_judged_and_the_report_fails(params):
    """Traffic has no true values: a regression's fairness checks (the groups' errors) cannot be computed from it."""
    verdict = shadow_gate(log_rows(), params)
    feature = params.data.sensitive_features[0]
    assert not verdict.passed and states(verdict)[f"group MAE ratio, highest / lowest [{feature}]"] == "not judged"
    assert "give a labelled batch (--batch)" in verdict.summary()
{%- endif %}


@pytest.mark.parametrize(
    "rows, failed",
    [
        (log_rows(n=100), "records scored in shadow"),
        (log_rows(errors=3), "share it could not score"),
        (log_rows(difference=5.0), "mean absolute difference from the champion"),
    ],
)
def test_too_little_traffic_refused_records_or_values_far_from_the_champions_fail_by_how_much(params, rows, failed):
    verdict = shadow_gate(rows, params{{ judged }})
    assert [c.name for c in verdict.checks if c.state == "failed"] == [failed]
    assert any(line.startswith(failed) and "off by" in line for line in verdict.failures)


def test_a_count_reads_as_a_count(params):
    verdict = shadow_gate(log_rows(n=100), params{{ judged }})
    assert "records scored in shadow = 100, needs >= 500 (off by 400)" in verdict.failures


def test_the_difference_is_reported_not_judged_when_its_bound_is_null(params):
    update = {"max_mean_absolute_difference": None}
    cfg = params.model_copy(update={"shadow": params.shadow.model_copy(update=update)})
    verdict = shadow_gate(log_rows(difference=5.0), cfg{{ judged }})
    assert verdict.passed and "mean absolute difference from the champion" not in states(verdict)
    assert "mean absolute difference from the champion: 5.0 (not judged)" in verdict.notes
{%- if cookiecutter.__fairness %}


def test_fairness_turned_off_on_purpose_is_said(params):
    cfg = params.model_copy(update={"shadow": params.shadow.model_copy(update={"fairness": False})})
    verdict = shadow_gate(log_rows(), cfg)
    assert verdict.passed and "fairness: off (shadow.fairness, gates.fairness)" in verdict.notes
{%- endif %}
{%- else -%}
def log_rows(n=600, agree=0.9, errors=0, groups=None, seed=0) -> pd.DataFrame:
    """n rows answered by champion m:1 with m:2 in shadow; the shadow flips a share 1 - agree of the labels."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    flip = rng.random(n) >= agree
    rows = pd.DataFrame(
        {
            "label": label,
            "probability_1": rng.random(n),
            "model_version": "m:1",
            "shadow_label": np.where(flip, 1 - label, label).astype(float),
            "shadow_probability_1": rng.random(n),
            "shadow_model_version": "m:2",
            "shadow_error": None,
        }
    )
    rows.loc[: errors - 1, ["shadow_label", "shadow_probability_1"]] = np.nan
    rows.loc[: errors - 1, "shadow_error"] = "refused"
    if groups is not None:
        rows["sex"] = groups
    return rows


def states(verdict) -> dict[str, str]:
    return {c.name.split(" by ")[0]: c.state for c in verdict.checks}


def test_enough_agreeing_traffic_passes{{ "_when_fairness_is_judged_on_a_labelled_batch" if cookiecutter.__fairness }}(params):
    verdict = shadow_gate(log_rows(), {{ classes }}params{{ judged }})
    assert verdict.passed, verdict.summary()
{%- if cookiecutter.__fairness %}
    assert any("judged on the labelled batch instead" in note for note in verdict.notes)


def test_without_the_groups_in_the_log_or_a_labelled_batch_fairness_is_not_judged_and_the_report_fails(params):
    verdict = shadow_gate(log_rows(), CLASSES, params)
    assert not verdict.passed and states(verdict)["selection-rate spread"] == "not judged"
    assert "give a labelled batch (--batch)" in verdict.summary()
{%- endif %}


@pytest.mark.parametrize(
    "rows, failed",
    [
        (log_rows(n=100), "records scored in shadow"),
        (log_rows(errors=3), "share it could not score"),
        (log_rows(agree=0.5), "agreement with the champion"),
    ],
)
def test_too_little_traffic_refused_records_or_disagreement_fail_by_how_much(params, rows, failed):
    verdict = shadow_gate(rows, {{ classes }}params{{ judged }})
    assert [c.name for c in verdict.checks if c.state == "failed"] == [failed]
    assert any(line.startswith(failed) and "off by" in line for line in verdict.failures)


def test_agreement_is_reported_not_judged_when_turned_off(params):
    cfg = params.model_copy(update={"shadow": params.shadow.model_copy(update={"min_agreement": None})})
    verdict = shadow_gate(log_rows(agree=0.5), {{ classes }}cfg{{ judged }})
    assert verdict.passed and "agreement with the champion" not in states(verdict)
    assert any(note.startswith("agreement with the champion: 0.") for note in verdict.notes)
{%- if cookiecutter.__fairness %}


def test_a_challenger_that_selects_one_group_far_more_often_fails_fairness_on_traffic(params):
    rows = log_rows(agree=1.0, groups=np.array(["f", "m"] * 300))
    rows["shadow_label"] = np.where(rows["sex"] == "f", 1.0, rows["shadow_label"])  # every "f" selected
    feature = params.data.sensitive_features[0]
    rows = rows.rename(columns={"sex": feature})
    cfg = params.model_copy(update={"shadow": params.shadow.model_copy(update={"min_agreement": None})})
    verdict = shadow_gate(rows, CLASSES, cfg)
    (check,) = [c for c in verdict.checks if c.name == f"selection-rate spread by {feature}"]
    assert check.state == "failed" and check.value > 0.3, verdict.summary()


def test_groups_smaller_than_min_group_size_are_shown_not_judged():
    labels = pd.Series([1, 0] * 50 + [1] * 5)
    groups = pd.Series(["a"] * 50 + ["b"] * 50 + ["c"] * 5)
    spread, rates = selection_spread(labels, groups, CLASSES, min_rows=30)
    assert spread == pytest.approx(0.0) and rates["c"] == 1.0
    assert selection_spread(labels, groups, CLASSES, min_rows=60) == (None, rates)
{%- endif %}
{%- endif %}


def test_only_rows_of_this_champion_with_this_challenger_in_shadow_are_judged():
    other_challenger = log_rows(n=5).assign(shadow_model_version="m:3")
    other_champion = log_rows(n=4).assign(model_version="m:0")
    rows = pd.concat([log_rows(n=10), other_challenger, other_champion])
    assert len(shadow_rows(rows, "m:1", "m:2")) == 10
    assert shadow_rows(rows.drop(columns=[c for c in rows if c.startswith("shadow_")]), "m:1", "m:2").empty


{% if cookiecutter.task == "tabular_regression" -%}
def test_score_summary_compares_both_distributions():
    same = log_rows(n=200, difference=0.0)
    assert score_summary(same)["wasserstein.value"] == pytest.approx(0.0)
    summary = score_summary(log_rows(n=200).assign(shadow_value=lambda f: f["value"] + 2.0))
    assert summary["wasserstein.value"] == pytest.approx(2.0)
    assert summary["challenger.value.mean"] == pytest.approx(summary["champion.value.mean"] + 2.0)
{%- else -%}
def test_score_summary_compares_both_distributions():
    same = log_rows(n=200).assign(shadow_probability_1=lambda f: f["probability_1"])
    assert score_summary(same)["wasserstein.probability_1"] == pytest.approx(0.0)
    assert score_summary(log_rows(n=200))["wasserstein.probability_1"] > 0.01
{%- endif %}

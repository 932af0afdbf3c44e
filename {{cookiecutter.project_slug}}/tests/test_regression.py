{% if cookiecutter.__fairness -%}
"""The regression task: its target encoding, training, metrics, group losses and the fairness gate on them, and the
reports; what the shared modules' tests cover for a classifier."""

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import FairnessGate, GatesConfig, PerformanceGate, TrainingConfig
from {{ cookiecutter.module_name }}.gates import reports
from {{ cookiecutter.module_name }}.gates.fairness import fairness_gate, group_tables
{%- else -%}
"""The regression task: its target encoding, training, metrics, and the reports; what the shared modules' tests cover
for a classifier."""

import numpy as np
import pytest

from {{ cookiecutter.module_name }}.config import GatesConfig, PerformanceGate, TrainingConfig
from {{ cookiecutter.module_name }}.gates import reports
{%- endif %}
from {{ cookiecutter.module_name }}.gates.judge import champion_gate, run_gates
from {{ cookiecutter.module_name }}.pipeline.data import DataError, validate_table
from {{ cookiecutter.module_name }}.pipeline.evaluation import predict_values, regression_metrics
from {{ cookiecutter.module_name }}.pipeline.tasks import task
from {{ cookiecutter.module_name }}.pipeline.training import fit, seed_everything, weights_to_bytes


def test_the_target_is_standardised_for_training_and_decoded_back(demo_frame, params):
    columns = validate_table(demo_frame, params.data)
    encoder = task.encoder_from_state(task.fit_encoder(demo_frame, columns, params).state())  # a JSON round trip
    y = encoder.encode_target(demo_frame[params.data.target])
    assert y.dtype == np.float32 and abs(y.mean()) < 1e-5 and y.std() == pytest.approx(1, abs=1e-4)
    assert encoder.decode(y) == pytest.approx(demo_frame[params.data.target].to_numpy(), abs=1e-4)


def test_a_target_that_is_not_a_number_is_refused_with_its_rows(demo_frame, params):
    frame = demo_frame.copy()
    frame[params.data.target] = frame[params.data.target].astype(object)
    frame.loc[:2, params.data.target] = "high"
    with pytest.raises(DataError, match=f"target {params.data.target!r} is not a number in 3 rows"):
        validate_table(frame, params.data)


def _train(demo_frame, params, seed: int):
    columns = validate_table(demo_frame, params.data)
    encoder = task.fit_encoder(demo_frame, columns, params)
    x, y = encoder.transform(demo_frame), encoder.encode_target(demo_frame[params.data.target])
    seed_everything(seed)
    network = task.build_network(encoder, params.model)
    cfg = TrainingConfig(max_epochs=15, batch_size=64, learning_rate=0.01, accelerator="cpu", patience=None)
    info = fit(network, (x[:500], y[:500]), (x[500:], y[500:]), cfg, seed)
    return network, encoder, info


def test_training_is_deterministic_on_cpu_and_learns_the_target(demo_frame, params):
    network, encoder, info = _train(demo_frame, params, seed=3)
    again, _, _ = _train(demo_frame, params, seed=3)
    assert weights_to_bytes(network) == weights_to_bytes(again)
    assert "val_accuracy" not in info["history"][0] and info["monitor"] == "val_loss"
    held_out = demo_frame.iloc[500:]
    predicted = predict_values(network, encoder.transform(held_out), encoder)
    assert regression_metrics(held_out[params.data.target], predicted)["r2"] > 0.5


def test_metrics_are_in_the_target_units():
    metrics = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 2.0]))
    assert metrics == pytest.approx({"rmse": 5**0.5 / 2, "mae": 0.75, "mean_error": -0.25, "r2": 0.0})
    assert np.isnan(regression_metrics(np.array([1.0]), np.array([1.0]))["r2"])  # not judged, never passed
{%- if cookiecutter.__fairness %}


SEX = pd.DataFrame({"sex": ["f"] * 40 + ["m"] * 40})
Y_TRUE = np.tile([10.0, 20.0], 40)


def test_groups_are_judged_on_their_loss_ratio_and_mean_error_spread():
    y_pred = Y_TRUE + np.r_[np.tile([3.0, -3.0], 20), np.tile([1.0, -1.0], 20)]  # f errs 3 either way, m errs 1
    tables = group_tables(Y_TRUE, y_pred, SEX, intersections=False)
    table = tables["sex"]
    assert table.loc["f", "mae"] == 3 and table.loc["m", "mae"] == 1 and table["count"].tolist() == [40, 40]
    assert table.loc["f", "mae_low"] == table.loc["f", "mae_high"] == 3  # no spread: the interval is the value
    verdict = fairness_gate(tables, FairnessGate(max_mae_ratio=1.25, max_mean_error_difference=0.5), "rmse")
    assert not verdict.passed
    assert "group MAE ratio, highest / lowest [sex] = 3.0000 on 80 rows, needs <= 1.25" in verdict.failures[0]
    assert "mean error difference between groups [sex] = 0.0000 on 80 rows <= 0.5" in verdict.summary()


def test_group_differences_are_decided_on_their_bootstrap_interval():
    """Each group errs by a noisy amount: the MAE ratio's interval holds its value, and a bound inside that interval
    cannot be decided (not judged, failing), while one above it passes."""
    rng = np.random.default_rng(0)
    y_pred = Y_TRUE + rng.normal(scale=np.r_[np.full(40, 2.0), np.full(40, 1.0)])

    def verdict(bound: float):
        gates = GatesConfig(resamples=300, fairness=FairnessGate(max_mae_ratio=bound))
        tables = group_tables(Y_TRUE, y_pred, SEX, False, gates)
        return tables["sex"].attrs["intervals"]["mae ratio"], fairness_gate(tables, gates.fairness, "rmse", gates)

    (low, high), passed = verdict(10.0)
    assert low < passed.checks[0].value < high < 10 and passed.passed
    straddled = verdict((low + high) / 2)[1]
    assert not straddled.passed and "its interval straddles" in straddled.failures[0]


def test_a_group_the_model_under_predicts_fails_the_mean_error_check():
    y_pred = Y_TRUE + np.r_[np.full(40, -2.0), np.full(40, 2.0)]  # same MAE, opposite directions
    verdict = fairness_gate(group_tables(Y_TRUE, y_pred, SEX, False), FairnessGate(max_mean_error_difference=1), "mae")
    assert [c.name for c in verdict.checks if not c.passed] == ["mean error difference between groups [sex]"]
    assert verdict.checks[1].value == 4


def test_small_groups_are_not_judged_and_nothing_judged_fails():
    tables = group_tables(Y_TRUE[:20], Y_TRUE[:20], SEX.iloc[30:50], False)  # 10 f, 10 m
    verdict = fairness_gate(tables, FairnessGate(min_group_size=30), "rmse")
    assert not verdict.passed and "too small to judge" in verdict.notes[0]
{%- else %}


Y_TRUE = np.tile([10.0, 20.0], 40)
{%- endif %}


def test_champion_gate_holds_rmse_lower_is_better():
    champion = {"version": "2", "metrics": {"rmse": 2.0, "r2": 0.8}}

    def rule(primary: str) -> GatesConfig:
        return GatesConfig(primary_metric=primary, decide_on="point")

    assert champion_gate({"rmse": 2.005}, champion, rule("rmse")).passed
    assert not champion_gate({"rmse": 2.5}, champion, rule("rmse")).passed
    assert not champion_gate({"r2": 0.7}, champion, rule("r2")).passed  # higher is better


{% if cookiecutter.__fairness -%}
def test_reports_show_each_group_loss_with_its_interval():
    y_pred = Y_TRUE + np.tile([1.0, -2.0, 0.5, 0.0], 20)
    tables = group_tables(Y_TRUE, y_pred, SEX, False)
    cfg = GatesConfig(performance=PerformanceGate(max={"rmse": 0.5}), decide_on="point")
    verdicts = [v.as_dict() for v in run_gates(regression_metrics(Y_TRUE, y_pred), tables, None, cfg, set())]
    shown = reports.display_table(tables["sex"])
    assert shown.loc["f", "mae"].startswith("0.875 [")  # the mean with its 95% interval
    figures = reports.charts(tables, "rmse", cfg.fairness)
    assert all(png.startswith(b"\x89PNG") for png in figures.values())
    data = {"path": "data/x.csv", "rev": "workspace", "md5": "ab" * 16, "pinned": True}
    card = reports.model_card("d", data, 80, {"rmse": 1.1}, tables, verdicts, {"target": "limit"})
    assert "Predicts `limit` in its own units" in card and "t-intervals of the mean absolute error" in card
{%- else -%}
def test_reports_show_the_verdict_and_the_target():
    y_pred = Y_TRUE + np.tile([1.0, -2.0, 0.5, 0.0], 20)
    cfg = GatesConfig(performance=PerformanceGate(max={"rmse": 0.5}), decide_on="point")
    verdicts = [v.as_dict() for v in run_gates(regression_metrics(Y_TRUE, y_pred), None, cfg, set())]
    assert "Gates FAILED" in reports.html_report(verdicts)
    data = {"path": "data/x.csv", "rev": "workspace", "md5": "ab" * 16, "pinned": True}
    card = reports.model_card("d", data, 80, {"rmse": 1.1}, verdicts, {"target": "limit"})
    assert "Predicts `limit` in its own units" in card and "Fairness was not assessed" in card
{%- endif %}
    assert "FAIL rmse = " in card

"""training.sweep: which candidate is kept, and which sweeps are refused before any training."""

import math

import pytest
import yaml

from {{ cookiecutter.module_name }}.config import ConfigError, parse, validate, with_candidate
from {{ cookiecutter.module_name }}.pipeline.sweep import NoCandidate, comparison, select_best, table_text

from .conftest import ROOT
{% if cookiecutter.task == "text_classification" %}
MODEL_KEY, MODEL_VALUES = "model.freeze_encoder", [True, False]
{%- else %}
MODEL_KEY, MODEL_VALUES = "model.hidden_sizes", [[16], [64, 32]]
{%- endif %}


def _raw(sweep=None):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["training"]["sweep"] = sweep
    return raw


def _result(value, epoch=1):
    return {"best_value": value, "best_epoch": epoch, "epochs_run": epoch}


@pytest.mark.parametrize(
    ("values", "monitor", "kept"),
    [
        ([0.40, 0.30, 0.35], "val_loss", 1),  # lowest loss
{%- if cookiecutter.task != "tabular_regression" %}
        ([0.70, 0.80, 0.75], "val_accuracy", 1),  # highest accuracy
{%- endif %}
        ([0.30, 0.30, 0.30], "val_loss", 0),  # a tie goes to the earlier candidate
{%- if cookiecutter.task != "tabular_regression" %}
        ([0.50, 0.81, 0.81], "val_accuracy", 1),
{%- endif %}
        ([math.nan, 0.90, None], "val_loss", 1),  # no value or NaN never wins
    ],
)
def test_select_best_by_the_monitor_and_its_direction(values, monitor, kept):
    assert select_best([_result(v) for v in values], monitor) == kept


def test_no_comparable_candidate_is_a_verdict():
    with pytest.raises(NoCandidate, match="val_loss on the validation split"):
        select_best([_result(None), _result(math.nan)], "val_loss")


def test_grid_is_every_combination_in_order():
    sweep = {"grid": {"training.learning_rate": [0.001, 0.01], MODEL_KEY: MODEL_VALUES}}
    settings = validate(_raw(sweep)).training.sweep.settings()
    assert settings == [
        {"training.learning_rate": lr, MODEL_KEY: value} for lr in (0.001, 0.01) for value in MODEL_VALUES
    ]


def test_a_candidate_trains_with_its_values_and_no_sweep():
    params = validate(_raw({"candidates": [{"training.learning_rate": 0.02, MODEL_KEY: MODEL_VALUES[0]}]}))
    chosen = with_candidate(params, params.training.sweep.settings()[0])
    assert chosen.training.learning_rate == 0.02 and getattr(chosen.model, MODEL_KEY.split(".")[1]) == MODEL_VALUES[0]
    assert chosen.training.sweep is None and chosen.training.max_epochs == params.training.max_epochs
    assert with_candidate(params, None) is params


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"grid": {"training.learning_rte": [0.1]}}, r"cannot sweep training.learning_rte; sweepable: training\."),
        ({"grid": {"training.monitor": ["val_loss"]}}, "cannot sweep training.monitor"),
        ({"grid": {"data.target": ["x"]}}, "cannot sweep data.target"),
        ({"grid": {"training.learning_rate": []}}, "grid training.learning_rate: give at least one value"),
        ({"grid": {}}, "give either grid"),
        ({"grid": {"training.batch_size": [8]}, "candidates": [{"training.batch_size": 16}]}, "give either grid"),
        ({"candidates": [{}]}, "a candidate sets nothing"),
        ({"grid": {"training.learning_rate": [0.1, 0.1]}}, "candidate 2 repeats candidate 1"),
        ({"grid": {"training.learning_rate": [0.01, -1]}}, r"candidate 2: training.learning_rate: .*greater than 0"),
        ({"candidates": [{"training.max_epochs": 0}]}, r"candidate 1: training.max_epochs: .*\(got 0\)"),
        ({"grid": {"training.batch_size": list(range(1, 34))}}, "33 candidates: at most 32"),
        ({"grid": {"training.learning_rate": [0.01]}, "seeds": [1]}, "training.sweep.seeds: Extra inputs"),
    ],
)
def test_bad_sweeps_are_refused_at_start_up(sweep, message):
    with pytest.raises(ConfigError, match=message):
        parse(yaml.safe_dump(_raw(sweep)))


def test_a_sweep_needs_a_validation_split():
    raw = _raw({"grid": {"training.learning_rate": [0.01, 0.02]}})
    raw["split"]["validation_size"] = 0
    with pytest.raises(ConfigError, match="compares candidates on the validation split"):
        parse(yaml.safe_dump(raw))


def test_comparison_table_marks_the_kept_candidate():
    settings = [{"training.learning_rate": 0.1}, {"training.learning_rate": 0.2}]
    candidates = [{"number": n, "settings": s, "weights_sha256": f"h{n}"} for n, s in enumerate(settings, 1)]
    rows = comparison(candidates, [_result(0.5, 3), _result(0.4, 2)], 1, "val_loss")
    assert [row["kept"] for row in rows] == [False, True] and rows[1]["weights_sha256"] == "h2"
    text = table_text(rows, "val_loss")
    assert "| 2 | training.learning_rate=0.2 | 0.4000 | 2 | 2 | yes |" in text.splitlines()

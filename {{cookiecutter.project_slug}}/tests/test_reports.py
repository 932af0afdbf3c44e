{% if cookiecutter.__fairness -%}
import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.config import FairnessGate, GatesConfig, PerformanceGate
from {{ cookiecutter.module_name }}.gates import reports
from {{ cookiecutter.module_name }}.gates.fairness import group_tables
from {{ cookiecutter.module_name }}.gates.judge import run_gates

Y = np.array([1, 0, 1, 0, 1, 1, 0, 0])
PROBA = np.stack([0.9 - Y * 0.8, Y * 0.8 + 0.1], axis=1)
TABLES = group_tables(Y, Y, PROBA, pd.DataFrame({"sex": ["f", "m"] * 4}), "roc_auc", False, [0, 1])
CFG = GatesConfig(
    performance=PerformanceGate(min={"roc_auc": 0.99}), fairness=FairnessGate(min_group_size=1), decide_on="point"
)
VERDICTS = [v.as_dict() for v in run_gates({"roc_auc": 0.9}, TABLES, None, CFG, skip=set())]
{%- else -%}
from {{ cookiecutter.module_name }}.config import GatesConfig, PerformanceGate
from {{ cookiecutter.module_name }}.gates import reports
from {{ cookiecutter.module_name }}.gates.judge import run_gates

CFG = GatesConfig(performance=PerformanceGate(min={"roc_auc": 0.99}), decide_on="point")
VERDICTS = [v.as_dict() for v in run_gates({"roc_auc": 0.9}, None, CFG, skip=set())]
{%- endif %}


def test_verdict_comes_first_and_names_failures():
    lines = reports.verdict_lines(VERDICTS)
    assert lines[0] == "Gates FAILED"
    assert "  FAIL roc_auc = 0.9000, needs >= 0.99 (off by 0.0900)" in lines
    assert "performance: FAILED (1 judged)" in lines
{%- if cookiecutter.__fairness %}


def test_group_rates_show_their_interval():
    shown = reports.display_table(TABLES["sex"])
    assert shown.loc["f", "selection_rate"] == "0.750 [0.30, 0.95]"  # 3 of 4 rows: hardly known


def test_html_report_embeds_tables_and_charts():
    figures = reports.charts(TABLES, "roc_auc", CFG.fairness)
    assert all(png.startswith(b"\x89PNG") for png in figures.values())
    page = reports.html_report(VERDICTS, TABLES, figures)
    assert "Gates FAILED" in page and "Groups by sex" in page and "data:image/png;base64," in page
    assert "false_positives" in page  # the confusion matrix per group
{%- else %}


def test_html_report_shows_the_verdict():
    assert "Gates FAILED" in reports.html_report(VERDICTS)
{%- endif %}


DATA = {"path": "data/x.csv", "rev": "workspace", "md5": "ab" * 16, "pinned": True}
BINARY = {"classes": ["no", "yes"], "threshold": 0.4}


def test_model_card_has_every_section():
    training = {"best_epoch": 4, "epochs_run": 7, "monitor": "val_loss", "best_value": 0.31, "stopped_early": True}
    training |= {"accelerator": "cpu", "precision": "32-true"}
    card = reports.model_card(
        "Scores loan applications.", DATA, 800, {"roc_auc": 0.9}, {{ "TABLES, " if cookiecutter.__fairness }}VERDICTS, {{ "{}, " if cookiecutter.mitigation }}BINARY, training=training
    )
    for heading in (
        "## Intended use",
        "## Training data",
        "## Test metrics",
{%- if cookiecutter.__fairness %}
        "## Fairness by group",
{%- endif %}
        "## Gate verdicts",
        "## Limitations",
    ):
        assert heading in card
{%- if cookiecutter.__fairness %}
    assert "md5 `" + "ab" * 16 + "`, 800 rows" in card and "| group | count |" in card
{%- else %}
    assert "md5 `" + "ab" * 16 + "`, 800 rows" in card
{%- endif %}
    assert "positive class `yes`" in card and "P(yes) >= 0.4" in card
    assert "weights of epoch 4 of 7 run (best validation val_loss (0.3100); stopped early)" in card


def test_model_card_of_a_multiclass_model_lists_every_class():
    per_class = {c: {"precision": 0.5, "recall": 0.6, "f1": 0.55, "support": 10} for c in ("a", "b", "c")}
    decision = {"classes": ["a", "b", "c"], "threshold": 0.5}
    card = reports.model_card("Scores.", DATA, 90, {"f1": 0.55}, {{ "TABLES, " if cookiecutter.__fairness }}VERDICTS, {{ "{}, " if cookiecutter.mitigation }}decision, per_class)
    assert "3 classes (`a`, `b`, `c`)" in card and "### Per class" in card and "| c | 0.5 | 0.6 |" in card


def test_model_card_says_fairness_was_not_assessed():
    card = reports.model_card("Scores.", DATA, 90, {"f1": 0.55}, {{ "{}, " if cookiecutter.__fairness }}VERDICTS, {{ "{}, " if cookiecutter.mitigation }}BINARY)
    assert "Fairness was not assessed" in card

{%- if cookiecutter.mitigation %}


def test_model_card_says_when_decisions_are_mitigated():
    mitigation = {"constraints": "demographic_parity", "objective": "accuracy_score", "groups": {"sex": ["f", "m"]}}
    cross_fit = mitigation | {"fit_on": "cross_fit", "folds": 5}
    card = reports.model_card("Scores.", DATA, 800, {"roc_auc": 0.9}, TABLES, VERDICTS, cross_fit, BINARY)
    assert "ThresholdOptimizer (demographic_parity" in card and "Requests must name sex" in card
    assert "fitted on cross-fitted scores: 5 networks trained like this one" in card
    assert "thresholds.json" in card and "same decision alone or in a batch" in card
    card = reports.model_card("S.", DATA, 800, {}, TABLES, VERDICTS, mitigation | {"fit_on": "validation"}, BINARY)
    assert "fitted on the validation split's scores: rows the network did not train on" in card
{%- endif %}

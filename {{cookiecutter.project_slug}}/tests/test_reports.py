import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }} import reports
from {{ cookiecutter.module_name }}.config import FairnessGate, GatesConfig, PerformanceGate
from {{ cookiecutter.module_name }}.fairness import group_tables
from {{ cookiecutter.module_name }}.gates import run_gates

Y = np.array([1, 0, 1, 0, 1, 1, 0, 0])
TABLES = group_tables(Y, Y, Y * 0.8 + 0.1, pd.DataFrame({"sex": ["f", "m"] * 4}), "roc_auc", intersections=False)
CFG = GatesConfig(performance=PerformanceGate(min={"roc_auc": 0.99}), fairness=FairnessGate(min_group_size=1))
VERDICTS = [v.as_dict() for v in run_gates({"roc_auc": 0.9}, TABLES, None, CFG, skip=set())]


def test_verdict_comes_first_and_names_failures():
    lines = reports.verdict_lines(VERDICTS)
    assert lines[0] == "Gates FAILED"
    assert "  FAIL roc_auc = 0.9000, needs >= 0.99 (off by 0.0900)" in lines


def test_html_report_embeds_tables_and_charts():
    figures = reports.charts(TABLES, "roc_auc", CFG.fairness)
    assert all(png.startswith(b"\x89PNG") for png in figures.values())
    page = reports.html_report(VERDICTS, TABLES, figures)
    assert "Gates FAILED" in page and "Groups by sex" in page and "data:image/png;base64," in page
    assert "false_positives" in page  # the confusion matrix per group


def test_model_card_has_every_section():
    data = {"path": "data/x.csv", "rev": "workspace", "md5": "ab" * 16, "pinned": True}
    card = reports.model_card("Scores loan applications.", data, 800, {"roc_auc": 0.9}, TABLES, VERDICTS, {})
    for heading in (
        "## Intended use",
        "## Training data",
        "## Test metrics",
        "## Fairness by group",
        "## Gate verdicts",
        "## Limitations",
    ):
        assert heading in card
    assert "md5 `" + "ab" * 16 + "`, 800 rows" in card and "| group | count |" in card


def test_model_card_says_when_decisions_are_mitigated():
    data = {"path": "data/x.csv", "rev": "workspace", "md5": "ab" * 16, "pinned": True}
    mitigation = {"constraints": "demographic_parity", "objective": "accuracy_score", "groups": {"sex": ["f", "m"]}}
    card = reports.model_card("Scores.", data, 800, {"roc_auc": 0.9}, TABLES, VERDICTS, mitigation)
    assert "ThresholdOptimizer (demographic_parity" in card and "Requests must name sex" in card

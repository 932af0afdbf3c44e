{#- the metric names these tests use, in this task's vocabulary (lower is better: log_loss, rmse) #}
{%- if cookiecutter.task == "tabular_regression" %}
{%- set m = {"roc_auc": "r2", "accuracy": "mean_error", "log_loss": "rmse", "f1": "r2", "recall": "mean_error"} %}
{%- else %}
{%- set m = {"roc_auc": "roc_auc", "accuracy": "accuracy", "log_loss": "log_loss", "f1": "f1", "recall": "recall"} %}
{%- endif -%}
import pytest

from {{ cookiecutter.module_name }}.config import GatesConfig, PerformanceGate
from {{ cookiecutter.module_name }}.gates.evidence import bootstrap, paired_difference, scored
from {{ cookiecutter.module_name }}.gates.judge import (
    Check,
    GateFailed,
    Verdict,
    champion_gate,
    enforce,
    parse_skip,
    performance_gate,
    run_gates,
)
from {{ cookiecutter.module_name }}.pipeline.evaluation import score


def rule(primary: str, tolerance: float = 0.01, **more) -> GatesConfig:
    """Gate settings for the champion tests: decided on the point value unless `more` says otherwise."""
    return GatesConfig(primary_metric=primary, champion={"tolerance": tolerance}, **({"decide_on": "point"} | more))


def test_passes_when_every_bound_holds():
    bounds = PerformanceGate(min={"{{ m.roc_auc }}": 0.8}, max={"{{ m.log_loss }}": 0.5})
    verdict = performance_gate({"{{ m.roc_auc }}": 0.9, "{{ m.log_loss }}": 0.3}, bounds)
    assert verdict.passed and not verdict.failures


def test_failure_names_metric_value_threshold_and_margin():
    bounds = PerformanceGate(min={"{{ m.roc_auc }}": 0.8, "{{ m.accuracy }}": 0.5})
    verdict = performance_gate({"{{ m.roc_auc }}": 0.7, "{{ m.accuracy }}": 0.9}, bounds)
    assert not verdict.passed
    assert verdict.failures == ["{{ m.roc_auc }} = 0.7000, needs >= 0.8 (off by 0.1000)"]
    assert "{{ m.roc_auc }} = 0.7000, needs >= 0.8 (off by 0.1000)" in verdict.summary()


def test_unknown_metric_name_is_refused_by_the_config():
    with pytest.raises(ValueError, match="auprc"):
        PerformanceGate(min={"auprc": 0.5})


def test_undefined_metric_is_not_judged_and_fails_closed():
    verdict = performance_gate({"{{ m.roc_auc }}": float("nan")}, PerformanceGate(min={"{{ m.roc_auc }}": 0.5}))
    assert not verdict.passed and "[not judged] {{ m.roc_auc }}: not judged" in verdict.summary()
    assert "FAILED (0 judged, 1 not judged)" in verdict.summary()


def test_lenient_gate_passes_with_some_checks_not_judged_and_says_so():
    checks = [Check("a", 0.1, 0.2, "<="), Check("b", 0.9, 0.5, ">="), Check("c", None, 0.2, "<=", "too few")]
    verdict = Verdict("fairness", checks, strict=False, require_judgement=True)
    assert verdict.passed and verdict.headline() == "PASSED (2 judged, 1 not judged)"
    assert "c: not judged (too few; needs <= 0.2)" in verdict.summary()


def test_gate_with_nothing_judged_fails_when_judgement_is_required():
    checks = [Check("a", None, 0.2, "<=", "too few")]
    assert not Verdict("fairness", checks, strict=False, require_judgement=True).passed
    assert Verdict("fairness", checks, strict=False, require_judgement=False).passed  # turned off on purpose


def test_verdict_serialises_every_check():
    data = performance_gate({"{{ m.f1 }}": 0.4}, PerformanceGate(min={"{{ m.f1 }}": 0.5})).as_dict()
    assert data == {
        "gate": "performance",
        "passed": False,
        "skipped": False,
        "disabled": False,
        "headline": "FAILED (1 judged)",
        "checks": [
            {
                "name": "{{ m.f1 }}",
                "value": 0.4,
                "threshold": 0.5,
                "op": ">=",
                "reason": "",
                "low": None,
                "high": None,
                "rows": None,
                "by_interval": False,
                "state": "failed",
                "passed": False,
                "detail": "{{ m.f1 }} = 0.4000, needs >= 0.5 (off by 0.1000)",
            }
        ],
        "notes": [],
        "failures": ["{{ m.f1 }} = 0.4000, needs >= 0.5 (off by 0.1000)"],
    }


def test_champion_gate_first_model_passes_with_a_note():
    verdict = champion_gate({"{{ m.roc_auc }}": 0.7}, None, rule("{{ m.roc_auc }}"))
    assert verdict.passed and "no champion yet" in verdict.notes[0]


def test_champion_gate_tolerates_a_small_drop_and_blocks_a_larger_one():
    champion = {"version": "3", "metrics": {"{{ m.roc_auc }}": 0.90, "{{ m.log_loss }}": 0.30}}
    assert champion_gate({"{{ m.roc_auc }}": 0.895}, champion, rule("{{ m.roc_auc }}")).passed
    worse = champion_gate({"{{ m.roc_auc }}": 0.85}, champion, rule("{{ m.roc_auc }}"))
    assert not worse.passed and "{{ m.roc_auc }} difference vs champion v3 = -0.0500, needs >= -0.01" in worse.summary()
    assert not champion_gate({"{{ m.log_loss }}": 0.40}, champion, rule("{{ m.log_loss }}", 0.05)).passed  # lower is better
    assert champion_gate({"{{ m.log_loss }}": 0.33}, champion, rule("{{ m.log_loss }}", 0.05)).passed


def test_champion_gate_compares_both_models_on_the_rows_neither_trained_on():
    """champion.py scores both models on the test rows outside the champion's own training and validation splits:
    the challenger's figure on those rows is the one compared, and the verdict says how many rows that was."""
    champion = {"version": "3", "metrics": {"{{ m.roc_auc }}": 0.90}, "challenger_metrics": {"{{ m.roc_auc }}": 0.88}}
    verdict = champion_gate({"{{ m.roc_auc }}": 0.95}, champion | {"rows": 280, "left_out": 20}, rule("{{ m.roc_auc }}"))
    assert not verdict.passed and "vs champion v3 = -0.0200 on 280 rows, needs >= -0.01" in verdict.summary()
    assert "compared on 280 test rows neither model trained on (20 left out" in verdict.notes[0]


def test_champion_gate_decides_on_the_paired_interval_and_wants_enough_rows():
    """Not worse than the champion means the whole interval of the difference clears the tolerance: one that
    straddles it is not judged, and fails unless gates.undecided is report. Too few rows: not comparable."""
    champion = {"version": "3", "metrics": {"{{ m.roc_auc }}": 0.90}, "rows": 500, "left_out": 0}
    ours = {"{{ m.roc_auc }}": 0.91}
    clear = champion_gate(ours, champion | {"difference": (0.001, 0.02)}, rule("{{ m.roc_auc }}", decide_on="interval"))
    assert clear.passed and "= 0.0100 [0.0010, 0.0200] on 500 rows >= -0.01" in clear.summary()
    unsure = champion | {"difference": (-0.03, 0.05)}
    undecided = champion_gate(ours, unsure, rule("{{ m.roc_auc }}", decide_on="interval"))
    assert not undecided.passed and "its interval straddles >= -0.01" in undecided.failures[0]
    assert champion_gate(ours, unsure, rule("{{ m.roc_auc }}", decide_on="interval", undecided="report")).passed
    assert champion_gate(ours, unsure, rule("{{ m.roc_auc }}")).passed  # decide_on: point
    few = champion_gate(ours, champion | {"rows": 40, "difference": (0.001, 0.02)}, rule("{{ m.roc_auc }}"))
    assert not few.passed and "40 rows < champion.min_rows 100" in few.failures[0]


def test_performance_gate_decides_on_the_interval_and_wants_enough_rows():
    bounds = PerformanceGate(min={"{{ m.roc_auc }}": 0.8})
    interval_rule = GatesConfig(decide_on="interval")
    sure = {"{{ m.roc_auc }}": 0.9, "{{ m.roc_auc }}_low": 0.85, "{{ m.roc_auc }}_high": 0.94, "rows": 400}
    assert performance_gate(sure, bounds, interval_rule).passed
    unsure = sure | {"{{ m.roc_auc }}_low": 0.78}
    verdict = performance_gate(unsure, bounds, interval_rule)
    assert not verdict.passed and verdict.checks[0].state == "not judged" and verdict.checks[0].undecided
    assert "[0.7800, 0.9400] on 400 rows: not judged, its interval straddles >= 0.8" in verdict.failures[0]
    assert performance_gate(unsure, bounds, GatesConfig(undecided="report")).passed
    below = sure | {"{{ m.roc_auc }}_low": 0.6, "{{ m.roc_auc }}_high": 0.75}
    assert "needs >= 0.8 (off by 0.0500)" in performance_gate(below, bounds, interval_rule).failures[0]
    few = performance_gate(sure | {"rows": 9}, bounds, interval_rule)
    assert not few.passed and "not judged (9 rows < min_rows 100" in few.failures[0]
    assert "no interval" in performance_gate({"{{ m.roc_auc }}": 0.9}, bounds, interval_rule).failures[0]


def test_bootstrap_intervals_hold_the_value_and_narrow_with_more_rows():
    """Real scipy resampling of the task's own metrics: the interval holds the point value, more rows narrow it, and
    one model against itself differs by exactly nothing."""
    import numpy as np

    rng = np.random.default_rng(0)
    widths = []
    for rows in (100, 1600):
{%- if cookiecutter.task == "tabular_regression" %}
        y_true = rng.normal(size=rows)
        answers = {"y_true": y_true, "y_pred": y_true + rng.normal(scale=0.5, size=rows)}
{%- else %}
        y_true = rng.integers(0, 2, rows)
        p = np.clip(0.3 + 0.4 * y_true + rng.normal(scale=0.2, size=rows), 0.01, 0.99)
        answers = {"y_true": y_true, "y_pred": (p >= 0.5).astype(int), "proba": np.c_[1 - p, p]}
{%- endif %}
        metrics = scored(answers, score, GatesConfig(primary_metric="{{ m.roc_auc }}", resamples=200), seed=0)
        low, high = metrics["{{ m.roc_auc }}_low"], metrics["{{ m.roc_auc }}_high"]
        assert low <= metrics["{{ m.roc_auc }}"] <= high and metrics["rows"] == rows
        widths.append(high - low)
    assert widths[1] < widths[0] / 2
    same = paired_difference(answers, answers, score, "{{ m.roc_auc }}", GatesConfig(resamples=200), seed=0)
    assert same == (0.0, 0.0)
    assert all(np.isnan(bootstrap(lambda p: {"x": 1.0}, 1, GatesConfig(), 0)["x"]))  # one row: no interval


def test_rows_a_model_saw_are_left_out_whatever_the_file_typed_them_as():
    import pandas as pd

    from {{ cookiecutter.module_name }}.pipeline.trained_on import unseen

    rows = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "x", None], "y": [0, 1, 0, 1]})
    seen = pd.DataFrame({"a": [1.0, 4.0], "b": ["x", None], "y": [0, 1], "extra": [7, 7]})  # 1 read back as 1.0
    assert unseen(rows, [seen]).index.tolist() == [1, 2]
    assert unseen(rows, [seen.iloc[0:0]]).index.tolist() == [0, 1, 2, 3]


def test_champion_that_cannot_score_fails_closed():
    verdict = champion_gate({"{{ m.roc_auc }}": 0.99}, {"version": "2", "error": "KeyError: 'age'"}, rule("{{ m.roc_auc }}"))
    assert not verdict.passed and "vs champion v2: not judged (KeyError: 'age'" in verdict.failures[0]


def test_only_a_missing_model_or_alias_means_no_champion():
    from mlflow.exceptions import MlflowException
    from mlflow.protos import databricks_pb2 as codes

    from {{ cookiecutter.module_name }}.release.champion import no_champion

    def error(message, code):
        return MlflowException(message, error_code=code)

    assert no_champion(error("Registered Model with name=x not found", codes.RESOURCE_DOES_NOT_EXIST))
    assert no_champion(error("Registered model alias champion not found.", codes.INVALID_PARAMETER_VALUE))
    assert not no_champion(error("API request failed: connection refused", codes.INTERNAL_ERROR))
    assert not no_champion(error("Permission denied", codes.PERMISSION_DENIED))
    assert not no_champion(ConnectionError("server down"))


def test_champion_gate_fails_when_the_registry_cannot_be_read(tmp_path, monkeypatch):
    """A registry that does not answer is not "no champion": the gate blocks rather than let anything through."""
    import pandas as pd

    from {{ cookiecutter.module_name }}.release.champion import champion_metrics, pinned_champion

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    pinned = pinned_champion("model")
    found = champion_metrics("model", pinned, pd.DataFrame({"y": [0, 1]}), "y", {}, GatesConfig(), 0)
    assert found is pinned  # scoring passes the registry's error on, to fail the gate
    assert found["error"].startswith("registry error")
    assert not champion_gate({"{{ m.roc_auc }}": 1}, found, rule("{{ m.roc_auc }}")).passed


def test_a_run_without_a_pinned_champion_does_not_import_mlflow_to_evaluate():
    """start pins the champion (or none); evaluate then asks MLflow nothing, and pays no MLflow import (~3 s a run)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, pandas as pd\n"
        "from {{ cookiecutter.module_name }}.release.champion import champion_metrics\n"
        "assert champion_metrics('model', None, pd.DataFrame({'y': [0, 1]}), 'y', {}, None, 0) is None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))"
    )
    src = Path(__file__).resolve().parents[1] / "src"
    out = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_skipped_gate_is_recorded_not_absent():
    cfg = GatesConfig(performance=PerformanceGate(min={"{{ m.roc_auc }}": 0.99}))
    verdicts = run_gates({"{{ m.roc_auc }}": 0.5}, {{ "{}, " if cookiecutter.__fairness }}None, cfg, skip={"performance"})
    assert [v.gate for v in verdicts] == ["performance", {{ '"fairness", ' if cookiecutter.__fairness }}"champion"]
    assert verdicts[0].skipped and verdicts[0].passed and "SKIPPED" in verdicts[0].summary()
{%- if cookiecutter.__fairness %}


def test_disabled_gates_say_off():
    cfg = GatesConfig(fairness={"enabled": False}, champion={"enabled": False})
    _, fairness, champion = run_gates({"{{ m.roc_auc }}": 0.5}, {}, None, cfg, skip=set())
    assert fairness.summary().startswith("fairness gate OFF") and "not assessed" in fairness.notes[0]
    assert champion.headline() == "OFF" and champion.passed


def test_unknown_gate_name_is_refused():
    assert parse_skip(" fairness ,champion") == {"fairness", "champion"}
    with pytest.raises(ValueError, match="unknown gate"):
        parse_skip("fairnes")
{%- else %}


def test_disabled_gates_say_off():
    cfg = GatesConfig(champion={"enabled": False})
    _, champion = run_gates({"{{ m.roc_auc }}": 0.5}, None, cfg, skip=set())
    assert champion.headline() == "OFF" and champion.passed


def test_unknown_gate_name_is_refused():
    assert parse_skip(" performance ,champion") == {"performance", "champion"}
    with pytest.raises(ValueError, match="unknown gate"):
        parse_skip("fairness")
{%- endif %}


def test_enforce_lists_every_failed_check():
    bounds = PerformanceGate(min={"{{ m.f1 }}": 0.5, "{{ m.recall }}": 0.2})
    verdicts = [performance_gate({"{{ m.f1 }}": 0.4, "{{ m.recall }}": 0.1}, bounds).as_dict()]
    with pytest.raises(GateFailed) as err:
        enforce(verdicts)
    assert "performance: {{ m.f1 }} = 0.4000" in str(err.value) and "performance: {{ m.recall }} = 0.1000" in str(err.value)
    enforce([performance_gate({"{{ m.f1 }}": 0.6}, PerformanceGate(min={"{{ m.f1 }}": 0.5})).as_dict()])

import pytest

from {{ cookiecutter.module_name }}.config import GatesConfig, PerformanceGate
from {{ cookiecutter.module_name }}.gates import (
    GateFailed,
    champion_gate,
    enforce,
    parse_skip,
    performance_gate,
    run_gates,
)


def test_passes_when_every_bound_holds():
    verdict = performance_gate(
        {"roc_auc": 0.9, "log_loss": 0.3}, PerformanceGate(min={"roc_auc": 0.8}, max={"log_loss": 0.5})
    )
    assert verdict.passed and not verdict.failures


def test_failure_names_metric_value_threshold_and_margin():
    verdict = performance_gate(
        {"roc_auc": 0.7, "accuracy": 0.9}, PerformanceGate(min={"roc_auc": 0.8, "accuracy": 0.5})
    )
    assert not verdict.passed
    assert [c.name for c in verdict.failures] == ["roc_auc"]
    assert "roc_auc = 0.7000, needs >= 0.8 (off by 0.1000)" in verdict.summary()


def test_unreported_metric_fails_closed():
    verdict = performance_gate({"accuracy": 0.99}, PerformanceGate(min={"auprc": 0.5}))
    assert not verdict.passed and "auprc: not reported" in verdict.summary()


def test_verdict_serialises_every_check():
    data = performance_gate({"f1": 0.4}, PerformanceGate(min={"f1": 0.5})).as_dict()
    assert data == {
        "gate": "performance",
        "passed": False,
        "skipped": False,
        "checks": [
            {
                "name": "f1",
                "value": 0.4,
                "threshold": 0.5,
                "op": ">=",
                "passed": False,
                "detail": "f1 = 0.4000, needs >= 0.5 (off by 0.1000)",
            }
        ],
        "notes": [],
    }


def test_champion_gate_first_model_passes_with_a_note():
    verdict = champion_gate({"roc_auc": 0.7}, None, "roc_auc", 0.01)
    assert verdict.passed and "no champion yet" in verdict.notes[0]


def test_champion_gate_tolerates_a_small_drop_and_blocks_a_larger_one():
    champion = {"version": "3", "metrics": {"roc_auc": 0.90, "log_loss": 0.30}}
    assert champion_gate({"roc_auc": 0.895}, champion, "roc_auc", 0.01).passed
    worse = champion_gate({"roc_auc": 0.85}, champion, "roc_auc", 0.01)
    assert not worse.passed and "roc_auc vs champion v3 = 0.8500, needs >= 0.89" in worse.summary()
    assert not champion_gate({"log_loss": 0.40}, champion, "log_loss", 0.05).passed  # lower is better
    assert champion_gate({"log_loss": 0.33}, champion, "log_loss", 0.05).passed


def test_champion_that_cannot_score_fails_closed():
    verdict = champion_gate({"roc_auc": 0.99}, {"version": "2", "error": "KeyError: 'age'"}, "roc_auc", 0.01)
    assert not verdict.passed and "could not score" in verdict.notes[0]


def test_skipped_gate_is_recorded_not_absent():
    cfg = GatesConfig(performance=PerformanceGate(min={"roc_auc": 0.99}))
    verdicts = run_gates({"roc_auc": 0.5}, {}, None, cfg, skip={"performance"})
    assert [v.gate for v in verdicts] == ["performance", "fairness", "champion"]
    assert verdicts[0].skipped and verdicts[0].passed and "SKIPPED" in verdicts[0].summary()


def test_unknown_gate_name_is_refused():
    assert parse_skip(" fairness ,champion") == {"fairness", "champion"}
    with pytest.raises(ValueError, match="unknown gate"):
        parse_skip("fairnes")


def test_enforce_lists_every_failed_check():
    verdicts = [performance_gate({"f1": 0.4, "recall": 0.1}, PerformanceGate(min={"f1": 0.5, "recall": 0.2})).as_dict()]
    with pytest.raises(GateFailed) as err:
        enforce(verdicts)
    assert "performance: f1 = 0.4000" in str(err.value) and "performance: recall = 0.1000" in str(err.value)
    enforce([performance_gate({"f1": 0.6}, PerformanceGate(min={"f1": 0.5})).as_dict()])

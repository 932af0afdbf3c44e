from {{ cookiecutter.module_name }}.config import PerformanceGate
from {{ cookiecutter.module_name }}.gates import performance_gate


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
    }

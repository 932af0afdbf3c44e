import pytest

from {{ cookiecutter.module_name }}.release.packaging import gate_outcome
from {{ cookiecutter.module_name }}.release.promotion import (
    PromotionError,
    bentoml_model,
    blockers,
    missing_alias,
{%- if cookiecutter.monitoring %}
    shadow_blocker,
{%- endif %}
)

PACKAGED = {"gates": "passed", "bentoml.model": "m:abc", "bentoml.bento": "b:def"}


def verdict(gate, failures=(), skipped=False, disabled=False):
    return {"gate": gate, "failures": list(failures), "skipped": skipped, "disabled": disabled}


def test_gate_outcome_names_skipped_gates_and_accepts_gates_turned_off():
    assert gate_outcome([verdict("performance"), verdict("fairness", disabled=True)]) == "passed"
    assert gate_outcome([verdict("performance"), verdict("champion", skipped=True)]) == "passed; skipped: champion"
    assert gate_outcome([verdict("performance", ["roc_auc low"])]) == "failed: performance"


def test_a_version_that_passed_every_gate_and_was_packaged_may_be_promoted():
    assert blockers("2", PACKAGED, {"gate.performance": "passed", "gate.fairness": "off"}) == []


def test_promotion_names_each_failed_check_of_the_run():
    run_tags = {
        "gate.performance": "failed",
        "gate.performance.failed.roc_auc": "roc_auc = 0.7, needs >= 0.8",
        "gate.fairness": "passed",
    }
    assert blockers("3", PACKAGED | {"gates": "failed: performance"}, run_tags) == [
        "performance: roc_auc (roc_auc = 0.7, needs >= 0.8)"
    ]


def test_promotion_refuses_skipped_gates_and_versions_the_flow_did_not_publish_or_finish():
    assert blockers("2", PACKAGED | {"gates": "passed; skipped: champion"}, {}) == ["gates passed; skipped: champion"]
    assert blockers("4", {}, {}) == ["v4 has no gate record (tag `gates`): it was not published by the flow"]
    incomplete = blockers("5", {"gates": "passed"}, {})
    assert incomplete == ["no BentoML model recorded (tag `bentoml.model`): its run failed while packaging"]


def test_promotion_refuses_a_model_trained_on_unpinned_data_and_says_why_with_every_other_reason():
    """Later runs are judged against the champion on rows it never trained on, found through its pinned data."""
    unpinned = "trained on data DVC does not pin (--allow-unpinned-data): later runs could not be judged against it"
    assert blockers("2", PACKAGED, {"data.pinned": "False"}) == [unpinned]
    assert blockers("2", PACKAGED, {"data.pinned": "True"}) == []
    skipped = PACKAGED | {"gates": "passed; skipped: champion"}
    assert blockers("3", skipped, {"data.pinned": "False"}) == ["gates passed; skipped: champion", unpinned]


def test_serving_needs_the_bentoml_model_recorded_on_the_version():
    assert bentoml_model("2", PACKAGED) == "m:abc"
    with pytest.raises(PromotionError, match="v7 has no BentoML model recorded"):
        bentoml_model("7", {"gates": "passed"})


def test_a_missing_alias_says_how_to_get_one():
    assert str(missing_alias("champion")).startswith("no champion yet: run `python flow.py run`")
    assert str(missing_alias("candidate")).startswith("no candidate yet: run `python flow.py run`")

{%- if cookiecutter.monitoring %}


def test_with_require_shadow_only_a_passing_report_against_the_current_champion_counts():
    passed = {"shadow": "passed", "shadow.champion": "3", "shadow.mlflow_run_id": "r1"}
    assert shadow_blocker("4", passed, champion="3") == []
    assert shadow_blocker("4", {}, "3") == [
        "no shadow report: serve it in shadow (make serve SHADOW=4), then make shadow-report"
    ]
    assert shadow_blocker("4", passed, "5") == [
        "its shadow report was against v3, not the current champion v5: run it again"
    ]
    failed = passed | {"shadow": "failed: shadow"}
    assert shadow_blocker("4", failed, "3") == ["shadow report failed: shadow (MLflow run r1)"]
{%- endif %}

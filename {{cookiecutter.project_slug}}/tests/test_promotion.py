import pytest

from {{ cookiecutter.module_name }}.lineage.run_record import RunRecord, VersionRecord
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


def version(number="2", **recorded) -> VersionRecord:
    """A registry version as the flow publishes it (gates passed, BentoML model and Bento recorded), with `recorded`."""
    packaged = {"gates": "passed", "bentoml_model": "m:abc", "bentoml_bento": "b:def"}
    return VersionRecord("m", number, **(packaged | recorded))


def verdict(gate, failures=(), skipped=False, disabled=False):
    return {"gate": gate, "failures": list(failures), "skipped": skipped, "disabled": disabled}


def test_gate_outcome_names_skipped_gates_and_accepts_gates_turned_off():
    assert gate_outcome([verdict("performance"), verdict("fairness", disabled=True)]) == "passed"
    assert gate_outcome([verdict("performance"), verdict("champion", skipped=True)]) == "passed; skipped: champion"
    assert gate_outcome([verdict("performance", ["roc_auc low"])]) == "failed: performance"


def test_a_version_that_passed_every_gate_and_was_packaged_may_be_promoted():
    assert blockers(version(), RunRecord(gates={"performance": "passed", "fairness": "off"})) == []


def test_promotion_names_each_failed_check_of_the_run():
    run = RunRecord(
        gates={"performance": "failed", "fairness": "passed"},
        checks={("performance", "failed", "roc_auc"): "roc_auc = 0.7, needs >= 0.8"},
    )
    assert blockers(version("3", gates="failed: performance"), run) == [
        "performance: roc_auc (roc_auc = 0.7, needs >= 0.8)"
    ]


def test_promotion_refuses_skipped_gates_and_versions_the_flow_did_not_publish_or_finish():
    skipped = version(gates="passed; skipped: champion")
    assert blockers(skipped, RunRecord()) == ["gates passed; skipped: champion"]
    assert blockers(VersionRecord("m", "4"), RunRecord()) == [
        "v4 has no gate record (tag `gates`): it was not published by the flow"
    ]
    incomplete = blockers(VersionRecord("m", "5", gates="passed"), RunRecord())
    assert incomplete == ["no BentoML model recorded (tag `bentoml.model`): its run failed while packaging"]


def test_promotion_refuses_a_model_trained_on_unpinned_data_and_says_why_with_every_other_reason():
    """Later runs are judged against the champion on rows it never trained on, found through its pinned data."""
    unpinned = "trained on data DVC does not pin (--allow-unpinned-data): later runs could not be judged against it"
    assert blockers(version(), RunRecord(data_pinned=False)) == [unpinned]
    assert blockers(version(), RunRecord(data_pinned=True)) == []
    skipped = version("3", gates="passed; skipped: champion")
    assert blockers(skipped, RunRecord(data_pinned=False)) == ["gates passed; skipped: champion", unpinned]


def test_serving_needs_the_bentoml_model_recorded_on_the_version():
    assert bentoml_model(version()) == "m:abc"
    with pytest.raises(PromotionError, match="v7 has no BentoML model recorded"):
        bentoml_model(VersionRecord("m", "7", gates="passed"))


def test_a_missing_alias_says_how_to_get_one():
    assert str(missing_alias("champion")).startswith("no champion yet: run `python flow.py run`")
    assert str(missing_alias("candidate")).startswith("no candidate yet: run `python flow.py run`")

{%- if cookiecutter.monitoring %}


def test_with_require_shadow_only_a_passing_report_against_the_current_champion_counts():
    passed = version("4", shadow="passed", shadow_champion="3", shadow_run_id="r1")
    assert shadow_blocker(passed, champion="3") == []
    assert shadow_blocker(version("4"), "3") == [
        "no shadow report: serve it in shadow (make serve SHADOW=4), then make shadow-report"
    ]
    assert shadow_blocker(passed, "5") == [
        "its shadow report was against v3, not the current champion v5: run it again"
    ]
    failed = version("4", shadow="failed: shadow", shadow_champion="3", shadow_run_id="r1")
    assert shadow_blocker(failed, "3") == ["shadow report failed: shadow (MLflow run r1)"]
{%- endif %}

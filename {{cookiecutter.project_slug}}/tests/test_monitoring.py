"""The monitor's plain functions, without a server or a flow run: the log window, the checks and their thresholds,
the verdict and its report, the reference's refusal of data that is not what the model trained on."""

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import DriftThresholds, MonitoringConfig, PerformanceGate, SplitConfig
from {{ cookiecutter.module_name }}.gates.judge import performance_gate
from {{ cookiecutter.module_name }}.gates.verdict import Verdict
from {{ cookiecutter.module_name }}.monitoring import checks, performance, report, scoring, window
from {{ cookiecutter.module_name }}.monitoring.reference import Lineage, training_bytes
from {{ cookiecutter.module_name }}.monitoring.window import MonitoringError
{%- if cookiecutter.task != "text_classification" %}
from {{ cookiecutter.module_name }}.pipeline.demo_data import generate
{%- endif %}

CFG = MonitoringConfig()


def log_row(i: int, model: str = "m:1", when: datetime | None = None) -> dict:
    stamp = (when or datetime(2026, 1, 1) + timedelta(minutes=i)).isoformat()
    return {"x": float(i), "label": i % 2, "model_version": model, "timestamp": stamp, "request_id": str(i)}


def write_log(directory, rows: list[dict], worker: int = 1) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"data.{worker}.log").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_log_is_read_from_every_worker_oldest_first(tmp_path):
    write_log(tmp_path, [log_row(i) for i in (1, 3)], worker=1)
    write_log(tmp_path, [log_row(i) for i in (0, 2)], worker=2)
    log = window.read_log(tmp_path)
    assert log["x"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_no_log_or_an_empty_one_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(MonitoringError, match="make serve"):
        window.read_log(tmp_path / "nowhere")
    write_log(tmp_path, [])
    with pytest.raises(MonitoringError, match="empty"):
        window.read_log(tmp_path)


def test_the_window_keeps_the_newest_records_within_the_hours(tmp_path):
    now = datetime(2026, 1, 1, 12)
    rows = [log_row(i, when=now - timedelta(hours=10 - i)) for i in range(10)]  # one an hour, up to 1 h ago
    write_log(tmp_path, rows)
    log = window.read_log(tmp_path)
    assert window.window(log, 3, None)["x"].tolist() == [7.0, 8.0, 9.0]
    assert window.window(log, None, 2.5, now=now)["x"].tolist() == [8.0, 9.0]
    assert window.window(log, 1, 2.5, now=now)["x"].tolist() == [9.0]
    assert len(window.window(log, None, None)) == 10


def test_rows_are_judged_per_model_the_newest_by_default():
    rows = pd.DataFrame([log_row(0, "m:old"), log_row(1, "m:new"), log_row(2, "m:old"), log_row(3, "m:new")])
    served, model, others = window.served_by(rows)
    assert model == "m:new" and served["x"].tolist() == [1.0, 3.0] and others == {"m:old": 2}
    served, model, _ = window.served_by(rows, "m:old")
    assert served["x"].tolist() == [0.0, 2.0]
    with pytest.raises(MonitoringError, match="answered none"):
        window.served_by(rows, "m:gone")
    with pytest.raises(MonitoringError, match="no prediction-log rows"):
        window.served_by(rows.iloc[:0])


def frames(n: int = 1500, shift: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(mean, weights):
        return pd.DataFrame(
            {
                "a": rng.normal(mean, 1.0, n),
                "b": rng.normal(0.0, 1.0, n),
                "c": rng.choice(["x", "y", "z"], n, p=weights),
                "d": rng.choice(["u", "v"], n),
            }
        )

    return frame(0.0, [0.6, 0.3, 0.1]), frame(shift, [0.2, 0.3, 0.5] if shift else [0.6, 0.3, 0.1])


COLUMNS = checks.drift_columns(["a", "b"], ["c", "d"], [])


def drift_checks(reference, current, cfg=CFG):
    """The drift checks alone (no quality columns) and the snapshot."""
    drift, quality, snapshot = checks.evidently_checks(reference, current, COLUMNS, [], [], cfg)
    assert quality == []
    return drift, snapshot


def quality_checks(reference, current, numeric, categorical):
    return checks.evidently_checks(reference, current, [], numeric, categorical, CFG)[1]


def by_name(found) -> dict[str, checks.DriftCheck]:
    return {c.name: c for c in found}


def test_drift_is_found_on_the_shifted_columns_only():
    reference, current = frames(shift=1.0)
    found, snapshot = drift_checks(reference, current)
    drifted = checks.drifted(found)
    assert drifted == ["a", "c"], [c for c in found if c.status != "ok"]
    assert snapshot is not None
    named = by_name(found)
    assert named["drift.a.wasserstein"].value >= 0.1 and named["drift.a.psi"].value >= 0.25
    assert named["drift.c.jensenshannon"].status == "drift"
    assert named["drift.b.wasserstein"].threshold == "drift >= 0.1"
    assert named["drift.a.psi"].threshold == "warn >= 0.1, drift >= 0.25"


def test_an_unshifted_sample_of_the_same_size_raises_no_alarm():
    reference, current = frames(shift=0.0)
    found, _ = drift_checks(reference, current)
    assert {c.status for c in found} == {"ok"}, [c for c in found if c.status != "ok"]
    assert report.verdict(found) == "ok"


def test_the_statistical_tests_judge_their_p_value():
    reference, current = frames(shift=1.0)
    cfg = MonitoringConfig(drift=DriftThresholds(numeric_method="ks", categorical_method="chisquare"))
    named = by_name(drift_checks(reference, current, cfg)[0])
    assert named["drift.a.ks"].threshold == "drift if p < 0.05" and named["drift.a.ks"].status == "drift"
    assert named["drift.a.ks"].value < 0.05 and named["drift.c.chisquare"].status == "drift"


def test_too_few_values_are_not_judged_and_the_verdict_is_not_ok():
    reference, current = frames(n=50)
    found, snapshot = drift_checks(reference, current)
    assert snapshot is None and {c.status for c in found} == {"not_judged"}
    assert "at least 1000 needed" in found[0].detail
    assert report.verdict(found) == "warn"


def test_a_column_missing_from_the_rows_is_not_judged_and_named_by_the_schema_check():
    reference, current = frames()
    found, _ = drift_checks(reference, current.drop(columns="b"))
    assert {c.status for c in found if c.column == "b"} == {"not_judged"}
    seen = ["a", "c", "d", "extra", "label", "probability_1"]
    schema = by_name(checks.schema_checks(seen, ["a", "b", "c", "d"], ["label"]))
    assert schema["schema.missing_columns"].status == "drift" and schema["schema.missing_columns"].detail == "b"
    assert schema["schema.extra_columns"].status == "warn" and schema["schema.extra_columns"].detail == "extra"


def test_data_quality_counts_nulls_unseen_categories_and_values_out_of_range():
    reference = pd.DataFrame({"n": [0.0, 1.0, 2.0, 3.0] * 25, "k": ["p", "q"] * 50})
    current = pd.DataFrame({"n": [None, 5.0, 1.0, 2.0] * 25, "k": ["p", "new", "q", None] * 25})
    named = by_name(quality_checks(reference, current, ["n"], ["k"]))
    assert named["quality.n.null_rate"].value == pytest.approx(0.25) and named["quality.n.null_rate"].status == "warn"
    assert named["quality.n.out_of_range"].value == pytest.approx(1 / 3)
    assert named["quality.n.out_of_range"].status == "warn"
    assert named["quality.k.unseen_categories"].value == pytest.approx(1 / 3)
    assert named["quality.k.unseen_categories"].detail == "new"
    clean = quality_checks(reference, reference, ["n"], ["k"])
    assert {c.status for c in clean} == {"ok"}
    assert named["quality.n.out_of_range"].detail == "training range [0, 3]"
    assert named["quality.k.null_rate"].detail == "0.250 now, 0.000 in training"
    missing = by_name(quality_checks(reference, current.assign(k=None, n=None), ["n"], ["k"]))  # no value to count
    assert missing["quality.n.null_rate"].value == 1.0 and missing["quality.k.unseen_categories"].value == 0.0
    unjudged = quality_checks(reference, current.iloc[0:0], ["n"], ["k"])
    assert [c.status for c in unjudged] == ["not_judged", "not_judged"] and unjudged[1].name == "quality.k.null_rate"


def test_drift_and_quality_are_computed_in_one_evidently_run():
    reference, current = frames()
    drift, quality, snapshot = checks.evidently_checks(reference, current, COLUMNS, ["a", "b"], ["c", "d"], CFG)
    assert {c.status for c in drift + quality} == {"ok"}, [c for c in drift + quality if c.status != "ok"]
    assert len(drift) == 8 and [c.name for c in quality][:3] == [
        "quality.a.null_rate",
        "quality.a.out_of_range",
        "quality.b.null_rate",
    ]
    names = [m["metric_name"] for m in snapshot.dict()["metrics"]]
    assert len(names) == 8 + 8 and any(n.startswith("OutListValueCount") for n in names)


def test_the_verdict_is_the_worst_check_and_the_report_lists_every_check():
    ok = checks.DriftCheck("drift.a.psi", "feature_drift", "a", "psi", 0.01, "warn >= 0.1, drift >= 0.25", "ok")
    warn = checks.DriftCheck("quality.a.null_rate", "quality", "a", "rate increase", 0.2, "warn > 0.05", "warn")
    drift = checks.DriftCheck("drift.b.psi", "feature_drift", "b", "psi", 0.4, "warn >= 0.1, drift >= 0.25", "drift")
    assert report.verdict([ok]) == "ok" and report.verdict([ok, warn]) == "warn"
    assert report.verdict([ok, warn, drift]) == "drift" and report.verdict([]) == "warn"
    chart = report.drift_chart([ok, warn, drift], "drift")
    assert chart.startswith(b"\x89PNG") and report.drift_chart([warn], "warn") is None  # no PSI, no picture
    page = report.html_report([ok, warn, drift], "drift", {"model (BentoML)": "m:1"}, "evidently.html", chart)
    assert all(c.name in page for c in (ok, warn, drift)) and "m:1" in page and "evidently.html" in page
    assert "data:image/png;base64," in page
    text = report.summary([ok, warn, drift], "drift")
    assert text.splitlines()[0] == "verdict: drift (1 of 3 checks ok)" and "drift.a.psi" not in text
    unjudged = checks.DriftCheck("champion.gate", "gate", "", "gate", None, "", "not_judged", "no labelled rows")
    assert report.summary([unjudged], "warn").splitlines()[1] == "  not_judged champion.gate no labelled rows"


def test_a_drift_verdict_fails_the_run_unless_report_only():
    with pytest.raises(report.DriftDetected, match="features drifted: income, employment; see r/verdict.html"):
        report.fail_on_verdict("drift", ["income", "employment"], "r")
    assert report.fail_on_verdict("drift", ["income"], "r", report_only=True) == "verdict: drift"
    assert report.fail_on_verdict("warn", [], "r") == "verdict: warn"
    assert report.fail_on_verdict("ok", [], "r") == "verdict: ok"
    shown = report.fail_on_verdict("drift", ["income"], "r", expect="drift")  # the drift demo: exit 0
    assert shown.startswith("verdict: drift, as expected (--expect drift); features drifted: income;")
    with pytest.raises(report.UnexpectedVerdict, match="expected drift, the verdict is ok"):
        report.fail_on_verdict("ok", [], "r", expect="drift")


{% if cookiecutter.task == "tabular_regression" -%}
def test_a_failed_gate_on_labelled_rows_is_degraded_and_fails_the_run():
    """The training gates' verdicts as monitoring checks: each check as judged, then the gate (degraded when it
    would block a release); degraded outranks drift and stops the run naming the check and its margin."""
    gate = PerformanceGate(min={"r2": 0.8}, max={"rmse": 3.0})
    failed = performance_gate({"rmse": 4.5, "r2": float("nan")}, gate)
    found = performance.as_checks([failed], rows=500)
    states = {c.name: c.status for c in found}
    assert states == {
        "performance.r2": "not_judged",
        "performance.rmse": "degraded",
        "performance.gate": "degraded",  # strict: a metric it could not compute blocks, as in training
    }
    assert found[-1].threshold == "500 labelled rows" and "rmse = 4.5000, needs <= 3.0" in found[-1].detail
    drift = checks.DriftCheck("drift.b.psi", "feature_drift", "b", "psi", 0.4, "warn >= 0.1, drift >= 0.25", "drift")
    assert report.verdict([drift, *found]) == "degraded"
    lines = performance.failed_gates(found)
    with pytest.raises(report.ModelDegraded, match=r"(?s)rmse = 4\.5000, needs <= 3\.0 \(off by 1\.5000\)"):
        report.fail_on_verdict("degraded", ["b"], "r", degraded=lines)
    assert report.fail_on_verdict("degraded", ["b"], "r", report_only=True, degraded=lines) == "verdict: degraded"
    passed = performance.as_checks([performance_gate({"rmse": 2.0, "r2": 0.9}, gate)], rows=500)
    assert {c.status for c in passed} == {"ok"} and performance.failed_gates(passed) == []
    nothing = performance.as_checks([Verdict("fairness", [], ["not judged: the rows lack the sensitive features"])], 9)
    assert [c.status for c in nothing] == ["not_judged"] and report.verdict(nothing) == "warn"


def test_target_values_that_are_not_numbers_stop_the_monitor():
    frame = pd.DataFrame({"y": [10.5, 3, None, "7.25"]})
    rows = performance.labelled(frame, "y")
    assert len(rows) == 3 and len(performance.labelled(frame, "other")) == 0
    assert performance.true_values(rows["y"]).tolist() == [10.5, 3.0, 7.25]
    with pytest.raises(MonitoringError, match="target value 'lots' is not a number"):
        performance.true_values(pd.Series([1.0, "lots"]))
{%- else -%}
def test_a_failed_gate_on_labelled_rows_is_degraded_and_fails_the_run():
    """The training gates' verdicts as monitoring checks: each check as judged, then the gate (degraded when it
    would block a release); degraded outranks drift and stops the run naming the check and its margin."""
    gate = PerformanceGate(min={"accuracy": 0.8, "roc_auc": 0.7})
    failed = performance_gate({"accuracy": 0.55, "roc_auc": float("nan")}, gate)
    found = performance.as_checks([failed], rows=500)
    states = {c.name: c.status for c in found}
    assert states == {
        "performance.accuracy": "degraded",
        "performance.roc_auc": "not_judged",
        "performance.gate": "degraded",  # strict: a metric it could not compute blocks, as in training
    }
    assert found[-1].threshold == "500 labelled rows" and "accuracy = 0.5500, needs >= 0.8" in found[-1].detail
    drift = checks.DriftCheck("drift.b.psi", "feature_drift", "b", "psi", 0.4, "warn >= 0.1, drift >= 0.25", "drift")
    assert report.verdict([drift, *found]) == "degraded"
    lines = performance.failed_gates(found)
    with pytest.raises(report.ModelDegraded, match=r"(?s)accuracy = 0\.5500, needs >= 0\.8 \(off by 0\.2500\)"):
        report.fail_on_verdict("degraded", ["b"], "r", degraded=lines)
    assert report.fail_on_verdict("degraded", ["b"], "r", report_only=True, degraded=lines) == "verdict: degraded"
    passed = performance.as_checks([performance_gate({"accuracy": 0.9, "roc_auc": 0.8}, gate)], rows=500)
    assert {c.status for c in passed} == {"ok"} and performance.failed_gates(passed) == []
    nothing = performance.as_checks([Verdict("fairness", [], ["not judged: the rows lack the sensitive features"])], 9)
    assert [c.status for c in nothing] == ["not_judged"] and report.verdict(nothing) == "warn"


def test_labels_the_model_has_no_class_for_stop_the_monitor():
    frame = pd.DataFrame({"y": [0, 1, None, 1]})
    rows = performance.labelled(frame, "y")
    assert len(rows) == 3 and len(performance.labelled(frame, "other")) == 0
    assert performance.true_labels([0, 1], rows["y"]).tolist() == [0, 1, 1]
    with pytest.raises(MonitoringError, match="label 'maybe' is not one of the model's classes"):
        performance.true_labels([0, 1], pd.Series(["maybe"]))
{%- endif %}


def test_monitoring_settings_are_validated():
    with pytest.raises(ValueError, match="psi_warn must be below psi_drift"):
        DriftThresholds(psi_warn=0.3, psi_drift=0.2)
    with pytest.raises(ValueError):
        DriftThresholds(numeric_method="t-test")
    assert DriftThresholds().threshold("wasserstein") == 0.1
    assert DriftThresholds(numeric_method="ks").threshold("ks") == 0.05
    assert DriftThresholds(categorical_threshold=0.2).threshold("jensenshannon") == 0.2


{% if cookiecutter.task == "tabular_regression" -%}
def test_the_prediction_judged_is_the_value_as_a_numeric_column():
    assert scoring.prediction_columns() == ["value"]
    columns = checks.drift_columns([], [], scoring.prediction_columns())
    assert columns == [("value", "numeric", "prediction_drift")]
    rng = np.random.default_rng(0)
    reference, alike, lower = (pd.DataFrame({"value": rng.normal(mean, 5.0, 1500)}) for mean in (12.0, 12.0, 8.0))
    same = checks.evidently_checks(reference, alike, columns, [], [], CFG)[0]
    assert {c.name: c.status for c in same} == {"prediction.value.psi": "ok", "prediction.value.wasserstein": "ok"}
    lower = checks.evidently_checks(reference, lower, columns, [], [], CFG)[0]
    assert {c.status for c in lower} == {"drift"} and checks.drifted(lower, "prediction_drift") == ["value"]


class Constant:
    """A stand-in model: 7.5 for every row."""

    def predict_values(self, frame):
        return np.full(len(frame), 7.5)


def test_the_answer_is_added_as_the_log_writes_it_replacing_a_target_named_value():
    frame = pd.DataFrame({"x": [1.0, 2.0], "value": [3.0, 4.0]}, index=[5, 7])
    scored = scoring.with_predictions(Constant(), frame, ["x"])
    assert list(scored.columns) == ["x", "value"] and scored["value"].tolist() == [7.5, 7.5]
    assert scoring.with_predictions(Constant(), frame, ["x", "missing"]) is frame
{%- else -%}
def test_the_predictions_judged_are_the_label_and_the_positive_probability():
    assert scoring.prediction_columns([0, 1]) == ["label", "probability_1"]
    assert scoring.prediction_columns(["a", "b", "c"]) == ["label", "probability_a", "probability_b", "probability_c"]


class Constant:
    """A stand-in model: P(class 1) = 0.8 for every row."""

    encoder = type("Encoder", (), {"classes": ["no", "yes"]})

    def decide(self, frame):
        return np.ones(len(frame), dtype=int), np.tile([0.2, 0.8], (len(frame), 1))


def test_answers_are_added_as_the_log_writes_them_replacing_a_target_named_label():
    frame = pd.DataFrame({"x": [1.0, 2.0], "label": ["no", "no"]}, index=[5, 7])
    scored = scoring.with_predictions(Constant(), frame, ["x"])
    assert list(scored.columns) == ["x", "label", "probability_no", "probability_yes"]
    assert scored["label"].tolist() == ["yes", "yes"] and scored["probability_yes"].tolist() == [0.8, 0.8]
    assert scoring.with_predictions(Constant(), frame, ["x", "missing"]) is frame
{%- endif %}


def lineage(path: str, md5: str, rev: str = "workspace", commit: str = "") -> Lineage:
    facts = {"data_path": path, "data_rev": rev, "data_md5": md5, "commit": commit, "seed": 42, "target": "y"}
    return Lineage("run", **facts, split=SplitConfig(), model_version="m:1", mlflow_model_version="1")


def test_the_reference_is_refused_unless_its_bytes_are_the_ones_the_model_trained_on(tmp_path):
    import hashlib

    data = tmp_path / "train.csv"
    data.write_text("a,y\n1,0\n")
    content, source = training_bytes(lineage(str(data), hashlib.md5(data.read_bytes()).hexdigest()))
    assert content == data.read_bytes() and source == "workspace"
    with pytest.raises(MonitoringError, match="no commit is known"):
        training_bytes(lineage(str(data), "0" * 32))

{%- if cookiecutter.task != "text_classification" %}


def test_the_shifted_demo_batch_moves_income_and_employment_only(tmp_path):
    plain = pd.read_csv(generate(tmp_path / "a.csv", 400, "approved", ["sex"], seed=3))
    shifted = pd.read_csv(generate(tmp_path / "b.csv", 400, "approved", ["sex"], seed=3, shift=True))
    same = [c for c in plain.columns if plain[c].equals(shifted[c])]
    assert sorted(set(plain.columns) - set(same)) == sorted({"approved", "employment", "income"})
    assert shifted["income"].median() < 0.7 * plain["income"].median()
    assert (shifted["employment"] == "unemployed").mean() > 2 * (plain["employment"] == "unemployed").mean()
{%- if cookiecutter.task == "tabular_regression" %}
    assert shifted["approved"].mean() < plain["approved"].mean() - 2  # the limits follow the same score: they fall
{%- endif %}
{%- endif %}
{%- if cookiecutter.task == "text_classification" %}


def test_texts_are_judged_through_their_length_and_unknown_tokens(tiny_dir):
    from transformers import AutoTokenizer

    from {{ cookiecutter.module_name }}.monitoring import text

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    frame = pd.DataFrame({"text": ["good film", "ψψψ ωωω", None]})
    stats = text.with_statistics(frame, ["text"], tokenizer)
    assert text.statistic_columns(["text"]) == ["text_chars", "text_words", "text_unknown_token_rate"]
    assert stats["text_chars"].tolist()[:2] == [9.0, 7.0] and stats["text_words"].tolist()[:2] == [2.0, 2.0]
    assert stats["text_unknown_token_rate"][1] > stats["text_unknown_token_rate"][0]
    assert stats.iloc[2][["text_chars", "text_words", "text_unknown_token_rate"]].isna().all()
{%- endif %}

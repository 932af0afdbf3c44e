import json

import pytest
from pydantic import ValidationError

from {{ cookiecutter.module_name }}.config import ModelConfig
{%- if cookiecutter.monitoring %}
from {{ cookiecutter.module_name }}.monitoring.shadow import score_in_shadow
{%- endif %}
from {{ cookiecutter.module_name }}.pipeline.data import {{ "model_inputs, " if cookiecutter.mitigation }}request_example, validate_table
from {{ cookiecutter.module_name }}.pipeline.tasks import task
from {{ cookiecutter.module_name }}.pipeline.training import weights_to_bytes
from {{ cookiecutter.module_name }}.release.artifact import SPEC, ModelSpec, Predictor, write_model_dir
from {{ cookiecutter.module_name }}.release.serving import record_model

from .conftest import EXAMPLE

NUMBER = next(k for k, v in EXAMPLE[0].items() if isinstance(v, int | float))  # a numeric input, and a category
CATEGORY = next(k for k, v in EXAMPLE[0].items() if isinstance(v, str))


@pytest.fixture()
def model_dir(tmp_path, demo_frame, params):
    """A model directory laid out as the package step writes it into the BentoML store."""
    encoder = task.fit_encoder(demo_frame, validate_table(demo_frame, params.data), params)
    network_cfg = ModelConfig(hidden_sizes=[8], dropout=0.0)
    weights = weights_to_bytes(task.build_network(encoder, network_cfg))
    serving = {"max_batch_size": 10, "max_text_chars": 100}
    spec = ModelSpec(task=task.NAME, encoder=encoder.state(), network=network_cfg, serving=serving)
    return write_model_dir(tmp_path, weights, spec)


{% if cookiecutter.task == "tabular_regression" -%}
def test_example_request_predicts_a_finite_value(model_dir):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    predictions = predictor.predict([Record(**r).model_dump() for r in EXAMPLE])
    values = [p.value for p in predictions]
    assert len(values) == len(EXAMPLE) and all(isinstance(v, float) and abs(v) < 1e6 for v in values)
    assert values == pytest.approx(predictor.predict_values(EXAMPLE).tolist())  # one rule, one answer
{%- else -%}
def test_example_request_predicts_a_known_class(model_dir):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    predictions = predictor.predict([Record(**r).model_dump() for r in EXAMPLE])
    assert len(predictions) == len(EXAMPLE)
    assert all(p.label in predictor.encoder.classes for p in predictions)
    for p in predictions:  # every class's probability, keyed by the class as text; the label is the most probable
        assert set(p.probabilities) == {str(c) for c in predictor.encoder.classes}
        assert sum(p.probabilities.values()) == pytest.approx(1, abs=1e-5)
        assert p.probabilities[str(p.label)] == p.probability == max(p.probabilities.values())


def test_threshold_decides_as_in_evaluation(model_dir):
    """`serving.threshold` ships in the spec: the same rule as the flow's evaluation (evaluation.decide): a binary
    target's positive class from that probability on; with more classes, the most probable class whatever it is."""
    spec = json.loads((model_dir / SPEC).read_text())
    spec["serving"]["threshold"] = 0.999
    (model_dir / SPEC).write_text(json.dumps(spec))
    predictor = Predictor(model_dir)
    classes = predictor.encoder.classes
    for p in predictor.predict(EXAMPLE):
        if len(classes) == 2:
            assert (p.label == classes[-1]) == (p.probabilities[str(classes[-1])] >= 0.999)
        else:
            assert p.probability == max(p.probabilities.values())
{%- endif %}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({NUMBER: "forty"}, NUMBER),
        ({CATEGORY: 3}, CATEGORY),
        ({"unknown_column": 1}, "unknown_column"),
        ({NUMBER: float("inf")}, NUMBER),
    ],
)
def test_bad_records_name_the_field(model_dir, change, field):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    with pytest.raises(ValidationError) as err:
        Record(**(EXAMPLE[0] | change))
    assert err.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("value", ["41", "1_000", True, 1e308, -1e308, 1e38, float("nan")])
def test_numbers_are_strict_finite_and_within_range(model_dir, value):
    """A JSON number only (not "41", "1_000" nor true), finite, within `serving.numeric_range_stds` training standard
    deviations of the mean: further out, scaling overflows float32 and the network answers NaN."""
    Record = Predictor(model_dir).record
    with pytest.raises(ValidationError) as err:
        Record(**(EXAMPLE[0] | {NUMBER: value}))
    assert err.value.errors()[0]["loc"] == (NUMBER,)


def test_lax_numbers_are_an_option(model_dir):
    spec = json.loads((model_dir / SPEC).read_text())
    spec["serving"] |= {"strict_numbers": False, "numeric_range_stds": None}
    (model_dir / SPEC).write_text(json.dumps(spec))
    Record = Predictor(model_dir).record
    assert Record(**(EXAMPLE[0] | {NUMBER: "41"})).model_dump()[NUMBER] == 41.0
    assert Record(**(EXAMPLE[0] | {NUMBER: 1e20})).model_dump()[NUMBER] == 1e20  # past 1e6 standard deviations
    with pytest.raises(ValidationError):  # no bound set: still none past where float32 scaling overflows
        Record(**(EXAMPLE[0] | {NUMBER: 1e308}))


def test_the_predictor_never_answers_a_non_finite_probability(model_dir):
    """Past the record's checks (an unbounded spec, or a caller of Predictor itself): a value whose encoding overflows
    is named; a network that answers NaN for finite inputs is a bug, raised, never turned into a label."""
    import torch

    from {{ cookiecutter.module_name }}.errors import InvalidRecord
    from {{ cookiecutter.module_name }}.release.artifact import NonFiniteOutput

    predictor = Predictor(model_dir)
    with pytest.raises(InvalidRecord, match=rf"records\.1\.{NUMBER}: value too large"):
        predictor.predict([EXAMPLE[0], EXAMPLE[0] | {NUMBER: 1e308}])
    with torch.no_grad():
        predictor.network[-1].bias.fill_(float("nan"))
    with pytest.raises(NonFiniteOutput, match="non-finite {{ "values" if cookiecutter.task == "tabular_regression" else "probabilities" }}"):
        predictor.predict(EXAMPLE)


def test_missing_field_is_rejected_but_null_is_allowed(model_dir):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    Record(**(EXAMPLE[0] | {NUMBER: None}))
    with pytest.raises(ValidationError, match=NUMBER):
        Record(**{k: v for k, v in EXAMPLE[0].items() if k != NUMBER})


def test_example_written_from_the_data_is_a_valid_request(model_dir, demo_frame, params):
    predictor = Predictor(model_dir)
    columns = validate_table(demo_frame, params.data)
    frame, first = demo_frame.head(100), columns.features[0]
    frame = frame.assign(**{first: frame[first].where(frame.index != frame.index[0])})  # one missing value at least
    body = json.loads(json.dumps(request_example(frame, columns, columns.features, rows=100), allow_nan=False))
    assert all(list(r) == columns.features for r in body["records"])
    nulls = [[v is None for v in r.values()] for r in body["records"]]
    assert nulls == frame[columns.features].isna().to_numpy().tolist()  # each missing value, and only those, is null
    assert len(predictor.predict([predictor.record(**r).model_dump() for r in body["records"]])) == len(frame)

{%- if cookiecutter.mitigation %}


def test_with_mitigation_the_sensitive_features_are_inputs_too(demo_frame, params):
    columns = validate_table(demo_frame, params.data)
    sensitive = params.data.sensitive_features
    assert model_inputs(columns, params) == columns.features
    mitigation = params.mitigation.model_copy(update={"method": "threshold_optimizer"})
    mitigated = params.model_copy(update={"mitigation": mitigation})
    assert model_inputs(columns, mitigated) == columns.features + sensitive
    record = request_example(demo_frame, columns, model_inputs(columns, mitigated))["records"][0]
    assert {k: record[k] for k in sensitive} == {k: str(demo_frame[k].iloc[0]) for k in sensitive}


def test_a_mitigated_model_decides_a_record_alike_alone_or_in_a_batch(model_dir, tmp_path, demo_frame, params):
    """The fairness thresholds ship as JSON beside the weights; the service's decision for a record is a function of
    the record (and the seed), not of the batch it arrived in."""
    from {{ cookiecutter.module_name }}.gates.mitigation import fit_thresholds, model_spec
    from {{ cookiecutter.module_name }}.release.artifact import THRESHOLDS, read_spec

    mitigation = params.mitigation.model_copy(update={"method": "threshold_optimizer"})
    mitigated = params.model_copy(update={"mitigation": mitigation})
    columns = validate_table(demo_frame, params.data)
    inputs, sensitive = model_inputs(columns, mitigated), params.data.sensitive_features
    plain = Predictor(model_dir)
    scores = plain.predict_proba(demo_frame)[:, -1]
    y = plain.encoder.encode_target(demo_frame[params.data.target])
    table = fit_thresholds(scores, y, demo_frame[sensitive], mitigated.mitigation, seed=3, inputs=inputs)
    spec = read_spec(model_dir).model_dump() | {"mitigation": model_spec(table, mitigated)}
    path = write_model_dir(tmp_path / "mitigated", (model_dir / "weights.pt").read_bytes(), spec, thresholds=table)
    assert (path / THRESHOLDS).is_file() and not list(path.glob("*.pkl"))

    predictor = Predictor(path)
    body = request_example(demo_frame, columns, inputs, rows=len(demo_frame))
    records = [predictor.record(**r).model_dump() for r in body["records"]]
    batched = [p.label for p in predictor.predict(records)]
    alone = [predictor.predict([r])[0].label for r in records]
    assert len(records) >= 100 and batched == alone


def test_cross_fitted_thresholds_score_every_row_out_of_fold(demo_frame, params, capsys):
    """fit_on: cross_fit trains `folds` networks, each scoring the fold it left out; fit_on: validation needs rows."""
    from {{ cookiecutter.module_name }}.errors import DataError
    from {{ cookiecutter.module_name }}.gates.mitigation import fit_outside_training
    from {{ cookiecutter.module_name }}.pipeline.data import split
    from {{ cookiecutter.module_name }}.pipeline.tasks import task

    mitigation = params.mitigation.model_copy(update={"method": "threshold_optimizer", "folds": 2})
    training = params.training.model_copy(update={"max_epochs": 1})
    cfg = params.model_copy(update={"mitigation": mitigation, "training": training})
    columns = validate_table(demo_frame, params.data)
    splits = split(demo_frame, params.split, params.data.target, params.seed)
    encoder = task.fit_encoder(splits["train"], columns, cfg)
    table = fit_outside_training(None, encoder, {}, splits, cfg, model_inputs(columns, cfg))
    assert "cross-fitting the fairness thresholds: network 2/2" in capsys.readouterr().out
    sensitive = params.data.sensitive_features  # several features: one group per combination, "a,b"
    seen = {",".join(map(str, row)) for name in ("train", "validation") for row in splits[name][sensitive].values}
    assert set(table["groups"]) == seen
    validation_only = cfg.model_copy(update={"mitigation": mitigation.model_copy(update={"fit_on": "validation"})})
    with pytest.raises(DataError, match="needs split.validation_size > 0"):
        empty = splits | {"validation": splits["validation"].head(0)}
        fit_outside_training(None, encoder, {}, empty, validation_only, [])

{%- endif %}
{%- if cookiecutter.monitoring %}


def test_a_challenger_in_shadow_scores_what_its_own_contract_accepts_and_says_why_not_otherwise(model_dir):
    predictor = Predictor(model_dir)
    wrong_type = EXAMPLE[0] | {NUMBER: "many"}
    unknown = EXAMPLE[0] | {"a_field_it_never_saw": 1}
    predictions, errors = score_in_shadow(predictor, [*EXAMPLE, wrong_type, unknown])
    expected = [p.model_dump() for p in predictor.predict(EXAMPLE)]
    assert predictions[: len(EXAMPLE)] == expected and errors[: len(EXAMPLE)] == [None] * len(EXAMPLE)
    assert predictions[-2:] == [None, None]
    assert NUMBER in errors[-2] and "a_field_it_never_saw" in errors[-1]
    assert all(len(e) <= 200 for e in errors[-2:])
{%- endif %}

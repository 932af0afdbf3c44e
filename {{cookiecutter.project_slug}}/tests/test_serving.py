import json

import pytest
from pydantic import ValidationError

from {{ cookiecutter.module_name }}.config import ModelConfig
from {{ cookiecutter.module_name }}.data import validate_table
from {{ cookiecutter.module_name }}.packaging import SPEC, WEIGHTS
from {{ cookiecutter.module_name }}.serving import Predictor, record_model
from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder, build_network
from {{ cookiecutter.module_name }}.training import weights_to_bytes

from .conftest import ROOT

EXAMPLE = json.loads((ROOT / "examples" / "request.json").read_text())["records"]


@pytest.fixture()
def model_dir(tmp_path, demo_frame, params):
    """A model directory laid out as the package step writes it into the BentoML store."""
    encoder = TabularEncoder.fit(demo_frame, validate_table(demo_frame, params.data), params.data.target)
    network_cfg = {"hidden_sizes": [8], "dropout": 0.0}
    (tmp_path / WEIGHTS).write_bytes(weights_to_bytes(build_network(encoder, ModelConfig(**network_cfg))))
    spec = {
        "task": "tabular",
        "encoder": encoder.state(),
        "network": network_cfg,
        "serving": {"max_batch_size": 10, "max_text_chars": 100},
    }
    (tmp_path / SPEC).write_text(json.dumps(spec))
    return tmp_path


def test_example_request_predicts_a_known_class(model_dir):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    predictions = predictor.predict([Record(**r).model_dump() for r in EXAMPLE])
    assert len(predictions) == len(EXAMPLE)
    assert all(p.label in predictor.encoder.classes and 0.5 <= p.probability <= 1 for p in predictions)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"age": "forty"}, "age"),
        ({"region": 3}, "region"),
        ({"unknown_column": 1}, "unknown_column"),
        ({"income": float("inf")}, "income"),
    ],
)
def test_bad_records_name_the_field(model_dir, change, field):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    with pytest.raises(ValidationError) as err:
        Record(**(EXAMPLE[0] | change))
    assert err.value.errors()[0]["loc"] == (field,)


def test_missing_field_is_rejected_but_null_is_allowed(model_dir):
    predictor = Predictor(model_dir)
    Record = record_model(predictor.encoder, predictor.serving)
    Record(**(EXAMPLE[0] | {"income": None}))
    with pytest.raises(ValidationError, match="income"):
        Record(**{k: v for k, v in EXAMPLE[0].items() if k != "income"})

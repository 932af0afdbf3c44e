import json

import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.config import ModelConfig
from {{ cookiecutter.module_name }}.data import validate_table
from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder, build_network


def _fit(frame, params):
    return TabularEncoder.fit(frame, validate_table(frame, params.data), params.data.target)


def test_encoder_handles_missing_and_unseen_values(demo_frame, params):
    encoder = _fit(demo_frame, params)
    row = demo_frame.drop(columns=[params.data.target]).iloc[:1].copy()
    row["income"], row["region"] = None, None
    unseen, missing = row.assign(employment="astronaut"), row.assign(employment=None)
    x = encoder.transform(unseen)
    assert x.shape == (1, encoder.input_dim) and np.isfinite(x).all()
    assert np.array_equal(x, encoder.transform(missing))  # an unseen category encodes like a missing one
    assert x.sum() < encoder.transform(row.assign(employment="employed")).sum() + 1e-6


def test_numeric_columns_are_standardised_on_training_data(demo_frame, params):
    encoder = _fit(demo_frame, params)
    x = encoder.transform(demo_frame)
    assert abs(x[:, 0].mean()) < 1e-5 and abs(x[:, 0].std() - 1) < 1e-3


def test_state_round_trips_through_json(demo_frame, params):
    encoder = _fit(demo_frame, params)
    restored = TabularEncoder.from_state(json.loads(json.dumps(encoder.state())))
    assert np.array_equal(restored.transform(demo_frame), encoder.transform(demo_frame))
    assert restored.classes == sorted(demo_frame[params.data.target].unique().tolist())


def test_string_labels_are_encoded_in_sorted_order():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["no", "yes", "no"]})
    encoder = TabularEncoder.fit(frame, type("C", (), {"numeric": ["x"], "categorical": []})(), "y")
    assert encoder.classes == ["no", "yes"] and encoder.encode_target(frame["y"]).tolist() == [0, 1, 0]


def test_network_outputs_one_logit_per_class(demo_frame, params):
    import torch

    encoder = _fit(demo_frame, params)
    network = build_network(encoder, ModelConfig(hidden_sizes=[8], dropout=0.0))
    assert network(torch.zeros(3, encoder.input_dim)).shape == (3, len(encoder.classes))

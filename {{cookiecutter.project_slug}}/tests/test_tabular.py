import json

import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.config import ModelConfig
from {{ cookiecutter.module_name }}.pipeline.data import validate_table
from {{ cookiecutter.module_name }}.pipeline.tasks.tabular import TabularEncoder, build_network


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


def _request_records(frame, encoder, params) -> list[dict]:
    """Rows as the service gets them: validated by the request model (floats, strings, None for missing)."""
    from {{ cookiecutter.module_name }}.release.serving import record_model

    Record = record_model(encoder, params.serving.model_dump())
    rows = frame[list(Record.model_fields)].astype(object).where(frame.notna(), None).to_dict("records")
    return [Record.model_validate(row).model_dump() for row in rows]


def test_the_serving_path_encodes_records_bit_for_bit_as_the_frame_path(demo_frame, params):
    encoder = _fit(demo_frame, params)
    records = _request_records(demo_frame, encoder, params)
    numeric, categorical = list(encoder.numeric), list(encoder.categorical)
    records[0] |= dict.fromkeys(numeric + categorical)  # every input missing
    records[1] |= {categorical[0]: "never seen in training"}
    if numeric:  # far out: the largest value the request model takes overflows float32 once scaled
        std, mean = encoder.numeric[numeric[0]]["std"], encoder.numeric[numeric[0]]["mean"]
        records[2] |= {numeric[0]: mean + 1e6 * std, numeric[-1]: -0.0}
        records[3] |= {numeric[0]: 1e300}
    assert all(type(record[name]) in (float, type(None)) for record in records for name in numeric)  # the fast path
    for batch in (records[:1], records[:4], records):
        with np.errstate(over="ignore"):  # float32 overflow, in both paths
            fast, frame_path = encoder.transform_records(batch), encoder.transform(pd.DataFrame.from_records(batch))
        assert fast.dtype == frame_path.dtype == np.float32 and fast.shape == frame_path.shape
        assert fast.tobytes() == frame_path.tobytes()  # bit for bit: NaN/inf, signed zeros and rounding alike


def test_records_the_request_model_would_not_give_take_the_frame_path(demo_frame, params):
    encoder = _fit(demo_frame, params)
    records = _request_records(demo_frame.head(5), encoder, params)
    numeric, categorical = list(encoder.numeric), list(encoder.categorical)
    odd = [records[0] | {numeric[0]: 41}, records[1] | {numeric[-1]: "7.5"}, records[2] | {categorical[0]: 3}]
    odd.append({key: value for key, value in records[3].items() if key != numeric[0]})  # an absent key is missing
    expected = encoder.transform(pd.DataFrame.from_records(odd))
    assert encoder.transform_records(odd).tobytes() == expected.tobytes()
    assert expected[1, 2 * len(numeric) - 1] == 0  # "7.5" was read as a number there (its missing flag is 0)

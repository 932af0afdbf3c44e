"""Text task: tokenizer + transformer from a local directory (no hub), encoder state, network, request schema."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from {{ cookiecutter.module_name }}.pipeline.data import DataError, describe_schema, schema, validate_table
from {{ cookiecutter.module_name }}.pipeline.tasks import task
from {{ cookiecutter.module_name }}.pipeline.training import weights_to_bytes
from {{ cookiecutter.module_name }}.release.artifact import Predictor, write_model_dir
from {{ cookiecutter.module_name }}.release.serving import record_model

from .conftest import EXAMPLE


@pytest.fixture()
def settings(params, tiny_dir):
    return params.model_copy(update={"model": params.model.model_copy(update={"name_or_path": str(tiny_dir)})})


@pytest.fixture()
def encoder(demo_frame, settings):
    return task.fit_encoder(demo_frame, validate_table(demo_frame, settings.data), settings)


def test_only_the_text_column_is_an_input(demo_frame, params):
    columns = validate_table(demo_frame, params.data)
    assert columns.features == [params.data.text_column] and columns.numeric == columns.categorical == []
    found = schema(demo_frame, columns)  # the data contract: one text column, nothing to pin
    assert describe_schema(found, params.data, {}) == f"data schema:\n  {params.data.text_column}: text"


def test_blank_texts_are_reported(demo_frame, params):
    frame = demo_frame.copy()
    frame.loc[:2, params.data.text_column] = "  "
    with pytest.raises(DataError, match="empty in 3 rows"):
        validate_table(frame, params.data)


def test_encoder_pads_to_the_longest_text_and_survives_json(encoder, demo_frame, settings):
    ids, mask = encoder.transform(demo_frame.head(5))
    assert ids.shape == mask.shape and ids.dtype == np.int64
    assert ids.shape[1] == mask.sum(1).max() <= settings.model.max_length  # no column is padding in every row
    assert encoder.transform(demo_frame.head(0))[0].shape == (0, 0)  # an empty split (validation_size: 0)
    restored = task.encoder_from_state(json.loads(json.dumps(encoder.state())))
    assert np.array_equal(restored.transform(demo_frame.head(5))[0], ids)
    assert encoder.classes == sorted(demo_frame[settings.data.target].unique().tolist())


def _with_a_long_text(frame, settings):
    """The demo texts plus one text longer than `model.max_length` tokens, last."""
    long = frame.head(1).assign(**{settings.data.text_column: " ".join(["good"] * 3 * settings.model.max_length)})
    return pd.concat([frame.head(40), long], ignore_index=True)


def test_batches_of_short_texts_are_narrower_than_max_length(encoder, demo_frame, settings):
    from {{ cookiecutter.module_name }}.pipeline.training import _loader

    frame = _with_a_long_text(demo_frame, settings)
    ids, mask = encoder.transform(frame)
    assert ids.shape[1] == settings.model.max_length  # one long text: the split is padded to max_length
    batches = list(_loader((ids, mask), np.zeros(len(frame), dtype="int64"), 8, False, 0, False))
    for batch_ids, batch_mask, _ in batches[:-1]:  # short texts only
        assert batch_ids.shape == batch_mask.shape and batch_ids.shape[1] == int(batch_mask.sum(1).max())
        assert batch_ids.shape[1] < settings.model.max_length
    assert batches[-1][0].shape[1] == settings.model.max_length  # the batch with the long text


def test_trimmed_predictions_equal_padded_ones(encoder, demo_frame, settings):
    import torch

    from {{ cookiecutter.module_name }}.pipeline.evaluation import predict_proba

    network = task.build_network(encoder, settings.model).eval()
    ids, mask = encoder.transform(_with_a_long_text(demo_frame, settings))
    trimmed = predict_proba(network, (ids, mask), batch_size=8)
    with torch.inference_mode():  # every batch at the full max_length width
        padded = torch.softmax(network(torch.from_numpy(ids), torch.from_numpy(mask)), -1).numpy()
    assert np.allclose(trimmed, padded, atol=1e-5)


def test_network_from_pretrained_and_from_stored_config_agree(encoder, settings, demo_frame):
    import torch

    pretrained = task.build_network(encoder, settings.model).eval()
    rebuilt = task.build_network(encoder, settings.model, pretrained=False)
    rebuilt.load_state_dict(pretrained.state_dict())
    ids, mask = (torch.from_numpy(a) for a in encoder.transform(demo_frame.head(4)))
    logits = pretrained(ids, mask)
    assert logits.shape == (4, len(encoder.classes)) and torch.allclose(logits, rebuilt.eval()(ids, mask))


def test_frozen_encoder_trains_only_the_head(encoder, settings):
    frozen = task.build_network(encoder, settings.model.model_copy(update={"freeze_encoder": True}))
    trainable = {name for name, p in frozen.named_parameters() if p.requires_grad}
    assert trainable and all("classifier" in name for name in trainable)


def test_packaged_model_serves_the_example(tmp_path, encoder, settings):
    network = task.build_network(encoder, settings.model)
    spec = {
        "task": task.NAME,
        "encoder": encoder.state(),
        "network": settings.model.model_dump(),
        "serving": settings.serving.model_dump(),
    }
    predictor = Predictor(write_model_dir(tmp_path, weights_to_bytes(network), spec))
    Record = record_model(predictor.encoder, predictor.serving)
    predictions = predictor.predict([Record(**r).model_dump() for r in EXAMPLE])
    assert len(predictions) == len(EXAMPLE) and all(p.label in encoder.classes for p in predictions)


@pytest.mark.parametrize("text", ["", "   ", "x" * 6000, 42, None])
def test_bad_texts_are_refused(encoder, settings, text):
    Record = record_model(encoder, settings.serving.model_dump())
    with pytest.raises(ValidationError, match="text"):
        Record(text=text)


def test_three_sentiments_fine_tune_a_two_label_checkpoint(tmp_path, settings, capfd):
    """A checkpoint saved with another number of labels (the tiny model, or a 2-label fine-tune) gets a new head, said
    in one line instead of Hugging Face's LOAD REPORT table of MISSING keys."""
    import pandas as pd

    from {{ cookiecutter.module_name }}.pipeline.demo_data import generate

    path = generate(tmp_path / "three.csv", 90, settings.data.target, {{ "settings.data.sensitive_features" if cookiecutter.__fairness else "[]" }}, classes=3)
    frame = pd.read_csv(path)
    encoder = task.fit_encoder(frame, validate_table(frame, settings.data), settings)
    assert encoder.classes == ["negative", "neutral", "positive"]
    network = task.build_network(encoder, settings.model)  # the tiny checkpoint has 2 labels
    said = capfd.readouterr()
    assert "new classification head for 3 classes, trained here: ['classifier.bias', 'classifier.weight']" in said.out
    assert "LOAD REPORT" not in said.out + said.err and "WARNING" not in said.out
    spec = {
        "task": task.NAME,
        "encoder": encoder.state(),
        "network": settings.model.model_dump(),
        "serving": settings.serving.model_dump(),
    }
    predictor = Predictor(write_model_dir(tmp_path / "model", weights_to_bytes(network), spec))
    (prediction,) = predictor.predict([{settings.data.text_column: "It is okay and fine."}])
    assert set(prediction.probabilities) == set(encoder.classes)


def test_fine_tuning_shows_progress_inside_the_epoch(encoder, demo_frame, settings, capsys):
    """A text epoch can run for minutes: progress lines inside it (here after each batch) say how far it is."""
    from {{ cookiecutter.module_name }}.pipeline.training import fit

    frame = demo_frame.head(48)
    x, y = encoder.transform(frame), encoder.encode_target(frame[settings.data.target])
    update = {"max_epochs": 1, "batch_size": 16, "progress_every_s": 0, "accelerator": "cpu", "threads": 1}
    fit(task.build_network(encoder, settings.model), (x, y), (x, y), settings.training.model_copy(update=update), 0)
    lines = re.findall(r"^epoch 1/1  batch (\d)/3  \d+ samples/s  ETA \d+s$", capsys.readouterr().out, re.M)
    assert lines == ["1", "2", "3"]


def test_the_base_model_read_is_recorded(encoder, tiny_dir):
    """A local directory is recorded by content (md5 of its files); a hub id would record the commit it resolved to."""
    from {{ cookiecutter.module_name }}.pipeline.tasks.text import dir_md5

    assert encoder.base_model == {"name_or_path": str(tiny_dir), "revision": "", "commit": f"md5:{dir_md5(tiny_dir)}"}


def test_tiny_model_builder_is_seeded(tmp_path, demo_frame):
    from {{ cookiecutter.module_name }}.pipeline.tasks.text import dir_md5
    from {{ cookiecutter.module_name }}.pipeline.tiny_model import build

    texts = demo_frame["text"].tolist()
    first, again = build(texts, tmp_path / "a"), build(texts, tmp_path / "b")
    assert dir_md5(first) == dir_md5(again) and dir_md5(first) != dir_md5(build(texts, tmp_path / "c", seed=1))

{%- if cookiecutter.mitigation %}


def test_cross_fitting_scores_every_text_out_of_fold(demo_frame, encoder, settings):
    """Fairness thresholds' cross-fitting on text inputs (token ids + mask): one score per row, from a network that
    did not train on it."""
    from {{ cookiecutter.module_name }}.gates.mitigation import out_of_fold_scores

    if len(encoder.classes) != 2:
        pytest.skip("mitigation is for binary targets")
    rows = demo_frame.head(60)
    cfg = settings.model_copy(
        update={
            "mitigation": settings.mitigation.model_copy(update={"folds": 2}),
            "training": settings.training.model_copy(update={"max_epochs": 1}),
        }
    )
    scores, y = out_of_fold_scores(encoder, rows, cfg)
    assert scores.shape == y.shape == (60,) and ((scores > 0) & (scores < 1)).all()
{%- endif %}

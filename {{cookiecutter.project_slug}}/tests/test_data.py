import pytest

from {{ cookiecutter.module_name }}.pipeline.data import DataError, {{ "" if cookiecutter.task == "tabular_regression" else "classes_of, " }}read_table, split, validate_table

from .conftest import EXAMPLE

NUMBER = next(k for k, v in EXAMPLE[0].items() if isinstance(v, int | float))


def test_features_are_inferred_without_target_or_sensitive(demo_frame, params):
    columns = validate_table(demo_frame, params.data)
    assert params.data.target not in columns.features
    assert not set(params.data.sensitive_features) & set(columns.features)
    assert columns.features == list(EXAMPLE[0])  # the shipped request has exactly the model's inputs
    assert columns.numeric == [k for k, v in EXAMPLE[0].items() if isinstance(v, int | float)]


def test_sensitive_feature_can_be_kept(demo_frame, params):
    data = params.data.model_copy(update={"use_sensitive_as_feature": True})
    assert set(params.data.sensitive_features) <= set(validate_table(demo_frame, data).features)


def test_every_problem_is_reported(demo_frame, params):
    frame = demo_frame.copy()
    frame.loc[:4, params.data.target] = None
    frame[NUMBER] = None
    with pytest.raises(DataError) as err:
        validate_table(frame, params.data)
    assert "missing in 5 rows" in str(err.value) and f"no values at all: [{NUMBER!r}]" in str(err.value)


def test_missing_column_is_named_with_the_config_file(demo_frame, params):
    with pytest.raises(DataError, match=rf"columns named in v.yaml are not in the data: \['{params.data.target}'\]"):
        validate_table(demo_frame.drop(columns=[params.data.target]), params.data, "v.yaml")


def test_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DataError, match="unsupported format"):
        read_table(tmp_path / "data.xlsx")
    (tmp_path / "data.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="cannot be read as parquet"):
        read_table(tmp_path / "data.parquet")


def test_parquet_reads_like_csv(tmp_path, demo_frame):
    demo_frame.to_parquet(tmp_path / "d.parquet")
    assert read_table(tmp_path / "d.parquet").shape == demo_frame.shape


{% if cookiecutter.task == "tabular_regression" -%}
def test_split_is_seeded_and_disjoint(demo_frame, params):
{%- else -%}
def test_split_is_seeded_stratified_and_disjoint(demo_frame, params):
{%- endif %}
    parts = split(demo_frame, params.split, params.data.target, seed=1)
    again = split(demo_frame, params.split, params.data.target, seed=1)
    assert all(parts[k].index.equals(again[k].index) for k in parts)
    assert sum(len(p) for p in parts.values()) == len(demo_frame)
    assert not set(parts["train"].index) & set(parts["test"].index)
{%- if cookiecutter.task != "tabular_regression" %}
    shares = demo_frame[params.data.target].value_counts(normalize=True)  # stratified: each class's share kept
    test_shares = parts["test"][params.data.target].value_counts(normalize=True)
    assert (test_shares.reindex(shares.index, fill_value=0) - shares).abs().max() < 0.02
{%- endif %}
{%- if cookiecutter.task != "tabular_regression" %}


def _labelled(frame, params, labels):
    frame = frame.copy()
    frame[params.data.target] = [labels[i % len(labels)] for i in range(len(frame))]
    return frame


@pytest.fixture()
def unlabelled(params):
    """The data section with no positive label set, whatever params.yaml names for your own data."""
    return params.data.model_copy(update={"positive_label": None})


def test_named_labels_need_a_positive_class(demo_frame, params, unlabelled):
    frame = _labelled(demo_frame, params, ["approved", "denied"])
    with pytest.raises(DataError, match="set data.positive_label"):
        validate_table(frame, unlabelled)
    chosen = unlabelled.model_copy(update={"positive_label": "approved"})
    validate_table(frame, chosen)
    assert classes_of(frame[params.data.target], "approved") == ["denied", "approved"]  # positive last, not sorted
    wrong = unlabelled.model_copy(update={"positive_label": "accepted"})
    with pytest.raises(DataError, match="positive_label 'accepted' is not a class"):
        validate_table(frame, wrong)


def test_zero_one_labels_default_to_one_as_positive(demo_frame, params, unlabelled):
    frame = _labelled(demo_frame, params, [1, 0])
    validate_table(frame, unlabelled)
    assert classes_of(frame[params.data.target]) == [0, 1]
    assert classes_of(frame[params.data.target], 0) == [1, 0]  # a positive label of 0 is honoured too


def test_multiclass_targets_are_accepted_without_a_positive_label(demo_frame, params, unlabelled):
    frame = _labelled(demo_frame, params, ["low", "mid", "high"])
    validate_table(frame, unlabelled)
    with pytest.raises(DataError, match="positive_label applies to binary targets"):
        validate_table(frame, unlabelled.model_copy(update={"positive_label": "high"}))
{%- endif %}

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.pipeline.data import (
    DataError,
{%- if cookiecutter.task != "tabular_regression" %}
    classes_of,
{%- endif %}
    describe_schema,
    read_table,
    schema,
    split,
    validate_table,
)

from .conftest import EXAMPLE

NUMBER = next(k for k, v in EXAMPLE[0].items() if isinstance(v, int | float))
{%- if cookiecutter.__fairness %}


def test_features_are_inferred_without_target_or_sensitive(demo_frame, params):
    columns = validate_table(demo_frame, params.data)
    assert params.data.target not in columns.features
    assert not set(params.data.sensitive_features) & set(columns.features)
{%- else %}


def test_features_are_inferred_without_target(demo_frame, params):
    columns = validate_table(demo_frame, params.data)
    assert params.data.target not in columns.features
{%- endif %}
    assert columns.features == list(EXAMPLE[0])  # the shipped request has exactly the model's inputs
    assert columns.numeric == [k for k, v in EXAMPLE[0].items() if isinstance(v, int | float)]
{%- if cookiecutter.__fairness %}


def test_sensitive_feature_can_be_kept(demo_frame, params):
    data = params.data.model_copy(update={"use_sensitive_as_feature": True})
    assert set(params.data.sensitive_features) <= set(validate_table(demo_frame, data).features)
{%- endif %}


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


def _table(rows: int = 200, classes: tuple = (0, 1)) -> pd.DataFrame:
    """A table of the tests' own (whatever your data holds): a numeric column, a categorical one and a target."""
    rng = np.random.default_rng(0)
{%- if cookiecutter.task == "tabular_regression" %}
    target = rng.normal(size=rows)
{%- else %}
    target = [classes[i % len(classes)] for i in range(rows)]
{%- endif %}
    return pd.DataFrame({"x": rng.normal(size=rows), "kind": rng.choice(["a", "b"], rows), "y": target})


def _data(params, **pinned):
    """The data section for `_table`, with `pinned` (data.numeric, data.categorical, data.coerce_numeric)."""
    update = {"target": "y", "features": [], "drop": []{{ ', "sensitive_features": []' if cookiecutter.__fairness }}, "numeric": [], "categorical": []}
{%- if cookiecutter.task != "tabular_regression" %}
    update["positive_label"] = None
{%- endif %}
    return params.data.model_copy(update=update | {"coerce_numeric": []} | pinned)


def _typos(frame: pd.DataFrame, rows: int, value: str = "unknown") -> pd.DataFrame:
    frame["x"] = frame["x"].astype(object)
    frame.loc[: rows - 1, "x"] = value
    return frame


def test_numbers_with_a_few_non_numbers_are_refused_with_the_count_and_examples(params):
    """pandas reads such a column as text: inferred, it would silently become a category."""
    frame = _typos(_table(), 10)
    frame.loc[10, "x"] = "?"
    found = r"column 'x' holds numbers, but 11 of its 200 values are not: \['unknown', '\?'\]: fix them upstream"
    with pytest.raises(DataError, match=found):
        validate_table(frame.copy(), _data(params))
    assert "x" in validate_table(frame.copy(), _data(params, categorical=["x"])).categorical  # as said: a category
    mostly_text = _typos(frame, 21, "word")  # 89.5% numbers: below the 90% rule, a category
    assert "x" in validate_table(mostly_text, _data(params)).categorical


def test_coerce_numeric_reads_non_numbers_as_missing_and_counts_them(params):
    frame, data = _typos(_table(), 10), _data(params, coerce_numeric=["x"])
    columns = validate_table(frame, data)
    assert "x" in columns.numeric and columns.coerced == {"x": 10}
    assert frame["x"].isna().sum() == 10 and pd.api.types.is_float_dtype(frame["x"])
    assert "  x: numeric (10 non-numbers read as missing)" in describe_schema(schema(frame, columns), data, {"x": 10})


def test_a_pinned_numeric_column_refuses_any_non_number(params):
    frame = _typos(_table(), 1, "n/a")
    with pytest.raises(DataError, match=r"column 'x' \(data.numeric\) holds numbers, but 1 of its 200 values are not"):
        validate_table(frame, _data(params, numeric=["x"]))


def test_the_schema_names_each_type_and_the_categories_and_says_how_to_pin_it(params):
    frame, data = _table(), _data(params)
    found = schema(frame, validate_table(frame, data))
    assert found == {"x": "numeric", "kind": ["a", "b"]}
    pin = "2 columns inferred; pin them in params.yaml as data.numeric: ['x'] and data.categorical: ['kind']"
    assert pin in describe_schema(found, data, {}) and "  kind: categorical, 2 categories: a, b" in describe_schema(
        found, data, {}
    )
    pinned = _data(params, numeric=["x"], categorical=["kind"])
    assert describe_schema(found, pinned, {}).startswith("data schema (pinned in params.yaml):")
    codes = _data(params, categorical=["x"])  # numbers pinned as categories
    assert schema(frame, validate_table(frame, codes))["x"] == sorted(frame["x"].astype(str).unique().tolist())


def test_a_directory_as_the_data_path_is_called_a_directory(tmp_path):
    with pytest.raises(DataError, match=f"data.path in v.yaml is the directory {tmp_path}: name a CSV or Parquet file"):
        read_table(tmp_path, config="v.yaml")


{% if cookiecutter.task == "tabular_regression" -%}
def test_split_sizes_too_small_stop_before_any_split(params):
    frame = _table(20)
    tiny = params.split.model_copy(update={"test_size": 0.05})
    with pytest.raises(DataError, match=r"split.test_size: 0.05 in v.yaml leaves the test split 1 of 20 rows, fewer "):
        split(frame, tiny, "y", seed=1, config="v.yaml")
{%- else -%}
def test_split_sizes_too_small_for_the_classes_stop_before_any_split(params):
    """scikit-learn would raise a ValueError deep in the split; the message names the file, the key and the value."""
    three = _table(178, classes=(0, 1, 2))
    tiny = params.split.model_copy(update={"test_size": 0.01})
    found = r"split.test_size: 0.01 in v.yaml leaves the test split 2 of 178 rows, fewer than the 3 classes of 'y'"
    with pytest.raises(DataError, match=found):
        split(three, tiny, "y", seed=1, config="v.yaml")
    rare = _table(1000)
    rare.loc[:9, "y"] = 2  # 10 rows in 1000: a 2% test split would get 0.2 of them
    small = params.split.model_copy(update={"test_size": 0.02, "validation_size": 0.1})
    with pytest.raises(DataError, match=r"the rarest class \(10 of 1000 rows\) would get 0.2 rows \(stratified\)"):
        split(rare, small, "y", seed=1)
    starved = params.split.model_copy(update={"test_size": 0.5, "validation_size": 0.39})
    found = r"split.test_size \+ split.validation_size: 0.89 in params.yaml leaves the train split 2 of 20 rows"
    with pytest.raises(DataError, match=found):
        split(three.head(20), starved, "y", seed=1)


def test_class_names_in_messages_are_plain_values(params):
    frame = _table()
    frame.loc[:2, "y"] = 2  # numpy integers in the data, a plain 2 in the message
    with pytest.raises(DataError, match=r"class 2 of 'y' has 3 rows") as err:
        validate_table(frame, _data(params))
    assert "np." not in str(err.value)
{%- endif %}

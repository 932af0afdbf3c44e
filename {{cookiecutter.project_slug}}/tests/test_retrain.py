"""Retraining's data step without a flow run: which batch rows join the training table, and how they are written."""

import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.monitoring.retrain import RetrainError, append, new_rows

TABLE = pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "b", "a"], "y": [0, 1, 0]})


def test_only_new_labelled_rows_join_in_the_tables_column_order():
    batch = pd.DataFrame({"y": [1, None, 0, 1], "g": ["b", "a", "c", "b"], "x": [2, 9, 4, 2]})  # 2 is row 2 of TABLE
    rows = new_rows(TABLE, batch, "y", "b.csv")
    assert list(rows.columns) == ["x", "g", "y"] and rows.to_dict("records") == [{"x": 4.0, "g": "c", "y": 0}]
    assert rows["y"].dtype == TABLE["y"].dtype  # the blank label read the column as floats: written back as integers


def test_a_batch_that_adds_nothing_or_does_not_fit_is_refused():
    with pytest.raises(RetrainError, match=r"missing \['g'\], extra \['z'\]"):
        new_rows(TABLE, pd.DataFrame({"x": [1.0], "z": [1], "y": [0]}), "y", "b.csv")
    with pytest.raises(RetrainError, match="no labelled rows"):
        new_rows(TABLE, TABLE.assign(y=None), "y", "b.csv")
    with pytest.raises(RetrainError, match="already in the training table"):
        new_rows(TABLE, TABLE.iloc[::-1], "y", "b.csv")


def test_appending_to_a_csv_leaves_the_rows_already_there_byte_for_byte(tmp_path):
    path = tmp_path / "data.csv"
    TABLE.to_csv(path, index=False)
    before = path.read_bytes()
    append(path, TABLE, pd.DataFrame({"x": [4.5], "g": ["c"], "y": [1]}))
    assert path.read_bytes().startswith(before) and pd.read_csv(path).shape == (4, 3)
    parquet = tmp_path / "data.parquet"
    TABLE.to_parquet(parquet, index=False)
    append(parquet, TABLE, pd.DataFrame({"x": [4.5], "g": ["c"], "y": [1]}))
    assert pd.read_parquet(parquet)["x"].tolist() == [1.0, 2.0, 3.0, 4.5]

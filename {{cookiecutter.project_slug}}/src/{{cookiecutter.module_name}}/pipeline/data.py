"""Read the training table, check it against params.yaml, split it. Problems are collected and reported together."""

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DEFAULT_FILE, DataConfig, SplitConfig
from ..errors import DataError

MIN_ROWS_PER_CLASS = 5


@dataclass(frozen=True)
class Columns:
    """Which columns the model sees, and how each is encoded."""

    numeric: list[str]
    categorical: list[str]
    text: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical + self.text


def read_table(path: str | Path, content: bytes | None = None, config: str = DEFAULT_FILE) -> pd.DataFrame:
    """Parse a CSV or Parquet table from `path`, or from `content` already read (e.g. through DVC) for that path.
    `config`: the file that names the path, for the message."""
    path = Path(path)
    if content is None and not path.is_file():
        raise DataError(f"data file {path} not found (check data.path in {config})")
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
    if path.suffix not in readers:
        raise DataError(f"data file {path}: unsupported format {path.suffix!r} (use .csv or .parquet)")
    try:
        return readers[path.suffix](io.BytesIO(content) if content is not None else path)
    except ValueError as err:  # pandas' and pyarrow's parse errors, and undecodable text, are ValueErrors
        raise DataError(f"data file {path} cannot be read as {path.suffix[1:]}: {str(err).strip()[:300]}") from None


def _listing(names, limit: int = 20) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{names[:limit]}{more}"


def infer_columns(df: pd.DataFrame, cfg: DataConfig) -> Columns:
    if cfg.text_column:
        return Columns(numeric=[], categorical=[], text=[cfg.text_column])
    excluded = {cfg.target, *cfg.drop, *([] if cfg.use_sensitive_as_feature else cfg.sensitive_features)}
    features = cfg.features or [c for c in df.columns if c not in excluded]
    numeric = [
        c
        for c in features
        if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) and c not in cfg.categorical
    ]
    return Columns(numeric=numeric, categorical=[c for c in features if c not in numeric])


def validate_table(df: pd.DataFrame, cfg: DataConfig, config: str = DEFAULT_FILE) -> Columns:
    """Return the feature columns, or raise DataError naming every problem at once (`config`: the file that names
    the columns, for the message)."""
    named = [cfg.target, *cfg.features, *cfg.categorical, *cfg.drop, *cfg.sensitive_features]
    named += [cfg.text_column] if cfg.text_column else []
    missing = sorted({c for c in named if c not in df.columns})
    if missing:
        found = _listing(df.columns)
        raise DataError(f"columns named in {config} are not in the data: {missing}; the data has {found}")
    problems = []
    columns = infer_columns(df, cfg)
    if not columns.features:
        problems.append("no feature columns left after removing the target, dropped and sensitive columns")
    if (n := int(df[cfg.target].isna().sum())) > 0:
        problems.append(f"target {cfg.target!r} is missing in {n} rows (fill or remove them upstream)")
{%- if cookiecutter.task == "tabular_regression" %}
    values = pd.to_numeric(df[cfg.target], errors="coerce")
    if (n := int((values.isna() & df[cfg.target].notna()).sum())) > 0:
        problems.append(f"target {cfg.target!r} is not a number in {n} rows (a regression predicts numbers)")
    elif not np.isfinite(values.dropna()).all():
        problems.append(f"target {cfg.target!r} holds infinite values")
    elif values.nunique() < 2:
        problems.append(f"target {cfg.target!r} has {values.nunique()} distinct value(s); a regression needs more")
{%- else %}
    counts = df[cfg.target].value_counts()
    classes = classes_of(df[cfg.target])
    if len(counts) < 2:
        problems.append(f"target {cfg.target!r} has {len(counts)} class(es) {classes}; at least 2 are needed")
    elif counts.min() < MIN_ROWS_PER_CLASS:
        problems.append(f"class {counts.idxmin()!r} of {cfg.target!r} has {counts.min()} rows (< {MIN_ROWS_PER_CLASS})")
    problems += _label_problems(classes, cfg)
{%- endif %}
    empty = [c for c in columns.features if df[c].isna().all()]
    if empty:
        problems.append(f"feature columns with no values at all: {empty}")
    for col in columns.text:
        if (blank := int(df[col].fillna("").astype(str).str.strip().eq("").sum())) > 0:
            problems.append(f"text column {col!r} is empty in {blank} rows (remove or fill them upstream)")
    if problems:
        raise DataError(f"data does not match {config}:\n" + "\n".join(f"  - {p}" for p in problems))
    return columns


{% if cookiecutter.task != "tabular_regression" -%}
def _label_problems(classes: list, cfg: DataConfig) -> list[str]:
    """A binary target needs to know its positive class; a positive label must be one of the classes."""
    if cfg.positive_label is None:
        if needs_positive_label(classes):
            return [
                f"target {cfg.target!r} has classes {classes}: set data.positive_label to the one that precision, "
                "recall and selection rate refer to"
            ]
        return []
    if len(classes) > 2:
        return [f"data.positive_label applies to binary targets; {cfg.target!r} has {len(classes)} classes {classes}"]
    if not any(_same(c, cfg.positive_label) for c in classes):
        return [f"data.positive_label {cfg.positive_label!r} is not a class of {cfg.target!r}: classes are {classes}"]
    return []


{% endif -%}

def split(df: pd.DataFrame, cfg: SplitConfig, target: str, seed: int) -> dict[str, pd.DataFrame]:
{%- if cookiecutter.task == "tabular_regression" %}
    """Seeded train / validation / test split."""
    from sklearn.model_selection import train_test_split

    def cut(frame, size):
        return train_test_split(frame, test_size=size, random_state=seed)
{%- else %}
    """Seeded (and by default stratified) train / validation / test split."""
    from sklearn.model_selection import train_test_split

    def cut(frame, size):
        return train_test_split(
            frame, test_size=size, random_state=seed, stratify=frame[target] if cfg.stratify else None
        )
{%- endif %}

    rest, test = cut(df, cfg.test_size)
    if cfg.validation_size == 0:
        return {"train": rest, "validation": rest.iloc[:0], "test": test}
    train, validation = cut(rest, cfg.validation_size / (1 - cfg.test_size))
    return {"train": train, "validation": validation, "test": test}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value  # numpy scalar -> JSON-safe Python value


def _same(value, wanted) -> bool:
    """A label from params.yaml names a class whether the data holds it as a number, a bool or a string."""
    return value == wanted or str(value) == str(wanted)


def needs_positive_label(classes: list) -> bool:
    """Binary labels other than 0/1 or false/true do not say which class is the positive one."""
    return len(classes) == 2 and not ({*classes} <= {0, 1} or {*classes} <= {False, True})


def classes_of(target: pd.Series, positive=None) -> list:
    """The target's values as plain Python scalars: list index = class id. Sorted, except that a binary target's
    positive class (`data.positive_label`, else 1 / true) is last, so column -1 of the probabilities is P(positive)."""
    classes = sorted(_plain(v) for v in target.dropna().unique())
    if positive is not None and len(classes) == 2:
        classes = [c for c in classes if not _same(c, positive)] + [c for c in classes if _same(c, positive)]
    return classes


def encode_labels(classes: list, values: pd.Series) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[_plain(v)] for v in values], dtype="int64")


def model_inputs(columns: Columns, cfg) -> list[str]:
{%- if cookiecutter.mitigation %}
    """The served model's input fields: the features, plus the sensitive features when fairness thresholds (fitted
    per group) decide the labels."""
    groups = cfg.data.sensitive_features if cfg.mitigation.method != "none" else []
    return columns.features + [c for c in groups if c not in columns.features]
{%- else %}
    """The served model's input fields: the features (`cfg`: the fairness mitigation option adds the groups)."""
    return list(columns.features)
{%- endif %}


def request_example(df: pd.DataFrame, columns: Columns, inputs: list[str], rows: int = 2) -> dict:
    """A valid `POST /predict` body from the data's first rows, for examples/request.json: numbers for numeric
    features, text for the rest, null where missing."""

    def value(column: str, v):
        if pd.isna(v):
            return None
        return _plain(v) if column in columns.numeric else str(v)

    records = df[inputs].head(rows).to_dict("records")
    return {"records": [{c: value(c, r[c]) for c in inputs} for r in records]}

"""Read the training table, check it against params.yaml, split it. Problems are collected and reported together."""

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DEFAULT_FILE, DataConfig, SplitConfig
from ..errors import DataError

MIN_ROWS_PER_CLASS = 5
MOSTLY_NUMERIC = 0.9  # an inferred column whose values are at least 90% numbers holds numbers with a few typos


@dataclass(frozen=True)
class Columns:
    """Which columns the model sees, and how each is encoded."""

    numeric: list[str]
    categorical: list[str]
    text: list[str] = field(default_factory=list)
    coerced: dict[str, int] = field(default_factory=dict)  # data.coerce_numeric: column -> non-numbers read as missing

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical + self.text


def read_table(path: str | Path, content: bytes | None = None, config: str = DEFAULT_FILE) -> pd.DataFrame:
    """Parse a CSV or Parquet table from `path`, or from `content` already read (e.g. through DVC) for that path.
    `config`: the file that names the path, for the message."""
    from ..lineage.lineage import require_file

    path = Path(path)
    if content is None:
        require_file(str(path), config, pointer_will_do=False)
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
{%- if cookiecutter.__fairness %}
    excluded = {cfg.target, *cfg.drop, *([] if cfg.use_sensitive_as_feature else cfg.sensitive_features)}
{%- else %}
    excluded = {cfg.target, *cfg.drop}
{%- endif %}
    features = cfg.features or [c for c in df.columns if c not in excluded]
    pinned = {*cfg.numeric, *cfg.coerce_numeric}
    numeric = [
        c
        for c in features
        if c in pinned
        or (c not in cfg.categorical and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]))
    ]
    return Columns(numeric=numeric, categorical=[c for c in features if c not in numeric])


def _not_numbers(values: pd.Series) -> pd.Series:
    """The values present that do not parse as numbers."""
    present = values.dropna()
    return present[pd.to_numeric(present, errors="coerce").isna()]


def _type_problems(df: pd.DataFrame, columns: Columns, cfg: DataConfig) -> list[str]:
    """Numeric columns (pinned, or inferred) stored as text must hold numbers: read as numbers in place, their values
    that are not numbers read as missing where data.coerce_numeric says so (counted in `columns.coerced`), else
    refused. A column inferred as categorical whose values are mostly numbers (MOSTLY_NUMERIC) is refused too: pandas
    reads a number column with a few typos as text, which would silently make it a category."""
    problems = []
    for col in columns.numeric:
        if pd.api.types.is_numeric_dtype(df[col]):
            continue
        bad = _not_numbers(df[col])
        if not bad.empty and col not in cfg.coerce_numeric:
            problems.append(_typos(f"{col!r} (data.numeric)", bad, df[col]) + f": fix them upstream, or {COERCE}")
            continue
        columns.coerced.update({col: len(bad)} if col in cfg.coerce_numeric else {})
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in columns.categorical:
        if col in cfg.categorical or pd.api.types.is_bool_dtype(df[col]):
            continue
        bad, present = _not_numbers(df[col]), int(df[col].notna().sum())
        if len(bad) and present - len(bad) >= MOSTLY_NUMERIC * present:
            keep = "or list it in data.categorical to keep it a category"
            problems.append(f"{_typos(repr(col), bad, df[col])}: fix them upstream, {COERCE}, {keep}")
    return problems


COERCE = "list the column in data.coerce_numeric to read them as missing"


def _typos(col: str, bad: pd.Series, values: pd.Series) -> str:
    examples = [_plain(v) for v in bad.drop_duplicates().head(5)]
    return f"column {col} holds numbers, but {len(bad)} of its {int(values.notna().sum())} values are not: {examples}"


def schema(df: pd.DataFrame, columns: Columns) -> dict:
    """The data contract a run trained on, column by column: "numeric", "text", or the categories (sorted)."""
    found = dict.fromkeys(columns.numeric, "numeric") | dict.fromkeys(columns.text, "text")
    return found | {col: sorted(df[col].dropna().astype(str).unique().tolist()) for col in columns.categorical}


def describe_schema(found: dict, cfg: DataConfig, coerced: dict[str, int]) -> str:
    """The schema as the start step prints it, with the params.yaml lines that pin the inferred part."""
    lines = []
    for col, kind in found.items():
        if isinstance(kind, list):
            kind = f"categorical, {len(kind)} categories: {', '.join(kind[:8])}{', ...' if len(kind) > 8 else ''}"
        lines.append(f"  {col}: {kind}" + (f" ({coerced[col]} non-numbers read as missing)" if col in coerced else ""))
    numeric = [c for c, kind in found.items() if kind == "numeric" and c not in cfg.coerce_numeric]
    categorical = [c for c, kind in found.items() if isinstance(kind, list)]
    inferred = [c for c in numeric + categorical if c not in {*cfg.numeric, *cfg.categorical}]
    if not inferred:
        return f"data schema{' (pinned in params.yaml)' if numeric or categorical else ''}:\n" + "\n".join(lines)
    pin = f"data.numeric: {numeric} and data.categorical: {categorical}"
    return f"data schema ({len(inferred)} columns inferred; pin them in params.yaml as {pin}):\n" + "\n".join(lines)


def validate_table(df: pd.DataFrame, cfg: DataConfig, config: str = DEFAULT_FILE) -> Columns:
    """Return the feature columns, or raise DataError naming every problem at once (`config`: the file that names
    the columns, for the message). Numeric columns stored as text are read as numbers in `df` (_type_problems)."""
    named = [cfg.target, *cfg.features, *cfg.numeric, *cfg.categorical, *cfg.coerce_numeric, *cfg.drop]
{%- if cookiecutter.__fairness %}
    named += cfg.sensitive_features
{%- endif %}
    named += [cfg.text_column] if cfg.text_column else []
    missing = sorted({c for c in named if c not in df.columns})
    if missing:
        found = _listing(df.columns)
        raise DataError(f"columns named in {config} are not in the data: {missing}; the data has {found}")
    problems = []
    columns = infer_columns(df, cfg)
    if not columns.features:
        problems.append("no feature columns left after removing the target{{ ", dropped and sensitive" if cookiecutter.__fairness else " and dropped" }} columns")
    problems += _type_problems(df, columns, cfg)
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
        rare = _plain(counts.idxmin())  # a numpy scalar would print as np.int64(2)
        problems.append(f"class {rare!r} of {cfg.target!r} has {counts.min()} rows (< {MIN_ROWS_PER_CLASS})")
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

def check_split(df: pd.DataFrame, cfg: SplitConfig, target: str, config: str = DEFAULT_FILE) -> None:
    """Refuse split sizes that leave a split unable to hold what it is for, before any work, with the key to change
    (sizes as scikit-learn cuts them). A classification split needs a row of every class; stratified, the rarest
    class's expected share of it must round to a row. A regression split needs 2 rows (an r2 needs 2)."""
    n = len(df)
{%- if cookiecutter.task == "tabular_regression" %}
    need, what, rarest = 2, "the 2 rows a regression split needs", 0
{%- else %}
    counts = df[target].value_counts()
    what = f"the {len(counts)} classes of {target!r} (each split must hold every class)"
    need, rarest = len(counts), int(counts.min()) if cfg.stratify else 0
{%- endif %}
    test = math.ceil(cfg.test_size * n)
    validation = math.ceil(cfg.validation_size / (1 - cfg.test_size) * (n - test))
    both = round(cfg.test_size + cfg.validation_size, 6)
    sizes = {
        "test": (test, "split.test_size", cfg.test_size, "raise it"),
        "validation": (validation, "split.validation_size", cfg.validation_size, "raise it (or 0: no validation)"),
        "train": (n - test - validation, "split.test_size + split.validation_size", both, "lower it"),
    }
    for name, (rows, key, value, fix) in sizes.items():
        if name == "validation" and cfg.validation_size == 0:
            continue
        why = f"fewer than {what}" if rows < need else ""
        if not why and rarest and rarest * rows / n < 0.5:
            why = f"where the rarest class ({rarest} of {n} rows) would get {rarest * rows / n:.1f} rows (stratified)"
        if why:
            raise DataError(f"{key}: {value} in {config} leaves the {name} split {rows} of {n} rows, {why}: {fix}")


def split(
    df: pd.DataFrame, cfg: SplitConfig, target: str, seed: int, config: str = DEFAULT_FILE
) -> dict[str, pd.DataFrame]:
{%- if cookiecutter.task == "tabular_regression" %}
    """Seeded train / validation / test split (check_split first)."""
    from sklearn.model_selection import train_test_split

    def cut(frame, size):
        return train_test_split(frame, test_size=size, random_state=seed)
{%- else %}
    """Seeded (and by default stratified) train / validation / test split (check_split first)."""
    from sklearn.model_selection import train_test_split

    def cut(frame, size):
        return train_test_split(
            frame, test_size=size, random_state=seed, stratify=frame[target] if cfg.stratify else None
        )
{%- endif %}

    check_split(df, cfg, target, config)
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
{%- if cookiecutter.__fairness %}
    """The served model's input fields: the features (`cfg`: the fairness mitigation option adds the groups)."""
{%- else %}
    """The served model's input fields: the features (`cfg`: the project's Params)."""
{%- endif %}
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

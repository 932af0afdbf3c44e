"""Tabular task: an encoder fitted on the training split only, and an MLP over its output.

The encoder's state is plain JSON, saved with the model, so serving applies exactly the training-time transform.
Task interface (shared with tasks/text.py): NAME, fit_encoder, encoder_from_state, build_network, record_fields,
input_fields.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import Columns, classes_of, encode_labels

NAME = "tabular"
FLOAT32_SAFE_STDS = 1e30  # a scaled value this far out is still finite in float32 (max 3.4e38)


@dataclass
class TabularEncoder:
    numeric: dict[str, dict[str, float]] = field(default_factory=dict)  # column -> median, mean, std
    categorical: dict[str, list[str]] = field(default_factory=dict)  # column -> vocabulary seen in training
    classes: list = field(default_factory=list)  # target values, index = class id

    @classmethod
    def fit(cls, train: pd.DataFrame, columns: Columns, target: str, positive=None) -> "TabularEncoder":
        return cls(**fit_inputs(train, columns), classes=classes_of(train[target], positive))

    @property
    def input_dim(self) -> int:
        return 2 * len(self.numeric) + sum(len(vocab) for vocab in self.categorical.values())

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Standardised numerics + missing flags + one-hot categories (unseen or missing -> all zeros), written column
        by column into one float32 array (computed in float64, rounded once on assignment): no float64 copy of the
        whole matrix, which at a million rows was the largest thing in memory."""
        out, column = np.zeros((len(df), self.input_dim), dtype="float32"), 0
        for col, stats in self.numeric.items():
            values = pd.to_numeric(df[col], errors="coerce").astype("float64")
            out[:, column] = ((values.fillna(stats["median"]) - stats["mean"]) / stats["std"]).to_numpy()
            out[:, column + 1] = values.isna().to_numpy()
            column += 2
        for col, vocab in self.categorical.items():
            values = df[col].astype("string").fillna("\0").to_numpy(dtype=object)
            out[:, column : column + len(vocab)] = values[:, None] == np.asarray(vocab, dtype=object)[None, :]
            column += len(vocab)
        return out

    def transform_records(self, records: list[dict]) -> np.ndarray:
        """`transform` of request records without a DataFrame (the service's path: a pandas frame per request cost a
        quarter of a serving worker's CPU): the same float32 values, bit for bit, when every number is a float and
        every category a string (what the request model gives; null or an absent key is missing). Other values take
        `transform` itself."""
        numeric = [[record.get(col) for record in records] for col in self.numeric]
        categorical = [[record.get(col) for record in records] for col in self.categorical]
        if not (
            all(type(v) is float or v is None for values in numeric for v in values)
            and all(type(v) is str or v is None for values in categorical for v in values)
        ):
            return self.transform(pd.DataFrame.from_records(records))
        out, column = np.zeros((len(records), self.input_dim), dtype="float64"), 0
        for values, stats in zip(numeric, self.numeric.values(), strict=True):
            x = np.array([np.nan if v is None else v for v in values], dtype="float64")
            missing = np.isnan(x)
            out[:, column] = (np.where(missing, stats["median"], x) - stats["mean"]) / stats["std"]
            out[:, column + 1] = missing
            column += 2
        for values, vocab in zip(categorical, self.categorical.values(), strict=True):
            index = {token: k for k, token in enumerate(vocab)}
            for row, value in enumerate(values):
                k = index.get("\0" if value is None else value)  # missing looks up "\0", as in `transform`
                if k is not None:
                    out[row, column + k] = 1.0
            column += len(vocab)
        return out.astype("float32")

    def encode_target(self, values: pd.Series) -> np.ndarray:
        return encode_labels(self.classes, values)

    def state(self) -> dict:
        return {"numeric": self.numeric, "categorical": self.categorical, "classes": self.classes}

    @classmethod
    def from_state(cls, state: dict) -> "TabularEncoder":
        return cls(**state)


def fit_inputs(train: pd.DataFrame, columns: Columns) -> dict:
    """The input statistics, from the training split: per numeric column its median (fills missing values), mean and
    std; per categorical column its vocabulary."""
    numeric = {}
    for col in columns.numeric:
        values = train[col].astype("float64")
        median = float(values.median()) if values.notna().any() else 0.0
        filled = values.fillna(median)
        numeric[col] = {"median": median, "mean": float(filled.mean()), "std": float(filled.std(ddof=0)) or 1.0}
    categorical = {col: sorted(train[col].dropna().astype(str).unique().tolist()) for col in columns.categorical}
    return {"numeric": numeric, "categorical": categorical}


def fit_encoder(train: pd.DataFrame, columns: Columns, cfg) -> TabularEncoder:
    return TabularEncoder.fit(train, columns, cfg.data.target, cfg.data.positive_label)


def encoder_from_state(state: dict) -> TabularEncoder:
    return TabularEncoder.from_state(state)


def build_network(encoder: TabularEncoder, model, pretrained: bool = True):
    """A plain torch MLP producing one logit per class (`model`: params.yaml's model section)."""
    import torch.nn as nn

    layers, width = [], encoder.input_dim
    for size in model.hidden_sizes:
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(model.dropout)]
        width = size
    layers.append(nn.Linear(width, len(encoder.classes)))
    return nn.Sequential(*layers)


def record_fields(encoder: TabularEncoder, serving: dict) -> dict:
    """One typed request field per model input: numbers for numeric columns, strings for categories; null = missing.
    A number is a JSON number (not "41" nor true, unless `serving.strict_numbers` is false), finite, and within
    `serving.numeric_range_stds` training standard deviations of the training mean: further out, scaling overflows
    float32 and the network answers NaN. With no bound set, numbers are still held to where scaling stays finite
    (1e30 standard deviations), so a request is judged on its own, before adaptive batching joins it to others."""
    from typing import Annotated

    from pydantic import Field

    strict, stds = serving.get("strict_numbers", True), serving.get("numeric_range_stds", 1e6)
    fields = {}
    for name, stats in encoder.numeric.items():
        reach = (FLOAT32_SAFE_STDS if stds is None else stds) * stats["std"]
        bounds = {"ge": stats["mean"] - reach, "le": stats["mean"] + reach}
        fields[name] = (Annotated[float, Field(strict=strict, allow_inf_nan=False, **bounds)] | None, ...)
    return fields | {name: (str | None, Field(..., max_length=256)) for name in encoder.categorical}


def input_fields(encoder: TabularEncoder) -> list[str]:
    """The request field behind each column of `transform`'s output (to name a field whose encoding is not finite)."""
    names = [name for name in encoder.numeric for _ in range(2)]
    return names + [name for name, vocab in encoder.categorical.items() for _ in vocab]

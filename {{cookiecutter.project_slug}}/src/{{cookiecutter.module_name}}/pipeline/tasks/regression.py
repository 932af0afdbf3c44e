"""Tabular regression: the tabular task's inputs (tasks/tabular.py), a standardised numeric target, and an MLP with
one output, trained on the squared error. Predictions come back in the target's own units.

Task interface (shared with tasks/tabular.py): NAME, fit_encoder, encoder_from_state, build_network, record_fields,
input_fields.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import Columns
from .tabular import TabularEncoder, fit_inputs, input_fields, record_fields  # noqa: F401 - the same inputs

NAME = "tabular_regression"


@dataclass
class RegressionEncoder(TabularEncoder):
    target: dict[str, float] = field(default_factory=dict)  # mean and std of the training split's target

    def encode_target(self, values: pd.Series) -> np.ndarray:
        """Standardised: the network learns a target of mean 0 and std 1, whatever its units."""
        return ((values.to_numpy(dtype="float64") - self.target["mean"]) / self.target["std"]).astype("float32")

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The network's outputs back in the target's units (float64)."""
        return outputs.astype("float64") * self.target["std"] + self.target["mean"]

    def state(self) -> dict:
        return {"numeric": self.numeric, "categorical": self.categorical, "target": self.target}


def fit_encoder(train: pd.DataFrame, columns: Columns, cfg) -> RegressionEncoder:
    values = train[cfg.data.target].astype("float64")
    target = {"mean": float(values.mean()), "std": float(values.std(ddof=0)) or 1.0}
    return RegressionEncoder(**fit_inputs(train, columns), target=target)


def encoder_from_state(state: dict) -> RegressionEncoder:
    return RegressionEncoder(**state)


def build_network(encoder: RegressionEncoder, model, pretrained: bool = True):
    """A plain torch MLP with one output: the standardised target (`model`: params.yaml's model section)."""
    import torch.nn as nn

    layers, width = [], encoder.input_dim
    for size in model.hidden_sizes:
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(model.dropout)]
        width = size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)

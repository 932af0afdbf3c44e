"""What the service needs, without BentoML: the request schema derived from the training data, and prediction."""

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, create_model

from .packaging import SPEC, WEIGHTS
from .tasks.tabular import TabularEncoder, build_network


class Prediction(BaseModel):
    label: str | int | float | bool
    probability: float


def record_model(encoder: TabularEncoder) -> type[BaseModel]:
    """One typed field per model input: numbers for numeric columns, strings for categories; null means missing."""
    number = Annotated[float | None, Field(allow_inf_nan=False)]
    fields = dict.fromkeys(encoder.numeric, (number, ...))
    fields |= {name: (str | None, Field(..., max_length=256)) for name in encoder.categorical}
    return create_model("Record", __config__=ConfigDict(extra="forbid"), **fields)


class Predictor:
    """The packaged network and its encoder, loaded from a BentoML model directory."""

    def __init__(self, model_dir: str | Path):
        from .training import load_weights

        spec = json.loads(Path(model_dir, SPEC).read_text())
        self.encoder = TabularEncoder.from_state(spec["encoder"])
        self.max_batch_size = spec["max_batch_size"]
        network = build_network(self.encoder, **spec["network"])
        self.network = load_weights(network, Path(model_dir, WEIGHTS).read_bytes())

    def predict_proba(self, frame: pd.DataFrame):
        """Class probabilities (columns in `encoder.classes` order) for raw feature rows."""
        from .evaluation import predict_proba

        return predict_proba(self.network, self.encoder.transform(frame))

    def predict(self, records: list[dict]) -> list[Prediction]:
        proba = self.predict_proba(pd.DataFrame.from_records(records))
        best = proba.argmax(1)
        return [
            Prediction(label=self.encoder.classes[i], probability=float(p[i])) for i, p in zip(best, proba, strict=True)
        ]

"""What the service needs, without BentoML: the request schema derived from the training data, and prediction."""

import json
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, create_model

from .packaging import SPEC, WEIGHTS
from .tasks import task


class Prediction(BaseModel):
    label: str | int | float | bool
    probability: float


def record_model(encoder, serving: dict) -> type[BaseModel]:
    """The request record: one typed field per model input, derived from the training data; unknown fields refused."""
    return create_model("Record", __config__=ConfigDict(extra="forbid"), **task.record_fields(encoder, serving))


class Predictor:
    """The packaged network and its encoder, loaded from a model directory (BentoML store, Bento or MLflow)."""

    def __init__(self, model_dir: str | Path):
        from .config import ModelConfig
        from .training import load_weights

        spec = json.loads(Path(model_dir, SPEC).read_text())
        self.encoder = task.encoder_from_state(spec["encoder"])
        self.serving = spec["serving"]
        self.max_batch_size = self.serving["max_batch_size"]
        network = task.build_network(self.encoder, ModelConfig(**spec["network"]), pretrained=False)
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

"""What the service needs, without BentoML: the request schema derived from the training data, and prediction."""

import json
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, create_model

from .packaging import SPEC, WEIGHTS
from .tasks import task


class UnknownGroup(ValueError):
    """A record's sensitive groups were not seen when the fairness thresholds were fitted (HTTP 400)."""


class Prediction(BaseModel):
    label: str | int | float | bool
    probability: float  # the network's, for this label (below 0.5 with a lower threshold or fairness thresholds)
    probabilities: dict[str, float]  # every class's, keyed by the class as text


def predictions_frame(predictions: list[Prediction]) -> pd.DataFrame:
    """Predictions as flat columns (label, probability, probabilities.<class>): the MLflow model's output."""
    return pd.json_normalize([p.model_dump() for p in predictions])


def record_model(encoder, serving: dict, groups: dict[str, list[str]] | None = None) -> type[BaseModel]:
    """The request record: one typed field per model input, derived from the training data; unknown fields refused.
    `groups`: with fairness mitigation, each sensitive feature is an input too, limited to the groups seen."""
    fields = task.record_fields(encoder, serving)
    fields |= {name: (Literal[tuple(values)], ...) for name, values in (groups or {}).items()}
    return create_model("Record", __config__=ConfigDict(extra="forbid"), **fields)


class Predictor:
    """The packaged network and its encoder, loaded from a model directory (BentoML store, Bento or MLflow)."""

    def __init__(self, model_dir: str | Path):
        from .config import ModelConfig
        from .training import load_weights

        spec = json.loads(Path(model_dir, SPEC).read_text())
        self.encoder = task.encoder_from_state(spec["encoder"])
        self.serving = spec["serving"]
        self.max_batch_size = self.serving["max_batch_size"]
        self.threshold = self.serving.get("threshold", 0.5)  # binary decision threshold (models before it: 0.5)
        network = task.build_network(self.encoder, ModelConfig(**spec["network"]), pretrained=False)
        self.network = load_weights(network, Path(model_dir, WEIGHTS).read_bytes())
        self.groups = spec.get("mitigation", {}).get("groups")  # sensitive feature -> groups seen, when mitigated
        self.thresholds = None
        if self.groups:
            from .mitigation import THRESHOLDS, Thresholds

            blob = Path(model_dir, THRESHOLDS).read_bytes()
            self.thresholds = Thresholds(blob, list(self.groups), spec["mitigation"]["seed"])

    @property
    def record(self) -> type[BaseModel]:
        return record_model(self.encoder, self.serving, self.groups)

    def predict_proba(self, frame: pd.DataFrame):
        """Class probabilities (columns in `encoder.classes` order) for raw feature rows."""
        from .evaluation import predict_proba

        return predict_proba(self.network, self.encoder.transform(frame))

    def decide(self, frame: pd.DataFrame):
        """(class ids, probabilities): decided as in evaluation (`serving.threshold` for a binary target), or by the
        fairness thresholds when mitigated."""
        from .evaluation import decide

        proba = self.predict_proba(frame)
        return (self.thresholds.decide(proba, frame) if self.thresholds else decide(proba, self.threshold)), proba

    def predict(self, records: list[dict]) -> list[Prediction]:
        labels, proba = self.decide(pd.DataFrame.from_records(records))
        names = [str(c) for c in self.encoder.classes]
        return [
            Prediction(
                label=self.encoder.classes[i],
                probability=float(p[i]),
                probabilities={name: float(v) for name, v in zip(names, p, strict=True)},
            )
            for i, p in zip(labels, proba, strict=True)
        ]

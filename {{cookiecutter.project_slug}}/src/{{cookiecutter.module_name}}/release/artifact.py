"""The model directory, and its one owner: what a packaged model is on disk, how it is written and read, and the
Predictor that serves it. The BentoML store, the Bento, the MLflow model and the champion comparison all read it here.

    weights.pt        the network's state_dict (torch.save; loaded with weights_only=True)
{%- if cookiecutter.mitigation %}
    model.json        ModelSpec: spec_version, task, encoder state, network config, serving settings, mitigation,
                      the data schema (pipeline/data.py's)
    thresholds.json   with fairness mitigation: the per-group threshold table (mitigation.py)
{%- else %}
    model.json        ModelSpec: spec_version, task, encoder state, network config, serving settings, the data
                      schema (pipeline/data.py's)
{%- endif %}
    MODEL_CARD.md     the model card

Everything but the tensors is JSON: nothing is pickled. A new project only ever writes spec_version 2, so that is the
one it reads; any other stops with a message that names the version and what to run, not with an opaque scoring error.
"""

import json
from functools import cached_property
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from ..config import ModelConfig, ServingConfig
from ..errors import InvalidRecord, ModelFormatError
from ..pipeline.tasks import task
from .serving import Prediction, record_model

WEIGHTS, SPEC, CARD, THRESHOLDS = "weights.pt", "model.json", "MODEL_CARD.md", "thresholds.json"
SPEC_VERSION = 2  # the only version a project baked from this template writes (1 pickled fairness thresholds)
RETRAIN = "re-train it (`python flow.py run`); to replace a registry champion that cannot be read, run once with "
RETRAIN += "`python flow.py run --skip-gates champion`"


class NonFiniteOutput(RuntimeError):
    """The network gave a non-finite probability for a record whose inputs were finite: a bug in the model or the
    encoder, never a client error (HTTP 500); the service never turns it into a label."""


{% if cookiecutter.mitigation -%}
class Mitigation(BaseModel):
    """How the fairness thresholds were made, and the groups they know (the service accepts only those)."""

    model_config = ConfigDict(extra="forbid")

    method: str
    constraints: str
    objective: str
    groups: dict[str, list[str]]
    fit_on: str  # whose scores fitted the thresholds: cross_fit (out-of-fold) or validation
    folds: int | None = None  # cross_fit: how many


{% endif -%}
class ModelSpec(BaseModel):
    """model.json: everything but the weights that serving needs to rebuild and apply the model."""

    model_config = ConfigDict(extra="forbid")

    spec_version: int = SPEC_VERSION
    task: str
    encoder: dict  # the fitted encoder's state (tasks.<task>.encoder_from_state)
    network: ModelConfig
    serving: ServingConfig
{%- if cookiecutter.mitigation %}
    mitigation: Mitigation | None = None
{%- endif %}
    data_schema: dict[str, str | list[str]] = {}  # the data contract: column -> numeric | text | its categories


{% if cookiecutter.mitigation -%}
def write_model_dir(
    path: str | Path, weights: bytes, spec: ModelSpec, card: str = "", thresholds: dict | None = None
) -> Path:
    """Write a model directory (the BentoML store's, the MLflow model's); `thresholds`: mitigation's table."""
    spec = ModelSpec.model_validate(spec.model_dump() if isinstance(spec, ModelSpec) else spec)  # re-validated
    if bool(spec.mitigation) != bool(thresholds):
        raise ValueError("a spec with a mitigation section needs its thresholds table, and only then")
{%- else -%}
def write_model_dir(path: str | Path, weights: bytes, spec: ModelSpec, card: str = "") -> Path:
    """Write a model directory (the BentoML store's, the MLflow model's)."""
    spec = ModelSpec.model_validate(spec.model_dump() if isinstance(spec, ModelSpec) else spec)  # re-validated
{%- endif %}
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / WEIGHTS).write_bytes(weights)
    (path / SPEC).write_text(spec.model_dump_json(indent=1))
    if card:
        (path / CARD).write_text(card)
{%- if cookiecutter.mitigation %}
    if thresholds:
        (path / THRESHOLDS).write_text(json.dumps(thresholds, indent=1, allow_nan=False))
{%- endif %}
    return path


def read_spec(path: str | Path) -> ModelSpec:
    """The spec of a model directory; another spec_version (a newer template's, or none written) and malformed specs
    raise ModelFormatError naming the version."""
    data = json.loads(Path(path, SPEC).read_text())
    version = data.get("spec_version")
    if isinstance(version, int) and version > SPEC_VERSION:
        raise ModelFormatError(
            f"model written by a newer template (spec_version {version}); this project reads spec_version "
            f"{SPEC_VERSION}: update the project from the template, or {RETRAIN}"
        )
    if version != SPEC_VERSION:
        raise ModelFormatError(f"model.json has spec_version {version}; this project reads {SPEC_VERSION}: {RETRAIN}")
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as err:
        raise ModelFormatError(f"model.json (spec_version {version}) is not a valid model spec: {err}") from None


class Predictor:
    """The packaged network and its encoder, loaded from a model directory (BentoML store, Bento or MLflow).

    Reading the spec is cheap and needs no torch: the request contract (`record`) comes from it alone. The network
    (torch){% if cookiecutter.mitigation %} and the fairness thresholds (scikit-learn){% endif %} load on first use, so a process that only routes requests
    (BentoML's main process) never imports them; a serving worker loads them at start-up (`load`)."""

    def __init__(self, model_dir: str | Path):
        self.model_dir = Path(model_dir)
        self.spec = read_spec(model_dir)
        if self.spec.task != task.NAME:
            raise ModelFormatError(f"model for task {self.spec.task!r}; this project is {task.NAME!r}")
        self.encoder = task.encoder_from_state(self.spec.encoder)
        self.serving = self.spec.serving.model_dump()
        self.max_batch_size = self.spec.serving.max_batch_size
{%- if cookiecutter.task != "tabular_regression" %}
        self.threshold = self.spec.serving.threshold  # binary decision threshold
{%- endif %}
{%- if cookiecutter.mitigation %}
        mitigation = self.spec.mitigation
        self.groups = mitigation.groups if mitigation else None  # sensitive feature -> groups seen, when mitigated
{%- endif %}

    @cached_property
    def network(self):
        from ..pipeline.training import load_weights

        network = task.build_network(self.encoder, self.spec.network, pretrained=False)
        return load_weights(network, (self.model_dir / WEIGHTS).read_bytes())
{%- if cookiecutter.mitigation %}

    @cached_property
    def thresholds(self):
        """The fairness thresholds of a mitigated model, else None. Imported only then: mitigation needs
        scikit-learn, which a plain model's service does not."""
        if not self.spec.mitigation:
            return None
        from ..gates.mitigation import Thresholds

        return Thresholds(json.loads((self.model_dir / THRESHOLDS).read_text()))

    def load(self) -> "Predictor":
        """Load the network and thresholds now (a serving worker, before its first request)."""
        _ = self.network, self.thresholds
        return self

    @property
    def record(self):
        return record_model(self.encoder, self.serving, self.groups)
{%- else %}

    def load(self) -> "Predictor":
        """Load the network now (a serving worker, before its first request)."""
        _ = self.network
        return self

    @property
    def record(self):
        return record_model(self.encoder, self.serving)
{%- endif %}

{%- if cookiecutter.task == "tabular_regression" %}

    def predict_values(self, rows: pd.DataFrame | list[dict]):
        """Predicted values (the target's units) for raw feature rows: a DataFrame, or request records (the
        encoder's `transform_records`: no DataFrame per request). A row whose encoding is not finite raises
        InvalidRecord naming the field; a non-finite prediction otherwise raises NonFiniteOutput."""
        import numpy as np

        from ..pipeline.evaluation import predict_values

        inputs = self._inputs(rows)
        values = predict_values(self.network, inputs, self.encoder)
        if not np.isfinite(values).all():
            rows = np.flatnonzero(~np.isfinite(values)).tolist()
            raise NonFiniteOutput(f"the network gave non-finite values for finite inputs (records {rows[:10]})")
        return values

    def predict(self, records: list[dict]) -> list[Prediction]:
        return [Prediction(value=v) for v in self.predict_values(records).tolist()]

    def _inputs(self, rows: pd.DataFrame | list[dict]):
        """The encoded rows; InvalidRecord names the field of the first value that is not finite once scaled."""
        import numpy as np

        with np.errstate(over="ignore"):  # checked just below, and named
            if isinstance(rows, pd.DataFrame):
                inputs = self.encoder.transform(rows)
            else:
                inputs = self.encoder.transform_records(rows)
        if not np.isfinite(inputs).all():
            row, column = np.argwhere(~np.isfinite(inputs))[0]
            field = task.input_fields(self.encoder)[column]
            raise InvalidRecord(f"records.{row}.{field}: value too large for the model (not finite once scaled)")
        return inputs
{%- else %}

    def predict_proba(self, rows: pd.DataFrame | list[dict]):
        """Class probabilities (columns in `encoder.classes` order) for raw feature rows: a DataFrame, or request
        records (the encoder's `transform_records`: no DataFrame per request). A row whose encoding is not finite
        raises InvalidRecord naming the field; a non-finite probability otherwise raises NonFiniteOutput."""
        import numpy as np

        from ..pipeline.evaluation import predict_proba

        with np.errstate(over="ignore"):  # checked just below, and named
            if isinstance(rows, pd.DataFrame):
                inputs = self.encoder.transform(rows)
            else:
                inputs = self.encoder.transform_records(rows)
        fields = task.input_fields(self.encoder)
        if fields and not np.isfinite(inputs).all():
            row, column = np.argwhere(~np.isfinite(inputs))[0]
            raise InvalidRecord(
                f"records.{row}.{fields[column]}: value too large for the model (not finite once scaled to float32)"
            )
        proba = predict_proba(self.network, inputs)
        if not np.isfinite(proba).all():
            rows = np.flatnonzero(~np.isfinite(proba).all(axis=1)).tolist()
            raise NonFiniteOutput(f"the network gave non-finite probabilities for finite inputs (records {rows[:10]})")
        return proba

    def decide(self, rows: pd.DataFrame | list[dict]):
{%- if cookiecutter.mitigation %}
        """(class ids, probabilities) for a DataFrame or request records: decided as in evaluation
        (`serving.threshold` for a binary target), or by the fairness thresholds when mitigated."""
        from ..pipeline.evaluation import decide

        proba = self.predict_proba(rows)
        if not self.thresholds:
            return decide(proba, self.threshold), proba
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows)
        return self.thresholds.decide(proba, frame), proba
{%- else %}
        """(class ids, probabilities) for a DataFrame or request records: decided as in evaluation
        (`serving.threshold` for a binary target)."""
        from ..pipeline.evaluation import decide

        proba = self.predict_proba(rows)
        return decide(proba, self.threshold), proba
{%- endif %}

    def predict(self, records: list[dict]) -> list[Prediction]:
        labels, proba = self.decide(records)
        names, classes = [str(c) for c in self.encoder.classes], self.encoder.classes
        return [  # tolist: Python floats at once (the same values as float() of each float32)
            Prediction(label=classes[i], probability=p[i], probabilities=dict(zip(names, p, strict=True)))
            for i, p in zip(labels.tolist(), proba.tolist(), strict=True)
        ]
{%- endif %}

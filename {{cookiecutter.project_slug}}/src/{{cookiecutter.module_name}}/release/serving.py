"""The service's vocabulary, without BentoML: the request record derived from the encoder, and the prediction.
artifact.Predictor answers with these."""

{% if cookiecutter.mitigation %}from typing import Literal

{% endif %}import pandas as pd
from pydantic import BaseModel, ConfigDict, create_model

from ..pipeline.tasks import task


{% if cookiecutter.task == "tabular_regression" -%}
class Prediction(BaseModel):
    value: float  # the predicted {{ cookiecutter.target_column }}, in its units


def predictions_frame(predictions: list[Prediction]) -> pd.DataFrame:
    """Predictions as flat columns (value): the MLflow model's output."""
{%- else -%}
class Prediction(BaseModel):
    label: str | int | float | bool
    probability: float  # the network's, for this label (below 0.5 with a lower threshold{{ " or fairness thresholds" if cookiecutter.mitigation }})
    probabilities: dict[str, float]  # every class's, keyed by the class as text


def predictions_frame(predictions: list[Prediction]) -> pd.DataFrame:
    """Predictions as flat columns (label, probability, probabilities.<class>): the MLflow model's output."""
{%- endif %}
    return pd.json_normalize([p.model_dump() for p in predictions])


{% if cookiecutter.mitigation -%}
def record_model(encoder, serving: dict, groups: dict[str, list[str]] | None = None) -> type[BaseModel]:
    """The request record: one typed field per model input, derived from the training data; unknown fields refused.
    `groups`: with fairness mitigation, each sensitive feature is an input too, limited to the groups seen."""
    fields = task.record_fields(encoder, serving)
    fields |= {name: (Literal[tuple(values)], ...) for name, values in (groups or {}).items()}
{%- else -%}
def record_model(encoder, serving: dict) -> type[BaseModel]:
    """The request record: one typed field per model input, derived from the training data; unknown fields refused."""
    fields = task.record_fields(encoder, serving)
{%- endif %}
    return create_model("Record", __config__=ConfigDict(extra="forbid"), **fields)


def value_chars(record: type[BaseModel], number_chars: int = 32) -> dict[str, int]:
    """The most characters each field's value may take in a request: a string's max_length (the longest choice of
    a Literal), else `number_chars`; what http_guard.max_body_bytes derives the body limit from."""
    chars = {}
    for name, schema in record.model_json_schema()["properties"].items():
        options = schema.get("anyOf", [schema])
        lengths = [o.get("maxLength", max(len(str(v)) for v in o.get("enum", [""]))) for o in options]
        chars[name] = max([number_chars, *lengths])
    return chars

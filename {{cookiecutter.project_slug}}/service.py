{% set service = "Regressor" if cookiecutter.task == "tabular_regression" else "Classifier" -%}
{% set batched = "estimate" if cookiecutter.task == "tabular_regression" else "classify" -%}
"""BentoML service: typed, validated records in, predictions with the model's lineage out.

POST /predict    {"records": [...]} -> {"model_version", "mlflow_run_id", "mlflow_model_version", "predictions"}
POST /{{ batched }}   {"records": [...]} -> [prediction, ...], lineage in X-Model-Version, X-MLflow-Run-Id and
                 X-MLflow-Model-Version headers; adaptive batching: records of concurrent requests share one forward
                 pass (serving.adaptive_batching in params.yaml)

make serve [MODEL=candidate]                   # the model behind the registry's champion (or candidate) alias
{%- if cookiecutter.monitoring %}
make serve SHADOW=candidate                    # ...with the candidate scoring the same records in shadow
{%- endif %}
bentoml serve --arg model_tag=NAME:VERSION     # a given one (a built Bento pins the one it was built with)
bentoml serve                                  # the latest model in the local BentoML store, whatever the registry says
{% if cookiecutter.monitoring %}
Every answered request is logged for monitoring, one row per record (prediction_log.py; BentoML's monitoring API,
by default JSON lines under monitoring/predictions/data/, a request's rows written at once: json_lines_monitor.py),
unless BentoML's config turns it off: BENTOML_CONFIG_OPTIONS="services.{{ service }}.monitoring.enabled=false".
A challenger in shadow (`--arg shadow_tag=NAME:VERSION`; shadow.py) scores each answered request's records in the
log's writer thread, after the answer has gone: its answers go into the log beside the champion's, never to a client.
{%- endif %}
BentoML's main process only reads the model's spec: torch and the weights load in the serving workers.
"""

import sys
from pathlib import Path
from typing import Annotated

# src/ layout: importable from the project root and from inside a built Bento.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

import bentoml  # noqa: E402
from bentoml.validators import ContentType  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402
{% if cookiecutter.mitigation %}
from {{ cookiecutter.module_name }}.errors import InvalidRecord, UnknownGroup  # noqa: E402
{%- else %}
from {{ cookiecutter.module_name }}.errors import InvalidRecord  # noqa: E402
{%- endif %}
from {{ cookiecutter.module_name }}.lineage.run_record import read_labels  # noqa: E402
{%- if cookiecutter.monitoring %}
from {{ cookiecutter.module_name }}.monitoring.shadow import score_in_shadow  # noqa: E402
{%- endif %}
from {{ cookiecutter.module_name }}.release.artifact import Predictor  # noqa: E402
from {{ cookiecutter.module_name }}.release.http_guard import RequestGuard, install_log_filters, max_body_bytes  # noqa: E402
{%- if cookiecutter.monitoring %}
from {{ cookiecutter.module_name }}.release.prediction_log import PredictionLog, columns, field_types  # noqa: E402
{%- endif %}
from {{ cookiecutter.module_name }}.release.serving import Prediction, value_chars  # noqa: E402


class Arguments(BaseModel):
    model_tag: str = "{{ cookiecutter.module_name }}:latest"
{%- if cookiecutter.monitoring %}
    shadow_tag: str = ""  # a challenger that scores the same records off the request path (shadow.py)
{%- endif %}


ARGUMENTS = bentoml.use_arguments(Arguments)
MODEL = bentoml.models.BentoModel(ARGUMENTS.model_tag)
{%- if cookiecutter.monitoring %}
SHADOW = bentoml.models.BentoModel(ARGUMENTS.shadow_tag) if ARGUMENTS.shadow_tag else None
for model in filter(None, (MODEL, SHADOW)):
    if model.stored is None:
        raise SystemExit(f"model {model.tag} is not in the BentoML store: run `python flow.py run` first")
PREDICTOR = Predictor(MODEL.stored.path)  # the spec only: the network loads in each worker ({{ service }}.__init__)
SHADOW_PREDICTOR = Predictor(SHADOW.stored.path) if SHADOW else None
{%- else %}
if MODEL.stored is None:
    raise SystemExit(f"model {MODEL.tag} is not in the BentoML store: run `python flow.py run` first")
PREDICTOR = Predictor(MODEL.stored.path)  # the spec only: the network loads in each worker ({{ service }}.__init__)
{%- endif %}
LABELS = read_labels(MODEL.stored.info.labels)  # lineage written by the flow's package step
LINEAGE = {
    "model_version": str(MODEL.stored.tag),  # the BentoML model
    "mlflow_run_id": LABELS.run_id,
    "mlflow_model_version": LABELS.version,  # in the MLflow registry
}
Record = PREDICTOR.record{% if cookiecutter.mitigation %}  # with fairness mitigation, the sensitive features are fields too{% endif %}
Records = Annotated[list[Record], Field(min_length=1, max_length=PREDICTOR.max_batch_size)]
SERVING = PREDICTOR.spec.serving  # params.yaml's serving section, as trained
BATCHING = SERVING.adaptive_batching
MAX_BODY_BYTES = SERVING.max_body_bytes or max_body_bytes(value_chars(Record), PREDICTOR.max_batch_size)
{%- if cookiecutter.monitoring %}
FIELD_TYPES = field_types(Record.model_json_schema())
{%- if cookiecutter.task == "tabular_regression" %}
PREDICTIONS = bentoml.metrics.Counter(
    name="predictions", documentation="Records answered, by model", labelnames=["model_version"]
)
{%- else %}
PREDICTIONS = bentoml.metrics.Counter(
    name="predictions", documentation="Records answered, by label and model", labelnames=["label", "model_version"]
)
{%- endif %}
{%- endif %}


class PredictResponse(BaseModel):
    model_version: str = LINEAGE["model_version"]
    mlflow_run_id: str = LINEAGE["mlflow_run_id"]
    mlflow_model_version: str = LINEAGE["mlflow_model_version"]
    predictions: list[Prediction]


def score(records: list) -> list[Prediction]:
    try:
        return PREDICTOR.predict([record.model_dump() for record in records])
{%- if cookiecutter.mitigation %}
    except (UnknownGroup, InvalidRecord) as err:  # groups the fairness thresholds never saw; a value past float32
{%- else %}
    except InvalidRecord as err:  # a value past float32
{%- endif %}
        raise bentoml.exceptions.InvalidArgument(str(err)) from None
{%- if cookiecutter.monitoring %}


def log_predictions(records: list[dict], predictions: list[dict]) -> None:
    """The prediction log's sink (off the request path): one row per record through BentoML's monitoring API, and
    the `predictions` counter on /metrics. With a challenger in shadow, it scores the records here first."""
    shadow = ()
    if SHADOW_PREDICTOR is not None:
        try:
            theirs, errors = score_in_shadow(SHADOW_PREDICTOR, records)
        except Exception as err:  # noqa: BLE001 - the challenger failing must not lose the champion's log rows
            theirs, errors = [None] * len(records), [f"{type(err).__name__}: {err}"[:200]] * len(records)
        shadow = (theirs, str(SHADOW.stored.tag), errors)
    with bentoml.monitor("predictions") as monitor:
        for name, role, kind, values in columns(records, predictions, FIELD_TYPES, LINEAGE["model_version"], shadow):
            monitor.log_batch(values, name=name, role=role, data_type=kind)
{%- if cookiecutter.task == "tabular_regression" %}
    PREDICTIONS.labels(model_version=LINEAGE["model_version"]).inc(len(predictions))
{%- else %}
    for label in {str(p["label"]) for p in predictions}:
        count = sum(str(p["label"]) == label for p in predictions)
        PREDICTIONS.labels(label=label, model_version=LINEAGE["model_version"]).inc(count)
{%- endif %}
{%- endif %}


@bentoml.service(
    resources={"cpu": str(SERVING.threads)},
    traffic={"timeout": 30, "max_concurrency": SERVING.max_concurrency},  # beyond it: HTTP 429, not a queue
{%- if cookiecutter.monitoring %}
    monitoring={"type": "{{ cookiecutter.module_name }}.release.json_lines_monitor.JsonLinesMonitor"},  # BentoML's config rules
{%- endif %}
)
class {{ service }}:
    model = MODEL
{%- if cookiecutter.monitoring %}
    if SHADOW:
        shadow = SHADOW
{%- endif %}

    def __init__(self):
        import logging

        import torch

        torch.set_num_threads(SERVING.threads)  # torch's default OpenMP team (one per core) ignores `resources`
        PREDICTOR.load()  # in the worker only: the main process never imports torch nor holds the weights
{%- if cookiecutter.monitoring %}
        if SHADOW_PREDICTOR is not None:
            SHADOW_PREDICTOR.load()
{%- endif %}
        install_log_filters()  # client errors in one line, without tracebacks; control characters escaped
        logging.getLogger("bentoml.serve").info("torch intra-op threads: %d", torch.get_num_threads())

    @bentoml.api
    def predict(self, records: Records) -> PredictResponse:
        return PredictResponse(predictions=score(records))

    @bentoml.api(batchable=True, max_batch_size=BATCHING.max_batch_size, max_latency_ms=BATCHING.max_latency_ms)
    def {{ batched }}(self, records: Records) -> Annotated[list[Prediction], ContentType("application/json")]:
        """Adaptive batching: records from concurrent requests share one forward pass. Each request is validated on
        its own first, so one client's bad record never fails the others' requests. (The declared content type is
        the one BentoML would answer with; undeclared, it derives it from a JSON schema of the list per answer.)"""
        return score(records)


ROUTES = {api.route: set(api.input_spec.model_fields) for api in {{ service }}.apis.values()}
# In front of the API: JSON only, bounded bodies, no duplicate or unknown keys, bounded and one-line client errors,
# lineage headers on every answer{% if cookiecutter.monitoring %}; then the prediction log, which sees only what the API answered{% endif %}.
{{ service }}.add_asgi_middleware(
    RequestGuard,
    keys=ROUTES,
    max_body_bytes=MAX_BODY_BYTES,
    body_timeout_s=SERVING.body_timeout_s,
    headers={"X-Model-Version": LINEAGE["model_version"], "X-MLflow-Run-Id": LINEAGE["mlflow_run_id"]}
    | {"X-MLflow-Model-Version": LINEAGE["mlflow_model_version"]},
)
{%- if cookiecutter.monitoring %}
{{ service }}.add_asgi_middleware(PredictionLog, routes=set(ROUTES), write=log_predictions)
{%- endif %}

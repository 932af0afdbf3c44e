"""BentoML service: POST /predict scores a batch of typed, validated records with the packaged model.

make serve [MODEL=candidate]                   # the model behind the registry's champion (or candidate) alias
bentoml serve --arg model_tag=NAME:VERSION     # a given one (a built Bento pins the one it was built with)
bentoml serve                                  # the latest model in the local BentoML store, whatever the registry says
"""

import sys
from pathlib import Path
from typing import Annotated

# src/ layout: importable from the project root and from inside a built Bento.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

import bentoml  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from {{ cookiecutter.module_name }}.artifact import Predictor  # noqa: E402
from {{ cookiecutter.module_name }}.errors import InvalidRecord, UnknownGroup  # noqa: E402
from {{ cookiecutter.module_name }}.http_guard import RequestGuard, install_log_filters, max_body_bytes  # noqa: E402
from {{ cookiecutter.module_name }}.serving import Prediction, value_chars  # noqa: E402


class Arguments(BaseModel):
    model_tag: str = "{{ cookiecutter.module_name }}:latest"


MODEL = bentoml.models.BentoModel(bentoml.use_arguments(Arguments).model_tag)
if MODEL.stored is None:
    raise SystemExit(f"model {MODEL.tag} is not in the BentoML store: run `python flow.py run` first")
PREDICTOR = Predictor(MODEL.stored.path)
LABELS = MODEL.stored.info.labels  # lineage written by the flow's package step
Record = PREDICTOR.record  # with fairness mitigation, the sensitive features are fields too
Records = Annotated[list[Record], Field(min_length=1, max_length=PREDICTOR.max_batch_size)]
SERVING = PREDICTOR.spec.serving  # params.yaml's serving section, as trained
MAX_BODY_BYTES = SERVING.max_body_bytes or max_body_bytes(value_chars(Record), PREDICTOR.max_batch_size)


class PredictResponse(BaseModel):
    model_version: str = str(MODEL.stored.tag)  # the BentoML model
    mlflow_run_id: str = LABELS.get("mlflow_run_id", "")
    mlflow_model_version: str = LABELS.get("mlflow_model_version", "")  # in the MLflow registry
    predictions: list[Prediction]


def score(records: list) -> list[Prediction]:
    try:
        return PREDICTOR.predict([record.model_dump() for record in records])
    except (UnknownGroup, InvalidRecord) as err:  # groups the fairness thresholds never saw; a value past float32
        raise bentoml.exceptions.InvalidArgument(str(err)) from None


@bentoml.service(
    resources={"cpu": str(SERVING.threads)},
    traffic={"timeout": 30, "max_concurrency": SERVING.max_concurrency},  # beyond it: HTTP 429, not a queue
)
class Classifier:
    model = MODEL

    def __init__(self):
        import logging

        import torch

        torch.set_num_threads(SERVING.threads)  # torch's default OpenMP team (one per core) ignores `resources`
        install_log_filters()  # client errors in one line, without tracebacks; control characters escaped
        logging.getLogger("bentoml.serve").info("torch intra-op threads: %d", torch.get_num_threads())

    @bentoml.api
    def predict(self, records: Records) -> PredictResponse:
        return PredictResponse(predictions=score(records))
{%- if cookiecutter.task == "text_classification" %}

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=200)
    def classify(self, records: list[Record]) -> list[Prediction]:  # type: ignore[valid-type]
        """Adaptive batching: records from concurrent requests share one forward pass."""
        return score(records)
{%- endif %}


# In front of the API: JSON only, bounded bodies, no duplicate or unknown keys, bounded and one-line client errors.
Classifier.add_asgi_middleware(
    RequestGuard,
    keys={api.route: set(api.input_spec.model_fields) for api in Classifier.apis.values()},
    max_body_bytes=MAX_BODY_BYTES,
    body_timeout_s=SERVING.body_timeout_s,
)

"""The baseline of benchmarks/serving.py: the FastAPI app a user would write instead of the Bento, over the same
Predictor and the same model directory (from the BentoML store), answering POST /predict with the same JSON.

Run by the benchmark as `uvicorn fastapi_app:app --workers 1` (one process: uvicorn's default). The handler is a plain
`def`, so FastAPI runs it in its thread pool (40 threads) and the event loop keeps accepting connections; torch uses
the same number of intra-op threads as the service's workers (`serving.threads`), as a user tuning it would.

    BENCH_MODEL_DIR=<BentoML store model dir> python -m uvicorn fastapi_app:app --app-dir benchmarks --port 8000
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import torch
import yaml
from fastapi import FastAPI
from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from {{ cookiecutter.module_name }}.lineage.run_record import read_labels  # noqa: E402
from {{ cookiecutter.module_name }}.release.artifact import Predictor  # noqa: E402
from {{ cookiecutter.module_name }}.release.serving import Prediction  # noqa: E402

MODEL_DIR = Path(os.environ["BENCH_MODEL_DIR"])
PREDICTOR = Predictor(MODEL_DIR)
INFO = yaml.safe_load((MODEL_DIR / "model.yaml").read_text())  # the BentoML model's name, version and labels
LABELS = read_labels(INFO.get("labels") or {})
torch.set_num_threads(PREDICTOR.spec.serving.threads)
_ = PREDICTOR.network  # loads the weights now, as the service's workers do, not on the first request
Record = PREDICTOR.record


class PredictRequest(BaseModel):
    records: Annotated[list[Record], Field(min_length=1, max_length=PREDICTOR.max_batch_size)]  # type: ignore[valid-type]


class PredictResponse(BaseModel):
    model_version: str = f"{INFO['name']}:{INFO['version']}"
    mlflow_run_id: str = LABELS.run_id
    mlflow_model_version: str = LABELS.version
    predictions: list[Prediction]


app = FastAPI()


@app.get("/readyz")
def ready() -> str:
    return "ok"


@app.post("/predict")
def predict(request: PredictRequest) -> PredictResponse:
    return PredictResponse(predictions=PREDICTOR.predict([record.model_dump() for record in request.records]))

"""MLflow plumbing: one MLflow run per Metaflow run, written to by id from every step (what it records, by name, is
run_record.py's). Default: `mlflow.db` and `mlartifacts/` at the project root; MLFLOW_TRACKING_URI: a server."""

import os
import re

from ..config import PROJECT_ROOT

LOCAL_URI = f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or LOCAL_URI


def client():
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri())
    return MlflowClient()


def experiment_id(name: str) -> str:
    """The experiment's id, creating it (artifacts beside the local store) on first use."""
    mlflow_client = client()
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    local = tracking_uri() == LOCAL_URI  # a server decides where its artifacts go
    artifacts = (PROJECT_ROOT / "mlartifacts").as_uri() if local else None
    return mlflow_client.create_experiment(name, artifact_location=artifacts)


def flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    """{'a': {'b': 1}} -> {'a.b': '1'}: params.yaml as MLflow params."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        flat |= flatten(value, f"{name}.") if isinstance(value, dict) else {name: str(value)}
    return flat


def start_run(experiment: str, run_name: str, tags: dict) -> str:
    run = client().create_run(experiment_id(experiment), run_name=run_name, tags={k: str(v) for k, v in tags.items()})
    return run.info.run_id


def _key(name: str) -> str:
    """MLflow keys allow letters, digits and `_-. /`: "a [b = c]" -> "a _b _ c_"."""
    return re.sub(r"[^\w\-. /]", "_", name)


def log(
    run_id: str, params: dict | None = None, metrics: dict | None = None, tags: dict | None = None, step: int = 0
) -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.time import get_current_time_millis

    now = get_current_time_millis()
    tags = {_key(k): v for k, v in (tags or {}).items()}
    client().log_batch(
        run_id,
        metrics=[Metric(_key(k), float(v), now, step) for k, v in (metrics or {}).items()],
        params=[Param(k, str(v)[:6000]) for k, v in (params or {}).items()],
        tags=[RunTag(k, str(v)) for k, v in tags.items()],
    )


def log_text(run_id: str, text: str, path: str) -> None:
    client().log_text(run_id, text, path)


def finish(run_id: str, status: str = "FINISHED") -> None:
    client().set_terminated(run_id, status)

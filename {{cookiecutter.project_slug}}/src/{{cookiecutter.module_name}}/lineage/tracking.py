"""MLflow lineage: one MLflow run per Metaflow run, written to by id from every step (each step is its own process).

Embedded default: a SQLite store `mlflow.db` and artifacts in `mlartifacts/` at the project root (`mlflow ui` from
there shows them). Set MLFLOW_TRACKING_URI to use a tracking server instead.
"""

import os
import re
import tempfile
from pathlib import Path

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


def finish(run_id: str, status: str = "FINISHED", **tags) -> None:
    mlflow_client = client()
    for key, value in tags.items():
        mlflow_client.set_tag(run_id, key, str(value))
    mlflow_client.set_terminated(run_id, status)


def open_run(params: dict, experiment: str, flow_name: str, metaflow_run_id: str, git: dict) -> str:
    """Create the MLflow run for a Metaflow run and record what made it: params, commit, environment."""
    from .lineage import environment

    versions, frozen = environment()
    run_id = start_run(
        experiment,
        run_name=f"{flow_name}-{metaflow_run_id}",
        tags={f"git.{k}": v for k, v in git.items() if k in ("commit", "branch", "dirty")}
        | {"metaflow.flow": flow_name, "metaflow.run_id": metaflow_run_id}
        | {"metaflow.pathspec": f"{flow_name}/{metaflow_run_id}", "seed": params["seed"]}
        | {f"version.{k}": v for k, v in versions.items()},
    )
    log(run_id, params=flatten(params))
    log_text(run_id, frozen, "environment/requirements.txt")
    if git["dirty"]:
        log_text(run_id, git["diff"], "git/diff.patch")
    return run_id


def log_training(run_id: str, training: dict, weights_sha256: str, encoder_state: dict | None = None) -> None:
    """Per-epoch history as metric steps (step = epoch, counted from 1); the epoch kept (`train.best_epoch`, its
    monitored value) and how many ran as metrics. Whether training stopped early, device, precision, CPU threads,
    weights hash and throughput as tags: samples/s describes the machine, not the model, so `reproduce` (which
    compares every metric) leaves it out."""
    for epoch, metrics in enumerate(training["history"], start=1):
        log(run_id, metrics=metrics, step=epoch)
    metrics = {"train.best_epoch": training["best_epoch"], "train.epochs_run": training["epochs_run"]}
    if training.get("best_value") is not None:
        metrics[f"train.best_{training['monitor']}"] = training["best_value"]
    tags = {"train.accelerator": training["accelerator"], "train.precision": training["precision"]}
    tags |= {"train.threads": training["threads"]}
    tags |= {"train.stopped_early": training["stopped_early"], "train.monitor": training.get("monitor") or "none"}
    tags |= {"train.samples_per_second": f"{training['samples_per_second']:.0f}"}
    base = (encoder_state or {}).get("base_model", {})  # text: the pretrained model read, and its resolved commit
    tags |= {f"model.base.{k}": v for k, v in base.items()}
    log(run_id, metrics=metrics, tags=tags | {"weights_sha256": weights_sha256})


def record_evaluation(
    run_id: str, metrics: dict, verdicts: list[dict], report: dict | None = None, class_metrics: dict | None = None
) -> None:
    """Test metrics (and per class: `test_recall.<class>`), each gate's outcome and every failed or not-judged check
    (value, threshold), and the gate report (HTML + PNG), logged once the gates have run (or from a failing step), so
    evaluate and gate need not import MLflow."""
    tags = {}
    for verdict in verdicts:
        state = "skipped" if verdict.get("skipped") else "off" if verdict.get("disabled") else None
        tags[f"gate.{verdict['gate']}"] = state or ("passed" if verdict["passed"] else "failed")
        for check in verdict["checks"]:
            if check["state"] != "passed":
                kind = "failed" if check["state"] == "failed" else "not_judged"
                tags[f"gate.{verdict['gate']}.{kind}.{check['name']}"] = check["detail"]
    per_class = {
        f"test_{name}.{label}": value
        for label, figures in (class_metrics or {}).items()
        for name, value in figures.items()
        if name != "support"
    }
    log(run_id, metrics={f"test_{k}": v for k, v in metrics.items()} | per_class, tags=tags)
    mlflow_client = client()
    for name, content in (report or {}).items():
        if isinstance(content, str):
            mlflow_client.log_text(run_id, content, f"gates/{name}")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / name).write_bytes(content)
                mlflow_client.log_artifact(run_id, str(Path(tmp) / name), "gates")

"""The registry's current champion, scored on this run's held-out data, for the champion/challenger gate."""

from pathlib import Path

import pandas as pd


def champion_metrics(name: str, rows: pd.DataFrame, target: str) -> dict | None:
    """{'version', 'metrics'} of the model under alias `champion`; None when there is none yet; {'version',
    'error'} when it cannot score this data (the gate then fails closed rather than promote blindly)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from .evaluation import classification_metrics
    from .serving import Predictor
    from .tracking import client

    try:
        version = client().get_model_version_by_alias(name, "champion").version
    except MlflowException:
        return None
    try:
        path = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}"))
        predictor = Predictor(path / "artifacts" / "model")
        labels, proba = predictor.decide(rows)  # the champion's own decisions, mitigated or not
        return {
            "version": str(version),
            "metrics": classification_metrics(predictor.encoder.encode_target(rows[target]), proba, labels),
        }
    except Exception as err:  # noqa: BLE001 - any failure to score means "not comparable"
        return {"version": str(version), "error": f"{type(err).__name__}: {err}"}

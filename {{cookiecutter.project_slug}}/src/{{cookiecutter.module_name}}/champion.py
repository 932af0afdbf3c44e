"""The registry's current champion, scored on this run's held-out data, for the champion/challenger gate."""

from pathlib import Path

import pandas as pd


def no_champion(err) -> bool:
    """Only "no such model" or "no champion alias" mean there is no champion yet. Anything else (a server down, a
    permission, a corrupt store) must block the gate, or an outage would let any challenger through."""
    code = getattr(err, "error_code", "")
    return code == "RESOURCE_DOES_NOT_EXIST" or (
        code == "INVALID_PARAMETER_VALUE" and "alias" in str(err) and "not found" in str(err)
    )


def champion_metrics(name: str, rows: pd.DataFrame, target: str) -> dict | None:
    """{'version', 'metrics'} of the model under alias `champion`; None when there is none yet; {'version',
    'error'} when the registry cannot be read or the champion cannot score this data (the gate then fails closed)."""
    import mlflow

    from .artifact import Predictor
    from .evaluation import classification_metrics
    from .tracking import client

    try:
        version = client().get_model_version_by_alias(name, "champion").version
    except Exception as err:  # noqa: BLE001 - an unreachable registry is a failed gate, whatever raised
        if no_champion(err):
            return None
        return {"version": "?", "error": f"registry error: {type(err).__name__}: {str(err)[:300]}"}
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

"""The registry's current champion, scored on this run's held-out rows that it never trained on either, for the
champion/challenger gate.

When the data changes (new rows appended, a new version pinned), the same seeded split puts some of the champion's
own training rows into this run's test split; scored on them the champion would look better than it is. Its training
and validation splits are re-cut from its own run's lineage (trained_on.py) and those rows left out, so both models
are compared on rows neither saw. A champion whose training data cannot be found is not comparable: the gate fails."""

from pathlib import Path

import pandas as pd


def no_champion(err) -> bool:
    """Only "no such model" or "no champion alias" mean there is no champion yet. Anything else (a server down, a
    permission, a corrupt store) must block the gate, or an outage would let any challenger through."""
    code = getattr(err, "error_code", "")
    return code == "RESOURCE_DOES_NOT_EXIST" or (
        code == "INVALID_PARAMETER_VALUE" and "alias" in str(err) and "not found" in str(err)
    )


def pinned_champion(name: str) -> dict | None:
    """The version under alias `champion` now: {'version'}; None when there is no champion yet; {'version': '?',
    'error'} when the registry cannot be read. The flow pins it in `start`, which already talks to MLflow: the run is
    judged against the champion of the moment it started, and `evaluate` imports MLflow only when there is one."""
    from ..lineage.tracking import client

    try:
        return {"version": str(client().get_model_version_by_alias(name, "champion").version)}
    except Exception as err:  # noqa: BLE001 - an unreachable registry is a failed gate, whatever raised
        if no_champion(err):
            return None
        return {"version": "?", "error": f"registry error: {type(err).__name__}: {str(err)[:300]}"}


def champion_metrics(
    name: str, pinned: dict | None, rows: pd.DataFrame, target: str, challenger: dict, gates, seed: int
) -> dict | None:
    """The `pinned` champion (pinned_champion) and this run's model (`challenger`: its answers on `rows`, as
    evaluation.score takes them), both scored on the `rows` the champion never trained on: {'version', 'metrics',
    'challenger_metrics', 'difference' (the paired interval of the primary metric, ours minus the champion's),
    'rows', 'left_out'}; None when there is no champion; {'version', 'error'} when the registry could not be read,
    the champion's training data cannot be found, or it cannot score this data (the gate then fails closed)."""
    if pinned is None or "error" in pinned:
        return pinned
    import mlflow

    from ..gates.evidence import paired_difference
    from ..lineage.tracking import client
    from ..pipeline.evaluation import score
    from ..pipeline.trained_on import unseen_by
    from .artifact import Predictor

    version = pinned["version"]
    try:
        client()  # points mlflow at the project's store, for download_artifacts below
        fresh = unseen_by(name, version, rows.reset_index(drop=True), f"champion v{version}")
        if fresh.empty:
            return {"version": version, "error": "it trained on every test row of this run: not comparable"}
        path = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}"))
        predictor = Predictor(path / "artifacts" / "model")
        same = fresh.index.to_numpy()  # positions in `rows`, where the challenger's answers are
        ours = {k: v[same] for k, v in challenger.items()}
{%- if cookiecutter.task == "tabular_regression" %}
        theirs = {"y_true": ours["y_true"], "y_pred": predictor.predict_values(fresh.reset_index(drop=True))}
{%- else %}
        labels, proba = predictor.decide(fresh.reset_index(drop=True))  # its own decisions, mitigated or not
        theirs = {"y_true": predictor.encoder.encode_target(fresh[target]), "y_pred": labels, "proba": proba}
{%- endif %}
        return {
            "version": version,
            "metrics": score(theirs),
            "challenger_metrics": score(ours),
            "difference": paired_difference(ours, theirs, score, gates.primary_metric, gates, seed),
            "rows": len(fresh),
            "left_out": len(rows) - len(fresh),
        }
    except Exception as err:  # noqa: BLE001 - any failure to score means "not comparable"
        return {"version": version, "error": f"{type(err).__name__}: {err}"}

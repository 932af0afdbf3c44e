"""A hyperparameter sweep's choice and its record: which candidate is kept (best on the validation split, never the
test split), the comparison table, and one child MLflow run per candidate under the flow's run."""

import json
import math

from ..config import MODES
from ..errors import ProjectError


class NoCandidate(ProjectError):
    headline = "Sweep failed"


def select_best(results: list[dict], monitor: str) -> int:
    """Index of the best result by `monitor` on the validation split (each result is training.fit's: `best_value` is
    the monitored value of the epoch it kept). Lowest loss / highest accuracy wins; a tie goes to the earlier
    candidate; a candidate with no value (or NaN) never wins."""
    sign = 1 if MODES[monitor] == "min" else -1
    scored = [
        (sign * r["best_value"], index)
        for index, r in enumerate(results)
        if r.get("best_value") is not None and not math.isnan(r["best_value"])
    ]
    if not scored:
        raise NoCandidate(f"no sweep candidate has a {monitor} on the validation split to compare")
    return min(scored)[1]


def comparison(candidates: list[dict], results: list[dict], winner: int, monitor: str) -> list[dict]:
    """One row per candidate, in candidate order: its settings, the value it is judged by, the epoch kept, its weights'
    hash. `candidates`: {number, settings, weights_sha256}; `results`: training.fit's, in the same order."""
    return [
        {
            "candidate": candidate["number"],
            "settings": candidate["settings"],
            monitor: result["best_value"],
            "best_epoch": result["best_epoch"],
            "epochs_run": result["epochs_run"],
            "weights_sha256": candidate["weights_sha256"],
            "kept": index == winner,
        }
        for index, (candidate, result) in enumerate(zip(candidates, results, strict=True))
    ]


def table_text(rows: list[dict], monitor: str) -> str:
    """The comparison as a Markdown table (printed by the flow, logged to MLflow)."""
    lines = [f"| candidate | settings | {monitor} | best epoch | epochs run | kept |", "|---|---|---|---|---|---|"]
    for row in rows:
        value = "n/a" if row[monitor] is None else f"{row[monitor]:.4f}"
        settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items())
        cells = [row["candidate"], settings, value, row["best_epoch"], row["epochs_run"], "yes" if row["kept"] else ""]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def record_sweep(parent_id: str, rows: list[dict], results: list[dict], settings: list) -> list[str]:
    """One child MLflow run per candidate (tag `mlflow.parentRunId`): the whole `training` and `model` sections it
    trained with as params, its per-epoch validation history and the epoch kept as metrics (as the flow's run records
    its own). The parent records the choice: `sweep.*` tags, the winner's settings as `sweep.winner.<key>` params and
    the comparison table as sweep/candidates.md and .json. `rows`: comparison's; `settings`: each candidate's Params.
    Returns the child run ids, in candidate order."""
    from ..lineage.run_record import log_training
    from ..lineage.tracking import client, flatten, log, log_text

    mlflow_client = client()
    parent = mlflow_client.get_run(parent_id)
    children = []
    for row, result, chosen in zip(rows, results, settings, strict=True):
        run = mlflow_client.create_run(
            parent.info.experiment_id,
            run_name=f"{parent.info.run_name}-candidate-{row['candidate']}",
            tags={
                "mlflow.parentRunId": parent_id,
                "sweep.candidate": str(row["candidate"]),
                "sweep.kept": str(row["kept"]).lower(),
            },
        )
        sections = {"training": chosen.training.model_dump(exclude={"sweep"}), "model": chosen.model.model_dump()}
        log(run.info.run_id, params=flatten(sections))
        log_training(run.info.run_id, result, row["weights_sha256"])
        mlflow_client.set_terminated(run.info.run_id, "FINISHED")
        children.append(run.info.run_id)
    winner = next(index for index, row in enumerate(rows) if row["kept"])
    monitor = settings[winner].training.monitor
    log(
        parent_id,
        params={f"sweep.winner.{k}": v for k, v in rows[winner]["settings"].items()},
        tags={
            "sweep.candidates": len(rows),
            "sweep.winner": rows[winner]["candidate"],
            "sweep.winner_run_id": children[winner],
            "sweep.monitor": monitor,
        },
    )
    log_text(parent_id, table_text(rows, monitor), "sweep/candidates.md")
    log_text(parent_id, json.dumps(rows, indent=2, default=str), "sweep/candidates.json")
    return children

"""Retraining after a monitor's verdict: a labelled batch joins the training table as a new DVC-pinned version, and the
training flow runs on it through Metaflow's Runner API.

The retrained model is a challenger like any other: every gate judges it, the champion gate on test rows neither model
trained on (champion.py), and it is promoted only when it passes. Rows already in the table are not added twice, so a
batch retrains once. The new `.dvc` pointer is left for you to commit, with the code that trained on it.
"""

from pathlib import Path

import pandas as pd

from ..errors import ProjectError


class RetrainError(ProjectError, RuntimeError):
    """Nothing to retrain on: no new labelled rows, or a batch that does not fit the training table."""

    headline = "Cannot retrain"


def new_rows(table: pd.DataFrame, batch: pd.DataFrame, target: str, source: str) -> pd.DataFrame:
    """The batch's labelled rows that the table does not hold yet, in the table's column order. A batch must have
    exactly the table's columns: a missing or extra column is a different dataset, not more of the same."""
    from ..pipeline.trained_on import unseen

    missing, extra = [c for c in table if c not in batch], [c for c in batch if c not in table]
    if missing or extra:
        raise RetrainError(f"{source} does not have the training table's columns: missing {missing}, extra {extra}")
    labelled = batch.loc[batch[target].notna(), list(table.columns)]
    if labelled.empty:
        raise RetrainError(f"{source} has no labelled rows (column {target!r} is empty): nothing to learn from")
    fresh = unseen(labelled.reset_index(drop=True), [table])
    if fresh.empty:
        raise RetrainError(f"every labelled row of {source} is already in the training table: nothing new")
    for column in table:  # integers stay integers (a batch with blanks reads them as floats): 1, not 1.0, in the file
        if pd.api.types.is_integer_dtype(table[column]) and fresh[column].notna().all():
            fresh[column] = fresh[column].astype(table[column].dtype)
    return fresh


def append(path: Path, table: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Add `rows` to the table file. A CSV gets them appended, leaving the bytes of the rows already there untouched."""
    if path.suffix == ".csv":
        rows.to_csv(path, mode="a", header=False, index=False)
    else:
        pd.concat([table, rows], ignore_index=True).to_parquet(path, index=False)


def pin(path: Path, cwd: Path) -> str:
    """`dvc add` the new version; its md5 (the pointer's)."""
    import subprocess
    import sys

    from ..lineage.lineage import pointer

    command = [sys.executable, "-m", "dvc", "add", "-q", str(path)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RetrainError(f"dvc add {path} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return pointer(cwd / path).md5


def run_flow(flow_file: Path, **parameters) -> tuple[bool, str]:
    """The training flow, run through Metaflow's Runner API (its output shown): (succeeded, run pathspec)."""
    from metaflow import Runner

    with Runner(str(flow_file), show_output=True, cwd=str(flow_file.parent)).run(**parameters) as running:
        return running.run.successful, running.run.pathspec

"""The rows judged: a window of the prediction log (the newest records, the last hours), or a batch file.

{% if cookiecutter.task == "tabular_regression" -%}
The log is JSON lines, one row per answered record (prediction_log.py): the record's input fields, `value` (the
predicted value), `model_version` (the BentoML model tag), and BentoML's `timestamp`, `request_id` and
`trace_id`.
{%- else -%}
The log is JSON lines, one row per answered record (prediction_log.py): the record's input fields, `label`,
`probability_<class>` per class, `model_version` (the BentoML model tag), and BentoML's `timestamp`, `request_id`,
`trace_id`.
{%- endif %} Files are read in full; the window is cut after sorting by time.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from ..errors import ProjectError

BOOKKEEPING = ("model_version", "timestamp", "request_id", "trace_id")


class MonitoringError(ProjectError, RuntimeError):
    """The monitor cannot judge: no rows, an unknown model, a reference it cannot follow or trust."""

    headline = "Cannot monitor"


def log_files(log_dir: str | Path) -> list[Path]:
    return sorted(Path(log_dir).glob("data.*.log*"))


def read_log(log_dir: str | Path) -> pd.DataFrame:
    """Every row of the prediction log under `log_dir` (BentoML's default sink: data.<worker>.log), oldest first."""
    files = log_files(log_dir)
    if not files:
        raise MonitoringError(
            f"no prediction log under {log_dir}: serve the model (`make serve`) and send it requests first, or judge "
            "a batch file with --batch PATH"
        )
    rows = [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise MonitoringError(f"the prediction log under {log_dir} is empty: send the service requests first")
    frame = pd.DataFrame.from_records(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601")  # BentoML writes local time
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def window(
    log: pd.DataFrame, last_records: int | None, last_hours: float | None, now: datetime | None = None
) -> pd.DataFrame:
    """The newest `last_records` rows logged within `last_hours` of `now` (None: no limit on that side). `now`: local
    time, as BentoML stamps the rows (UTC when the stamps carry a zone)."""
    if last_hours is not None:
        aware = log["timestamp"].dt.tz is not None
        since = (now or (datetime.now(UTC) if aware else datetime.now())) - timedelta(hours=last_hours)
        log = log[log["timestamp"] >= pd.Timestamp(since)]
    if last_records is not None:
        log = log.tail(last_records)
    return log.reset_index(drop=True)


def served_by(rows: pd.DataFrame, model_version: str = "") -> tuple[pd.DataFrame, str, dict[str, int]]:
    """The rows one model answered (default: the model of the newest row), its tag, and how many rows each other
    model answered in the window (judged against their own training data by naming them with --model-version)."""
    if rows.empty:
        raise MonitoringError("no prediction-log rows in the window (monitoring.window in params.yaml)")
    counts = rows["model_version"].value_counts().to_dict()
    chosen = model_version or rows["model_version"].iloc[-1]
    if chosen not in counts:
        raise MonitoringError(f"model {chosen} answered none of the {len(rows)} rows in the window; logged: {counts}")
    others = {tag: int(n) for tag, n in counts.items() if tag != chosen}
    return rows[rows["model_version"] == chosen].reset_index(drop=True), chosen, others


def read_batch(path: str) -> pd.DataFrame:
    """A new data batch (CSV or Parquet), read like the training data."""
    from ..pipeline.data import read_table

    return read_table(path, config="--batch")

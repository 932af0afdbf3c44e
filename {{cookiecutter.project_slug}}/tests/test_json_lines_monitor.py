"""The prediction log's sink (json_lines_monitor.JsonLinesMonitor) against BentoML's own DefaultMonitor, without a
server: the same files and lines (what monitoring reads back), written one log record per request."""

import logging
import re

from bentoml.monitoring import DefaultMonitor

from {{ cookiecutter.module_name }}.release.json_lines_monitor import JsonLinesMonitor
from {{ cookiecutter.module_name }}.release.prediction_log import columns

RECORDS = [
    {"age": 41.0, "region": "nörth", "note": 'a "quoted"\nline'},
    {"age": None, "region": None, "note": ""},
    {"age": 1e300, "region": "west", "note": "\u2028"},
]
{%- if cookiecutter.task == "tabular_regression" %}
PREDICTIONS = [{"value": value} for value in (12.5, 0.0, -3.25)]
{%- else %}
PREDICTIONS = [{"label": label, "probabilities": {"0": 1 - p, "1": p}} for label, p in [(1, 0.9), (0, 0.25), (1, 0.5)]]
{%- endif %}
FIELDS = {"age": "numerical", "region": "categorical", "note": "categorical"}


def _log(monitor, requests: list[list[int]]) -> None:
    """Each request: the indices of its records, logged as service.py logs them."""
    for rows in requests:
        monitor.start_record()
        records, predictions = [RECORDS[i] for i in rows], [PREDICTIONS[i] for i in rows]
        for name, role, kind, values in columns(records, predictions, FIELDS, "model:v1"):
            monitor.log_batch(values, name=name, role=role, data_type=kind)
        monitor.log_batch([r["age"] for r in records], name="timestamp", role="feature", data_type="numerical")
        monitor.stop_record()


def _files(root) -> dict[str, str]:
    """Every file the monitor wrote, by path below `root`, each row's time stamp blanked."""
    return {
        str(path.relative_to(root)): re.sub(r'"timestamp": "[^"]+"', '"timestamp": ""', path.read_text())
        for path in sorted(root.rglob("*.log*"))
    }


def test_the_files_and_lines_are_bentomls_own(tmp_path, caplog):
    requests, warned = [[0, 1, 2], [1], [2, 0]], {}
    for name, monitor in (("bentoml", DefaultMonitor), ("ours", JsonLinesMonitor)):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            _log(monitor("predictions", log_path=str(tmp_path / name)), requests)
        warned[name] = [r.getMessage() for r in caplog.records if "duplicated" in r.getMessage()]
    ours, bentomls = _files(tmp_path / "ours"), _files(tmp_path / "bentoml")
    assert list(ours) == ["predictions/data/data.0.log", "predictions/schema/schema.0.log"]
    assert ours == bentomls  # byte for byte, but the time stamps
    assert len(ours["predictions/data/data.0.log"].splitlines()) == 6
    assert '"timestamp_": 41.0' in ours["predictions/data/data.0.log"]  # a reserved name renamed, as BentoML does
    # BentoML's log_batch warns "Column name ... is duplicated" for every value but the first of a first request
{%- if cookiecutter.task == "tabular_regression" %}
    assert len(warned["bentoml"]) == 6 * 2 and warned["ours"] == []  # 6 columns, 3 records
{%- else %}
    assert len(warned["bentoml"]) == 8 * 2 and warned["ours"] == []  # 8 columns, 3 records
{%- endif %}


def test_a_requests_rows_are_one_log_record(tmp_path):
    monitor = JsonLinesMonitor("predictions", log_path=str(tmp_path))
    _log(monitor, [[0]])
    emitted = []
    handler = monitor.data_logger.handlers[0]
    handler.addFilter(lambda record: emitted.append(record.getMessage().count("\n") + 1) or True)
    try:
        _log(monitor, [[0, 1, 2], [2, 1]])
    finally:
        handler.filters.clear()
    assert emitted == [3, 2]  # one record (one write, one flush) per request, a line per row
    assert len((tmp_path / "predictions" / "data" / "data.0.log").read_text().splitlines()) == 6

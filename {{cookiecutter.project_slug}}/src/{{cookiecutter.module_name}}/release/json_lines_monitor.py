"""The prediction log's sink: BentoML's default monitor (the same files and the same JSON lines, the same schema file)
writing each request's rows at once. BentoML's own logs every row through Python logging (a LogRecord, a JSON
formatter pass and a flush per row), which cost a serving worker about a third of its CPU at 32 records per request
(docs/benchmarks.md); here a request's rows are one log record: one write and one flush.

service.py makes it BentoML's monitoring type; BentoML's configuration still rules: `monitoring.enabled=false` turns the
log off, `monitoring.type=default` (or `otlp`) brings back BentoML's own, `monitoring.options.log_path` moves the files.
A `monitoring.options.log_config_file` replaces LOG_CONFIG (the same placeholders as BentoML's); its data handler then
gets one record per request whose message is the rows' JSON lines: give it a message-only formatter.
Only public APIs: `bentoml.monitoring.DefaultMonitor` (subclassed), `bentoml.server_context` (the worker index) and
OpenTelemetry's current span, which is where BentoML takes a row's trace id, and its request id (the server span's
id). BentoML has no public hook to write a request's rows at once (checked: `bentoml.monitor`, the monitoring
config, `DefaultMonitor`'s options), hence this subclass; the project's unit tests compare its lines with BentoML's.
"""

import json
import logging
import logging.config
from datetime import datetime
from pathlib import Path

import yaml
from bentoml.monitoring import DefaultMonitor

# BentoML's default files (data.<worker>.log rotated daily, schema.<worker>.log); the data handler writes messages as
# they are (str.format fills the placeholders: no flow-style mappings in here).
LOG_CONFIG = """
version: 1
disable_existing_loggers: false
loggers:
  bentoml_monitor_data:
    level: INFO
    handlers: [data]
    propagate: false
  bentoml_monitor_schema:
    level: INFO
    handlers: [schema]
    propagate: false
handlers:
  data:
    class: logging.handlers.TimedRotatingFileHandler
    filename: '{data_filename}'
    when: D
    formatter: lines
  schema:
    class: logging.handlers.RotatingFileHandler
    filename: '{schema_filename}'
    formatter: json
formatters:
  lines:
    format: '%(message)s'
  json:
    class: pythonjsonlogger.json.JsonFormatter
    format: '()'
    validate: false
"""


class JsonLinesMonitor(DefaultMonitor):
    """BentoML's DefaultMonitor, a request's rows written as one log record of JSON lines."""

    def _init_logger(self) -> None:
        import bentoml

        text = Path(self.log_config_file).read_text() if self.log_config_file else LOG_CONFIG
        worker = bentoml.server_context.worker_index or 0
        root = Path(self.log_path, self.name).absolute()
        data, schema = root / "data" / f"data.{worker}.log", root / "schema" / f"schema.{worker}.log"
        for path in (data, schema):
            path.parent.mkdir(parents=True, exist_ok=True)
        text = text.format(data_filename=data, schema_filename=schema, worker_id=worker, monitor_name=self.name)
        logging.config.dictConfig(yaml.safe_load(text))
        self.data_logger = logging.getLogger("bentoml_monitor_data")
        self.schema_logger = logging.getLogger("bentoml_monitor_schema")

    def log_batch(self, data_batch, name: str, role: str, data_type: str) -> None:
        """A column: its first value enters the schema, the rest only the record (BentoML's log_batch logs every
        value as if it were a new column, warning of a duplicate for each one in a worker's first request)."""
        values = list(data_batch)
        if not values:
            return
        self.log(values[0], name, role, data_type)
        schema, self.columns_schema = self.columns_schema, self.columns_schema or {}  # not None: no schema entry
        try:
            for value in values[1:]:
                self.log(value, name, role, data_type)
        finally:
            self.columns_schema = schema

    def export_data(self, datas: dict) -> None:
        from opentelemetry import trace

        if self.data_logger is None:
            self._init_logger()
        span = trace.get_current_span().get_span_context()  # BentoML's server span: its id is the request id
        stamp = {
            self.COLUMN_TIME: datetime.now().isoformat(),
            self.COLUMN_RID: str(span.span_id if span.is_valid else None),
            self.COLUMN_TID: str(span.trace_id),
        }
        names = list(datas)
        lines = [json.dumps(dict(zip(names, row, strict=True)) | stamp) for row in zip(*datas.values(), strict=True)]
        if lines:
            self.data_logger.info("\n".join(lines))

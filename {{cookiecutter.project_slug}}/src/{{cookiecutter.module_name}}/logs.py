"""The package's one logger. Library modules log through `logging.getLogger(__name__)` and never print; an entry point
(flow.py, monitor_flow.py, a benchmark) calls `configure()` once, so the messages appear as plain lines on stdout,
where Metaflow shows each step's output. The service logs through BentoML's logging, under `bentoml.serve`."""

import logging
import sys

PACKAGE = __package__


class StdoutLines(logging.StreamHandler):
    """Each record as its message alone (the default format), on whatever `sys.stdout` is when it is logged (a step's
    captured output, a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout  # under the handler's lock
        super().emit(record)


def configure(level: int = logging.INFO) -> logging.Logger:
    """The package's loggers write plain lines on stdout; once per process (calling it again changes nothing)."""
    logger = logging.getLogger(PACKAGE)
    if not any(isinstance(handler, StdoutLines) for handler in logger.handlers):
        logger.addHandler(StdoutLines())
        logger.propagate = False  # not twice when the root logger has a handler too
    logger.setLevel(level)
    return logger

"""Expected failures: problems the user fixes, each message naming the problem and the fix. flow.py prints them alone;
any other exception is a bug and keeps its traceback. No imports, so every module can raise them."""


class ProjectError(Exception):
    """Base of every expected failure; `headline` is the title printed above the message."""

    headline = "Stopped"


class UsageError(ProjectError, ValueError):
    """A command-line option has a value the flow does not know."""

    headline = "Bad option"


class DataError(ProjectError, ValueError):
    """The data cannot be trained on as configured; the message lists every problem found."""

    headline = "Data problem"


class ModelFormatError(ProjectError):
    """A model directory this code cannot read (an old or newer spec_version); the message names the version and
    what to run."""

    headline = "Unreadable model"


{% if cookiecutter.mitigation -%}
class UnknownGroup(ProjectError, ValueError):
    """A record's sensitive groups were not seen when the fairness thresholds were fitted (HTTP 400)."""

    headline = "Unknown group"


{% endif -%}
class InvalidRecord(ProjectError, ValueError):
    """A record the model cannot score (a value whose encoding is not finite); the message names the field."""

    headline = "Invalid record"

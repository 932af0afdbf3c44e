"""What differs per task lives in one module here; everything else (flow, lineage, gates, packaging) is shared.

This project's task: {{ cookiecutter.task }}.
"""

from . import {{ "text" if cookiecutter.task == "text_classification" else "tabular" }} as task  # noqa: F401

"""What differs per task lives in one module here; everything else (flow, lineage, gates, packaging) is shared.

This project's task: {{ cookiecutter.task }}.
"""

from . import {{ {"text_classification": "text", "tabular_regression": "regression"}.get(cookiecutter.task, "tabular") }} as task  # noqa: F401

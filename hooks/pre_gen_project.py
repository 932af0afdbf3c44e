"""Reject bad answers before cookiecutter writes anything: exit 1 with one line per bad answer, naming the answer to
change. cookiecutter 2.7 has no quiet way out of a hook: after these lines its CLI logs "Stopping generation because
pre_gen_project hook script didn't exit successfully" with a FailedHookException traceback."""

import keyword
import re
import sys

# Top-level packages the generated project imports: a module with one of these names would shadow it.
DEPENDENCIES = {
    "bentoml",
    "dvc",
    "fairlearn",
    "lightning",
    "metaflow",
    "mlflow",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "pytest",
    "pytorch_lightning",
    "sklearn",
    "torch",
    "torchmetrics",
    "transformers",
    "yaml",
    "test",
    "tests",
    "src",
    "flow",
    "service",
}

SLUG = "{{ cookiecutter.project_slug }}"
MODULE = "{{ cookiecutter.module_name }}"
TARGET = "{{ cookiecutter.target_column }}".strip()
SENSITIVE = [s.strip() for s in "{{ cookiecutter.sensitive_features }}".split(",") if s.strip()]
TEXT = "{{ cookiecutter.task }}" == "text_classification"
REGRESSION = "{{ cookiecutter.task }}" == "tabular_regression"
MITIGATION = "{{ cookiecutter.mitigation }}" == "True"


def module_problem(name):
    """Why `name` cannot be the package's name, or "" when it can."""
    if not name.isidentifier() or name != name.lower():
        return "is not a valid lowercase Python identifier"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name in sys.stdlib_module_names:
        return "would shadow the standard library module of that name"
    if name in DEPENDENCIES:
        return "would shadow a dependency or a project file of that name"
    return ""


def problems():
    """Each bad answer, with the answer to change."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", SLUG):
        yield (
            f"project_slug {SLUG!r} must be lowercase letters, digits, '-', '_' or '.' (starting with a letter/digit); "
            "answer another project_slug"
        )
    if reason := module_problem(MODULE):
        yield f"module_name {MODULE!r} {reason}; answer another module_name"
    if not TARGET:
        yield "target_column must not be empty; answer the name of the column to predict"
    if MITIGATION and not SENSITIVE:
        yield (
            "mitigation sets per-group thresholds, and no sensitive feature names the groups: answer mitigation no, "
            "or name the sensitive_features"
        )
    if TARGET in SENSITIVE:
        yield f"target_column {TARGET!r} cannot also be a sensitive feature; answer another target_column"
    if TEXT and "text" in [TARGET, *SENSITIVE]:
        yield "'text' is the text column of a text project; answer other target_column and sensitive_features names"
    if REGRESSION and MITIGATION:
        yield "mitigation post-processes a classifier's scores; a regression has none: answer mitigation no"
    for name in [TARGET, *SENSITIVE]:
        if name and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            yield (
                f"column name {name!r} must be letters, digits and '_' (it becomes a field of the service's schema); "
                "answer another target_column or sensitive_features"
            )


if __name__ == "__main__":
    found = list(problems())
    for problem in found:  # printed before cookiecutter's own "Stopping generation" and traceback
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)

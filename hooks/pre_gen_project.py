"""Reject bad answers before cookiecutter writes anything (exit 1 with a one-line reason)."""

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


def problems():
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", SLUG):
        yield f"project_slug {SLUG!r} must be lowercase letters, digits, '-', '_' or '.' (starting with a letter/digit)"
    if not MODULE.isidentifier() or MODULE != MODULE.lower():
        yield f"module_name {MODULE!r} is not a valid lowercase Python identifier"
    elif keyword.iskeyword(MODULE):
        yield f"module_name {MODULE!r} is a Python keyword"
    elif MODULE in sys.stdlib_module_names:
        yield f"module_name {MODULE!r} would shadow the standard library module of that name"
    elif MODULE in DEPENDENCIES:
        yield f"module_name {MODULE!r} would shadow a dependency or a project file of that name"
    if not TARGET:
        yield "target_column must not be empty"
    if not SENSITIVE:
        yield "sensitive_features must name at least one column"
    if TARGET in SENSITIVE:
        yield f"target_column {TARGET!r} cannot also be a sensitive feature"
    if TEXT and "text" in [TARGET, *SENSITIVE]:
        yield "'text' is the text column of a text project; give the target and sensitive columns other names"
    for name in [TARGET, *SENSITIVE]:
        if name and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            yield f"column name {name!r} must be letters, digits and '_' (it becomes a field of the service's schema)"


if __name__ == "__main__":
    for problem in problems():
        print(f"ERROR: {problem}", file=sys.stderr)
        sys.exit(1)

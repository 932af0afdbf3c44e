"""The model directory has one owner (artifact.py): its spec is versioned, any other version stops with a message that
names the version and the fix, and nothing in it is pickled (the import graph is test_architecture.py's)."""

import ast
import json
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.config import ModelConfig, ServingConfig
from {{ cookiecutter.module_name }}.errors import ModelFormatError, ProjectError
from {{ cookiecutter.module_name }}.pipeline.tasks import task
from {{ cookiecutter.module_name }}.release.artifact import SPEC, SPEC_VERSION, ModelSpec, read_spec, write_model_dir

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "{{ cookiecutter.module_name }}"


def spec(**changes) -> dict:
    base = {"task": task.NAME, "encoder": {}, "network": ModelConfig().model_dump(), "serving": ServingConfig()}
    return json.loads(ModelSpec(**base).model_dump_json()) | changes


def written(tmp_path: Path, data: dict) -> Path:
    (tmp_path / SPEC).write_text(json.dumps(data))
    return tmp_path


def test_the_spec_round_trips_with_its_version(tmp_path):
    path = write_model_dir(tmp_path, b"weights", ModelSpec.model_validate(spec()), card="# card")
    assert json.loads((path / SPEC).read_text())["spec_version"] == SPEC_VERSION == read_spec(path).spec_version
    assert read_spec(path).serving.max_batch_size == 1000{% if cookiecutter.mitigation %} and read_spec(path).mitigation is None{% endif %}
{%- if cookiecutter.mitigation %}


def test_a_mitigation_section_needs_its_thresholds_table(tmp_path):
    mitigation = {"method": "threshold_optimizer", "constraints": "demographic_parity", "objective": "accuracy_score"}
    mitigated = ModelSpec.model_validate(spec(mitigation=mitigation | {"groups": {"sex": ["f"]}, "fit_on": "v"}))
    with pytest.raises(ValueError, match="needs its thresholds table"):
        write_model_dir(tmp_path, b"w", mitigated)
{%- endif %}


def test_a_spec_of_another_version_names_the_version_and_the_fix(tmp_path):
    """A new project only ever writes spec_version 2: one without a version, or an older one, is refused."""
    old = spec(mitigation={"method": "threshold_optimizer", "groups": {"sex": ["f", "m"]}, "seed": 1})
    del old["spec_version"]
    with pytest.raises(ModelFormatError) as raised:
        read_spec(written(tmp_path, old))
    message = str(raised.value)
    assert f"spec_version None; this project reads {SPEC_VERSION}" in message
    assert "re-train it (`python flow.py run`)" in message and "--skip-gates champion" in message
    assert isinstance(raised.value, ProjectError)
    with pytest.raises(ModelFormatError, match=f"spec_version 1; this project reads {SPEC_VERSION}"):
        read_spec(written(tmp_path, spec(spec_version=1)))


def test_a_newer_or_malformed_spec_names_its_version(tmp_path):
    with pytest.raises(ModelFormatError, match=f"newer template \\(spec_version {SPEC_VERSION + 1}\\)"):
        read_spec(written(tmp_path, spec(spec_version=SPEC_VERSION + 1)))
    with pytest.raises(ModelFormatError, match=f"model.json \\(spec_version {SPEC_VERSION}\\) is not a valid"):
        read_spec(written(tmp_path, spec(serving={"threshold": 2})))


def test_nothing_in_the_package_is_pickled():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {"pickle", "cloudpickle", "dill", "joblib"} & imported, path


def test_loading_a_model_module_does_not_import_the_fairness_stack():
    """The service imports artifact.py: scikit-learn (needed only to fit or apply fairness thresholds) stays out."""
    import subprocess
    import sys

    from .conftest import ROOT

    probe = "import sys, {{ cookiecutter.module_name }}.release.artifact; print('sklearn' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(ROOT / "src")}
    )
    assert done.stdout.strip() == "False"

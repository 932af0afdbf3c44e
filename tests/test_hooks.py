"""Bad answers are rejected by the pre-generation hook with a one-line reason naming the answer to change, and nothing
is written."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from .conftest import TEMPLATE, bake

BAD_ANSWERS = [
    ({"module_name": "metaflow"}, "would shadow a dependency"),
    (
        {"module_name": "torch"},
        "module_name 'torch' would shadow a dependency or a project file of that name; answer another module_name",
    ),
    ({"module_name": "test"}, "would shadow"),
    ({"module_name": "json"}, "shadow the standard library"),
    ({"module_name": "class"}, "is a Python keyword"),
    ({"module_name": "9lives"}, "not a valid lowercase Python identifier"),
    ({"module_name": "My_Model"}, "not a valid lowercase Python identifier"),
    ({"project_slug": "bad slug!"}, "answer another project_slug"),
    ({"target_column": "  "}, "target_column must not be empty"),
    (
        {"sensitive_features": " , ", "mitigation": True},
        "mitigation sets per-group thresholds, and no sensitive feature names the groups: answer mitigation no, "
        "or name the sensitive_features",
    ),
    ({"target_column": "sex"}, "cannot also be a sensitive feature; answer another target_column"),
    ({"target_column": "approved?"}, "must be letters, digits and '_'"),
    ({"task": "text_classification", "sensitive_features": "text"}, "'text' is the text column"),
    ({"task": "tabular_regression", "mitigation": True}, "a regression has none: answer mitigation no"),
]


@pytest.mark.parametrize(("answers", "reason"), BAD_ANSWERS, ids=[str(a) for a, _ in BAD_ANSWERS])
def test_bad_answer_is_rejected_before_writing(tmp_path, capfd, answers, reason):
    with pytest.raises(FailedHookException):
        bake(tmp_path, **answers)
    assert reason in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_good_custom_names_are_accepted(tmp_path):
    project = bake(
        tmp_path,
        project_name="Fraud Detector",
        module_name="fraud",
        target_column="is_fraud",
        sensitive_features="country",
    )
    assert (project / "src" / "fraud" / "config.py").exists()


@pytest.mark.parametrize("task", ["tabular_classification", "text_classification", "tabular_regression"])
def test_no_sensitive_feature_is_an_answer_that_generates_no_fairness_gate(tmp_path, task):
    """An empty answer (data with no sensitive column) bakes no fairness gate, and the README says so; the flow run
    and the model card are in test_data_variants.py."""
    project = bake(tmp_path, task=task, sensitive_features=" , ")
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert "sensitive_features" not in params["data"] and "fairness" not in params["gates"]
    assert not (project / "src" / "credit_approval_model" / "gates" / "fairness.py").exists()
    assert "generated without a sensitive feature" in (project / "README.md").read_text()
    header = (project / "data" / "credit_approval_model.csv").read_text().splitlines()[0].split(",")
    assert not {"sex", "gender"} & set(header)  # the demo data has no made-up sensitive column either
    named = bake(tmp_path / "named", task=task)
    assert "generated without a sensitive feature" not in (named / "README.md").read_text()
    assert yaml.safe_load((named / "params.yaml").read_text())["gates"]["fairness"]["enabled"] is True


def test_the_cli_prints_the_reason_first(tmp_path):
    """cookiecutter's CLI adds its own "Stopping generation" line and a traceback (it has no quiet way out of a hook);
    the hook's reason comes before them."""
    cli = Path(sys.executable).parent / "cookiecutter"
    done = subprocess.run(
        [str(cli), "--no-input", "-o", str(tmp_path), str(TEMPLATE), "module_name=torch", "target_column=sex"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 1 and list(tmp_path.iterdir()) == []
    assert lines[:2] == [
        "error: module_name 'torch' would shadow a dependency or a project file of that name; "
        "answer another module_name",
        "error: target_column 'sex' cannot also be a sensitive feature; answer another target_column",
    ]

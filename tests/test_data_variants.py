"""The generated tests make no assumption a user's data can break: a bake switched to each kind of table a user
brings (replaced, `dvc add`-ed and named in params.yaml, as the README says) keeps its own unit suite green. One bake
per variant and only its unit tests; the bake answered with no sensitive feature also runs its flow once."""

import subprocess
import sys

import pandas as pd
import pytest
import yaml

from .conftest import bake, pin_demo_data, run

pytestmark = pytest.mark.e2e
DATA = "data/credit_approval_model.csv"


def use_table(project, table: pd.DataFrame, **data) -> pd.DataFrame:
    """Replace the project's data with `table`, set `data` in params.yaml (and, in a project with a fairness gate,
    the gate off without sensitive columns), pin it with DVC and commit."""
    table.to_csv(project / DATA, index=False)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(data)
    if "fairness" in params["gates"]:
        params["gates"]["fairness"]["enabled"] = bool(params["data"]["sensitive_features"])
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    pinned = run([sys.executable, "-m", "dvc", "add", "-q", DATA], project)
    assert pinned.returncode == 0, pinned.stderr
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "own data"], cwd=project, check=True)
    return table


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """Baked with no sensitive feature, so with no fairness gate (and monitoring, whose shadow and labelled-batch code
    then judges no groups); then a table without missing values whose labels are strings."""
    project = bake(tmp_path_factory.mktemp("plain"), sensitive_features="", monitoring=True)
    table = pd.read_csv(project / DATA).dropna()
    table = use_table(project, table.assign(approved=table["approved"].map({0: "no", 1: "yes"})), positive_label="yes")
    assert not table.isna().any().any() and set(table["approved"]) == {"no", "yes"}
    return project


def three_classes(root):
    project = pin_demo_data(bake(root), 2000, "--classes", "3")
    assert set(pd.read_csv(project / DATA)["approved"]) == {"denied", "review", "approved"}
    return project


def text_without_sensitive_columns(root):
    """A text bake with the default answers (a sensitive `sex`), switched to a table with no sensitive column."""
    project = bake(root, task="text_classification")
    table = use_table(project, pd.read_csv(project / DATA).drop(columns="sex"), sensitive_features=[])
    assert list(table.columns) == ["text", "label"]
    return project


VARIANTS = {"three classes": three_classes, "text without sensitive columns": text_without_sensitive_columns}


def unit_suite(project):
    done = run([sys.executable, "-m", "pytest", "-q", "-m", "not e2e", "-p", "no:cacheprovider"], project)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_no_missing_values_and_string_labels_keep_the_generated_suite_green(plain):
    unit_suite(plain)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_generated_suite_stays_green_on(tmp_path, variant):
    unit_suite(VARIANTS[variant](tmp_path))


def test_without_a_fairness_gate_the_flow_passes_and_the_model_card_says_fairness_was_not_assessed(plain):
    home = plain.parent / "bentoml"
    flow = run([sys.executable, "flow.py", "--no-pylint", "run"], plain, BENTOML_HOME=str(home))
    output = flow.stdout + flow.stderr
    assert flow.returncode == 0, output[-5000:]
    assert "performance gate PASSED" in output and "fairness" not in output
    (card,) = home.glob("models/credit_approval_model/*/MODEL_CARD.md")
    assert "Fairness was not assessed" in card.read_text() and "positive class `yes`" in card.read_text()

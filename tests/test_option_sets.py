"""Every option set renders to code that lints and imports what exists: the shared files carry the capabilities'
lines as Jinja blocks, so each block is rendered both ways here, without baking (test_bake.py bakes a few sets and
runs their commands and tests).

For each task, each combination of the yes/no capabilities that the pre-generation hook accepts (with a sensitive
feature, and a few without one: no fairness gate, see fairness_pairs), the template's Python files are rendered with
cookiecutter's environment, the files the post-generation hook would remove are left out and those it renames renamed
(the hook's own UNUSED and RENAMED tables, rendered with the same answers), and then:
- every `from <the package> import name` names a module of that tree that defines the name;
- ruff check and ruff format --check pass on every rendered tree (each with the project's own pyproject.toml).
"""

import ast
import functools
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.environment import StrictEnvironment

from .conftest import TEMPLATE

SOURCE = TEMPLATE / "{{cookiecutter.project_slug}}"
SPEC = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CAPABILITIES = [name for name, value in SPEC.items() if isinstance(value, bool)]
TASKS = SPEC["task"]
MODULE = "credit_approval_model"


def answers(task: str, chosen: tuple[bool, ...], sensitive: str = "sex") -> dict:
    base = {
        "project_name": "Credit Approval Model",
        "project_slug": "credit-approval-model",
        "module_name": MODULE,
        "description": "d",
        "author_name": "a",
        "author_email": "a@example.com",
        "task": task,
        "compute": "cpu",
        "target_column": {"text_classification": "label", "tabular_regression": "credit_limit"}.get(task, "approved"),
        "sensitive_features": sensitive,
        "python_version": "3.11",
        "license": "MIT",
        "ci": "none",
    }
    base |= dict(zip(CAPABILITIES, chosen, strict=True))
    return base | {"__fairness": ENV.from_string(SPEC["__fairness"]).render(cookiecutter=base)}  # as cookiecutter does


ENV = StrictEnvironment(context={"cookiecutter": SPEC}, keep_trailing_newline=True)
COMPILED: dict[Path, object] = {}  # each template file compiled once, rendered per option set


def render(path: Path, context: dict) -> str:
    if path not in COMPILED:
        COMPILED[path] = ENV.from_string(path.read_text())
    return COMPILED[path].render(cookiecutter=context)


def hook(name: str, context: dict) -> dict:
    """A hook's module-level names, rendered with these answers (its `__main__` part left out)."""
    text = render(TEMPLATE / "hooks" / f"{name}.py", context)
    scope: dict = {}
    exec(compile(text.split('\nif __name__ == "__main__":')[0], f"{name}.py", "exec"), scope)  # noqa: S102
    return scope


def accepted(task: str, chosen: tuple[bool, ...], sensitive: str) -> bool:
    """The pre-generation hook finds nothing wrong with these answers (e.g. mitigation of a regression)."""
    return not list(hook("pre_gen_project", answers(task, chosen, sensitive))["problems"]())


def rendered_tree(context: dict, out: Path) -> dict[Path, str]:
    """The project's Python files as this option set generates them, written under `out`."""
    post = hook("post_gen_project", context)
    gone = [Path(name) for name, unused in post["UNUSED"].items() if unused]
    files = {}
    for path in sorted(SOURCE.rglob("*.py")):
        relative = Path(str(path.relative_to(SOURCE)).replace("{{cookiecutter.module_name}}", MODULE))
        if any(relative == g or g in relative.parents for g in gone) or "__pycache__" in relative.parts:
            continue
        files[relative] = render(path, context)
    for source, name in post["RENAMED"].items():  # a task's version of a shared module takes the shared name
        if Path(source) in files:
            files[Path(name)] = files.pop(Path(source))
    for relative, text in files.items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text)
    (out / "pyproject.toml").write_text(render(SOURCE / "pyproject.toml", context))
    return files


@functools.cache
def parsed(source: str) -> ast.Module:
    """Most files render the same in most option sets: each text is parsed once (the trees are only read)."""
    return ast.parse(source)


@functools.cache
def top_level_names(source: str) -> set[str]:
    """What a module defines at its top level (inside a top-level if or try too)."""
    names = set()
    statements = list(parsed(source).body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try):
            statements += node.body + node.orelse + getattr(node, "finalbody", [])
            statements += [s for handler in getattr(node, "handlers", []) for s in handler.body]
    return names


def missing_imports(files: dict[Path, str]) -> list[str]:
    """`file: module has no name` for each import of the package that the rendered tree cannot satisfy."""
    modules = {}
    for relative, text in files.items():
        if relative.parts[0] == "src":
            parts = list(relative.with_suffix("").parts[1:])
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = text
    defined = {name: top_level_names(text) for name, text in modules.items()}
    problems = []
    for relative, text in files.items():
        package = list(relative.parts[1:-1]) if relative.parts[0] == "src" else None
        for node in ast.walk(parsed(text)):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level and package is not None:
                module = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            elif not node.level and node.module and node.module.split(".")[0] == MODULE:
                module = node.module
            else:
                continue
            for alias in node.names:
                if f"{module}.{alias.name}" in modules or alias.name.startswith("__"):
                    continue
                if module not in modules:
                    problems.append(f"{relative}: no module {module}")
                elif alias.name not in defined[module]:
                    problems.append(f"{relative}: {module} has no {alias.name}")
    return problems


def fairness_pairs(chosen: tuple[bool, ...]) -> tuple[str, ...]:
    """The sensitive-feature answers rendered with this set: always one; none (no fairness gate) too where monitoring
    is either way and every other capability is all on or all off (the fairness blocks sit in the core, in
    monitoring's shadow and labelled-batch checks, and in the project's benchmarks), which keeps the matrix small."""
    others = {yes for name, yes in zip(CAPABILITIES, chosen, strict=True) if name not in ("monitoring", "mitigation")}
    return ("sex", "") if len(others) == 1 else ("sex",)


SETS = [
    (task, chosen, sensitive)
    for task in TASKS
    for chosen in itertools.product([False, True], repeat=len(CAPABILITIES))
    for sensitive in fairness_pairs(chosen)
    if accepted(task, chosen, sensitive)
]


def _id(option_set) -> str:
    task, chosen, sensitive = option_set
    on = "+".join(name for name, yes in zip(CAPABILITIES, chosen, strict=True) if yes) or "core"
    return f"{task.removesuffix('_classification')}-{on}" + ("" if sensitive else "-no_fairness")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict[Path, str]]:
    """Every option set rendered into a directory of its own under one root (ruff then runs once over all)."""
    root = tmp_path_factory.mktemp("option-sets")
    return {_id(s): rendered_tree(answers(*s), root / _id(s)) for s in SETS} | {"": {Path("root"): str(root)}}


@pytest.mark.parametrize("option_set", SETS, ids=[_id(s) for s in SETS])
def test_each_option_set_imports_only_what_it_has(option_set, rendered):
    assert not missing_imports(rendered[_id(option_set)])


def test_every_option_set_passes_ruff(rendered):
    """One ruff run over every rendered tree (each has its own pyproject.toml, as a bake does)."""
    root = rendered[""][Path("root")]
    for command in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        done = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-1000:]
    assert len(list(Path(root).glob("*/pyproject.toml"))) == len(SETS)


def test_the_import_check_finds_a_name_a_pruned_module_held():
    files = {
        Path(f"src/{MODULE}/errors.py"): "class InvalidRecord(Exception):\n    pass\n",
        Path(f"src/{MODULE}/monitoring/shadow.py"): "from ..errors import InvalidRecord, UnknownGroup\n",
        Path("service.py"): f"from {MODULE}.scale.cloud import bento_store\n",
    }
    assert missing_imports(files) == [
        f"src/{MODULE}/monitoring/shadow.py: {MODULE}.errors has no UnknownGroup",
        f"service.py: no module {MODULE}.scale.cloud",
    ]

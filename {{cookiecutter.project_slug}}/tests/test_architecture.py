"""The package's shape: rooms by stage whose imports point down only (no circles), and importing a module stays cheap.

Each Metaflow step is its own process, so a module that imports torch or MLflow at its top makes every step that
touches it pay for them; heavy libraries belong inside the functions (or the few modules) that use them.
"""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "{{ cookiecutter.module_name }}"
NAME = PACKAGE.name

HEAVY_LIBRARIES = (
    "torch",
    "lightning",
    "pytorch_lightning",
    "transformers",
    "mlflow",
    "bentoml",
    "metaflow",
    "sklearn",
    "fairlearn",
    "matplotlib",
    "evidently",
    "dvc",
)
# Modules whose job is a heavy library: the network and its training callbacks (torch, Lightning), the fairness
# thresholds (scikit-learn), the MLflow pyfunc wrapper, the tiny offline models, the text task (transformers){% if cookiecutter.monitoring %}, the
# prediction log's BentoML monitor (imported by the service only){% endif %}.
HEAVY_MODULES = {
    "pipeline.callbacks",
    "pipeline.classifier",
{%- if cookiecutter.mitigation %}
    "gates.mitigation",
{%- endif %}
    "release.mlflow_model",
    "pipeline.tiny_model",
    "pipeline.tasks.text",
{%- if cookiecutter.monitoring %}
    "release.json_lines_monitor",
{%- endif %}
}
# The rooms, lowest first: a module imports from its own room and the rooms below it, never from one above. The
# top-level modules are rooms of their own: errors, logs and config at the bottom, cli (the console entry point) on
# top. Lineage (git, DVC, the one MLflow client) is used by every stage;{% if cookiecutter.scale_out %} the cloud profile ships its git facts;{% endif %} the
# pipeline trains; gates judge what it trained; release owns the model artifact, packages and serves what passed{% if cookiecutter.monitoring %};
# monitoring watches what is served and asks for a retrain{% endif %}.
{%- set rooms = ["errors", "logs", "config", "lineage"] + (["scale"] if cookiecutter.scale_out else []) + ["pipeline", "gates", "release"] + (["monitoring"] if cookiecutter.monitoring else []) + ["cli"] %}
LAYERS = ({{ rooms | map("tojson") | join(", ") }})


def modules() -> dict[str, Path]:
    """Dotted names under the package ("config", "pipeline.data", "pipeline.tasks.text") -> their files."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name:
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports anywhere in its file (inside functions too: a circle through a
    function-level import is still a circle in the design)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
            elif node.module and node.module.split(".")[0] == NAME:
                base = []
            else:
                continue
            module = ".".join(base + (node.module or "").split(".")).strip(".").removeprefix(NAME).strip(".")
            found |= {c for c in [module, *(f"{module}.{a.name}".strip(".") for a in node.names)] if c in known}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix(f"{NAME}.") for a in node.names if a.name.removeprefix(f"{NAME}.") in known}
    return found - {name}


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle as a path (first == last), or [] when the graph has none."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_the_package_has_no_import_circle():
    found = modules()
    graph = {name: imports_of(name, path, set(found)) for name, path in found.items()}
    assert graph["pipeline.data"] >= {"errors"}, "the import graph must see the package's own imports"
    circle = cycle(graph)
    assert not circle, "import circle: " + " -> ".join(circle)


def test_cycle_finds_a_circle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def room(name: str) -> str:
    return name.split(".")[0]


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a room above the importer's own, as 'importer imports target (room < room)'."""
    return [
        f"{name} imports {target} ({room(name)} is below {room(target)})"
        for name in sorted(graph)
        for target in sorted(graph[name])
        if LAYERS.index(room(target)) > LAYERS.index(room(name))
    ]


def test_imports_point_down_the_rooms():
    found = modules()
    unplaced = sorted(name for name in found if room(name) not in LAYERS)
    assert not unplaced, f"modules in no room of LAYERS: {unplaced}"
    graph = {name: imports_of(name, path, set(found)) for name, path in found.items()}
    # pipeline.training is imported inside a function: a circle through it is still a circle in the design
    assert graph["release.artifact"] >= {"pipeline.tasks", {{ '"gates.mitigation", ' if cookiecutter.mitigation }}"pipeline.training"}, "rooms crossed"
    wrong = upward(graph)
    assert not wrong, "imports pointing up the rooms " + " < ".join(LAYERS) + ":\n" + "\n".join(wrong)


def test_upward_finds_an_import_from_a_higher_room():
    assert upward({"config": {"pipeline.data"}, "pipeline.data": {"config", "errors"}}) == [
        "config imports pipeline.data (config is below pipeline)"
    ]


def test_importing_a_light_module_loads_no_heavy_library():
    light = sorted(set(modules()) - HEAVY_MODULES)
    probe = (
        "import importlib, sys\n"
        f"for name in {light!r}:\n"
        f"    importlib.import_module('{NAME}.' + name)\n"
        f"    heavy = sorted(h for h in {HEAVY_LIBRARIES!r} if h in sys.modules)\n"
        "    if heavy:\n"
        "        sys.exit(f'importing {name} loads {heavy} (at the top of it or of a module it imports)')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

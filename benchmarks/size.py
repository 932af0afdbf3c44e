"""What a bake hands its user, per option set: the code a team must read and own, the README, the settings.

    python benchmarks/size.py                  # every option set below, as a Markdown table
    python benchmarks/size.py --keep build/sz  # ... and keep the bakes there

Columns:
- code lines: lines of the flows, service.py and src/ that are neither blank nor only a comment (docstrings count),
  found with Python's tokenizer;
- modules: those files;
- README lines, params settings (leaf keys of params.yaml);
- task files: files of the bake whose template text branches on the task (`cookiecutter.task`), i.e. what adding a
  task type would touch besides its own module, demo data and params section.

Bakes with cookiecutter's API, as the template's tests do; nothing here is timed.
"""

import argparse
import io
import json
import sys
import tempfile
import tokenize
from pathlib import Path

import yaml
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
SOURCE = TEMPLATE / "{{cookiecutter.project_slug}}"
SPEC = json.loads((TEMPLATE / "cookiecutter.json").read_text())
DEFAULTS = {name: value for name, value in SPEC.items() if isinstance(value, bool)}  # each capability: its default
CAPABILITIES = list(DEFAULTS)
TAB, TEXT, REG = "tabular_classification", "text_classification", "tabular_regression"
REG_TAKES = ["monitoring", "scale_out", "sweep"]  # what a regression bake generates (the hook refuses mitigation)
MINIMAL = {"task": TAB, "sensitive_features": "", **dict.fromkeys(CAPABILITIES, False)}  # no fairness gate either
OPTION_SETS = [  # (label, answers)
    ("tabular, minimal (every option off)", MINIMAL),
    ("tabular, core (default)", {"task": TAB}),
    # each capability answered against its default: "+ name" adds one that is off by default, "- name" drops one on
    *((f"tabular, {'-' if on else '+'} {name}", {"task": TAB, name: not on}) for name, on in DEFAULTS.items()),
    ("tabular, everything", {"task": TAB, **dict.fromkeys(CAPABILITIES, True)}),
    ("text, core (default)", {"task": TEXT}),
    ("text, everything", {"task": TEXT, **dict.fromkeys(CAPABILITIES, True)}),
    ("regression, core (default)", {"task": REG}),
    ("regression, everything it takes", {"task": REG, **dict.fromkeys(REG_TAKES, True)}),
]
SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def code_lines(text: str) -> int:
    """Lines holding a token other than a comment (a docstring spanning n lines counts n)."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type not in SKIP:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines)


def owned_code(project: Path) -> list[Path]:
    """The flows, the service and the package: what runs, as opposed to tests, benchmarks and hooks."""
    flows = [p for p in project.glob("*.py") if p.name.endswith("flow.py") or p.name == "service.py"]
    return sorted(flows + list((project / "src").rglob("*.py")))


def settings(node) -> int:
    if isinstance(node, dict):
        return sum(settings(value) for value in node.values()) if node else 1
    return 1


def task_files(project: Path, module: str) -> int:
    """Files of this bake whose template source names the task (a branch a new task type must extend)."""
    count = 0
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts or ".dvc" in path.parts:
            continue
        relative = path.relative_to(project).as_posix().replace(f"src/{module}/", "src/{{cookiecutter.module_name}}/")
        source = SOURCE / relative
        readable = source.is_file() and source.suffix not in {".csv", ".png", ".txt"}
        count += readable and "cookiecutter.task" in source.read_text()
    return count


def measure(label: str, answers: dict, out: Path) -> dict:
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(out)))
    module = project.name.replace("-", "_")
    files = owned_code(project)
    return {
        "option set": label,
        "code lines": sum(code_lines(p.read_text()) for p in files),
        "modules": len(files),
        "README lines": len((project / "README.md").read_text().splitlines()),
        "params settings": settings(yaml.safe_load((project / "params.yaml").read_text())),
        "task files": task_files(project, module),
    }


def table(rows: list[dict]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[k]) for k in header) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", default="", help="bake into this directory (kept) instead of a temporary one")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        rows = []
        for number, (label, answers) in enumerate(OPTION_SETS):
            rows.append(measure(label, answers, root / str(number)))
            print(f"baked {label}", file=sys.stderr, flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

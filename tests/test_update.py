"""Updating a baked project from the template: baked with `cruft create`, the project records the template's origin and
commit in `.cruft.json`; a later template commit reaches the project with `cruft update`, while the project's own data
and history stay as they are."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import TEMPLATE, project_env

CRUFT = str(Path(sys.executable).parent / "cruft")
IDENTITY = ["-c", "user.name=Template Dev", "-c", "user.email=dev@example.com"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CRUFT, *args], cwd=cwd, env=project_env(), capture_output=True, text=True, timeout=600)


def test_a_template_change_reaches_a_baked_project_with_cruft_update(tmp_path):
    template = tmp_path / "template"  # the template as a git repository, as users bake it (gh:..., or a clone)
    leave_out = (".git", ".venv*", "build", "__pycache__", ".pytest_cache", "*.db", ".device", ".whl")
    ignore = shutil.ignore_patterns(*leave_out)
    shutil.copytree(TEMPLATE, template, ignore=ignore)
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "v1")
    made = cruft(tmp_path, "create", str(template), "--no-input")
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    project = tmp_path / "credit-approval-model"
    state = json.loads((project / ".cruft.json").read_text())
    assert state["template"] == str(template) and state["commit"] == git(template, "rev-parse", "HEAD")
    git(project, "add", ".cruft.json")
    git(project, "commit", "-qm", "record the template's origin")
    data = (project / "data" / "credit_approval_model.csv").read_bytes()

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    line = "Template note: updated through cruft."
    readme.write_text(readme.read_text().replace("## What runs\n", f"## What runs\n\n{line}\n", 1))
    git(template, "commit", "-qam", "v2: a README note")
    assert cruft(project, "check").returncode != 0  # behind the template now

    updated = cruft(project, "update", "--skip-apply-ask")
    assert updated.returncode == 0, updated.stdout[-2000:] + updated.stderr[-2000:]
    assert line in (project / "README.md").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == git(template, "rev-parse", "HEAD")
    assert cruft(project, "check").returncode == 0
    changed = set(git(project, "status", "--porcelain").split())
    assert changed <= {"M", "README.md", ".cruft.json"}, changed  # nothing else moved: no data, no stores
    assert (project / "data" / "credit_approval_model.csv").read_bytes() == data

"""Finish the generated project: drop what the answers do not need, make the demo data, make a first git commit."""

import shutil
import subprocess
import sys
from pathlib import Path

MODULE = "{{ cookiecutter.module_name }}"
UNUSED = {
    "LICENSE": "{{ cookiecutter.license }}" == "Proprietary",
    ".github": "{{ cookiecutter.ci }}" == "none",
}


def remove_unused() -> None:
    for name, unused in UNUSED.items():
        path = Path(name)
        if unused and path.is_dir():
            shutil.rmtree(path)
        elif unused and path.exists():
            path.unlink()


def make_demo_data() -> None:
    subprocess.run([sys.executable, f"src/{MODULE}/demo_data.py"], check=True, stdout=subprocess.DEVNULL)


def git_init() -> None:
    """A first commit, so every run from the start has a commit to record. Skipped (with a note) without git."""
    if not shutil.which("git"):
        print("note: git not found; run `git init` yourself", file=sys.stderr)
        return
    identity = []
    if subprocess.run(["git", "config", "user.email"], capture_output=True).returncode != 0:
        identity = ["-c", "user.name={{ cookiecutter.author_name }}"]
        identity += ["-c", "user.email={{ cookiecutter.author_email }}"]
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "Initial commit from template"]):
        subprocess.run(["git", *identity, *cmd], check=True)


if __name__ == "__main__":
    remove_unused()
    make_demo_data()
    git_init()

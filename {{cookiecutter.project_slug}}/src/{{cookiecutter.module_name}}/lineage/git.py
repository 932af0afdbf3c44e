"""The one place that runs git, with one failure rule: a git command that fails raises GitError with git's own
one-line complaint. "Is this a git checkout?" is a question (`in_checkout`), not a failure{% if cookiecutter.scale_out %}; a step run from
Metaflow's code package (a pod: no .git) gets the facts taken at launch instead (`git_facts`){% endif %}."""
{% if cookiecutter.scale_out %}
import json
{%- endif %}
import shutil
import subprocess
from pathlib import Path

from ..errors import ProjectError
{%- if cookiecutter.scale_out %}

LAUNCH_GIT = "launch-git.json"  # the git facts at launch, in the code package (cloud.py): a pod has no .git
{%- endif %}


class GitError(ProjectError, RuntimeError):
    """A git command failed; the message names the command and git's reason."""

    headline = "git failed"


def git(*args: str, cwd: Path = Path(".")) -> str:
    """git's stdout, stripped; GitError (`git <args>` and git's last line) when git fails or is not installed."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except OSError as err:  # no git binary, or no directory `cwd`
        why = "git is not installed" if shutil.which("git") is None else f"{cwd}: {err.strerror}"
        raise GitError(f"`git {args[0] if args else ''}` cannot run: {why}") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}").splitlines()[-1]
        command = " ".join(args).replace("\n", " ")  # a tag message spans lines; the error does not
        raise GitError(f"`git {command[:120]}` failed: {said}")
    return done.stdout.strip()


def in_checkout(root: Path = Path(".")) -> bool:
    try:
        return bool(git("rev-parse", "--git-dir", cwd=root))
    except GitError:
        return False


def git_facts(root: Path = Path(".")) -> dict:
    """Commit, branch, dirty flag and the diff of a dirty tree (empty strings outside a git repository), the changed
    tracked files, and untracked files under src/ (they change a run yet appear in neither the commit nor the diff).
{%- if cookiecutter.scale_out %}
    A step run from Metaflow's code package (a pod: no .git) gets the facts taken at launch, packaged with the code.
{%- endif %}"""
    if not in_checkout(root):
{%- if cookiecutter.scale_out %}
        if (root / LAUNCH_GIT).is_file():
            return json.loads((root / LAUNCH_GIT).read_text())
{%- endif %}
        return {"commit": "", "branch": "", "dirty": False, "diff": "", "changed": [], "untracked_src": []}
    status = git("status", "--porcelain", "--untracked-files=no", cwd=root)
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "src", cwd=root)
    try:
        commit, branch = git("rev-parse", "HEAD", cwd=root), git("rev-parse", "--abbrev-ref", "HEAD", cwd=root)
    except GitError:  # a repository without a commit yet
        commit, branch = "", ""
    return {
        "commit": commit,
        "branch": branch,
        "dirty": bool(status),
        "diff": git("diff", "HEAD", cwd=root) if status and commit else "",
        "changed": git("diff", "--name-only", "HEAD", cwd=root).splitlines() if status and commit else [],
        "untracked_src": [p for p in untracked.splitlines() if "__pycache__" not in p],
    }

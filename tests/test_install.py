"""A baked project installs from its own lock, with its own `make install`, into a fresh venv, and works there (the way
cookiecutter-data-science tests its install targets): every test module collects (so every module it imports is
installed) and the serving and architecture tests pass. The bake is test_bake's Credit Limits one (answers that name
demo columns) with every capability; test_bake runs the whole unit suite of that option set in the dev venv.
TORCH_INDEX= (empty): this machine has no route to PyTorch's index; pip's configured index (here a local mirror
holding the CPU build) serves torch instead."""

import re
import shutil
import subprocess
import sys
import time

import pytest

from .conftest import FULL, TEMPLATE, bake, project_env
from .test_bake import CREDIT_LIMITS

LOCKS = sorted(p.name for p in (TEMPLATE / "{{cookiecutter.project_slug}}" / "locks").glob("*.txt"))


@pytest.mark.e2e
@pytest.mark.slow
def test_a_baked_project_installs_from_its_own_lock_and_works_there(tmp_path):
    project = bake(tmp_path / "bake", **CREDIT_LIMITS | FULL)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = project_env(PATH=f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin")
    env.pop("VIRTUAL_ENV", None)

    start = time.monotonic()
    install = subprocess.run(
        ["make", "install", f"PYTHON={python}", "TORCH_INDEX="],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    seconds = time.monotonic() - start
    assert install.returncode == 0, install.stdout[-4000:] + install.stderr[-4000:]
    assert "--require-hashes --no-deps -r requirements.lock" in install.stdout  # the hash-checked step ran
    assert "No broken requirements found" in install.stdout  # pip check
    print(f"make install: {seconds:.0f} s")

    def installed(*names: str) -> list[str | None]:
        code = "import sys; from importlib import metadata\nfor n in sys.argv[1:]:\n"
        code += "    try: print(metadata.version(n))\n    except metadata.PackageNotFoundError: print(None)"
        out = subprocess.run([python, "-c", code, *names], env=env, capture_output=True, text=True, check=True)
        return [None if v == "None" else v for v in out.stdout.split()]

    torch, *absent = installed(
        "torch", "cookiecutter", "pytest-xdist", "pytest-timeout", "transformers", "nvidia-cublas-cu12"
    )
    assert torch.split("+")[0] == "2.13.0" and absent == [None] * 5, (torch, absent)
    command = subprocess.run([str(venv / "bin" / project.name), "--help"], env=env, capture_output=True, text=True)
    assert command.returncode == 0 and all(c in command.stdout for c in ("snapshot", "reproduce", "lineage")), command

    start = time.monotonic()
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    collected = subprocess.run([*pytest, "--collect-only"], cwd=project, env=env, capture_output=True, text=True)
    assert collected.returncode == 0, collected.stdout[-5000:] + collected.stderr[-3000:]
    assert re.search(r"^\d{3} tests collected", collected.stdout, re.M), collected.stdout[-500:]
    smoke = ["tests/test_serving.py", "tests/test_architecture.py", "tests/test_config.py"]
    tests = subprocess.run([*pytest, *smoke], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    print(f"tests in the fresh venv: {time.monotonic() - start:.0f} s")


@pytest.mark.slow
def test_make_lock_reproduces_every_shipped_lock(tmp_path):
    """scripts/lock.sh (`make lock`) on a copy of the template: requirements-dev.lock and every generated project's lock
    come back byte for byte, so each is what its own requirements resolve to. Needs PyPI (uv reads its index)."""
    copy = tmp_path / "template"
    shutil.copytree(
        TEMPLATE, copy, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "__pycache__", ".pytest_cache", "*.db")
    )
    done = subprocess.run(
        ["bash", "scripts/lock.sh"], cwd=copy, env=project_env(PY=sys.executable), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    locks = ["requirements-dev.lock", *("{{cookiecutter.project_slug}}/locks/" + name for name in LOCKS)]
    assert len(locks) == 3
    for lock in locks:
        assert (copy / lock).read_bytes() == (TEMPLATE / lock).read_bytes(), lock

import os
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.errors import DataError
from {{ cookiecutter.module_name }}.lineage.git import git_facts
from {{ cookiecutter.module_name }}.lineage.lineage import DataNotPinned, md5, read_data, verify_pinned
from {{ cookiecutter.module_name }}.lineage.tracking import flatten
from {{ cookiecutter.module_name }}.pipeline.training import weights_to_bytes
from {{ cookiecutter.module_name }}.release.packaging import weights_sha256


def _pin(path, digest):
    """A .dvc pointer as `dvc add` writes it."""
    path.with_name(path.name + ".dvc").write_text(
        f"outs:\n- md5: {digest}\n  size: 1\n  hash: md5\n  path: {path.name}\n"
    )


def test_pinned_data_is_accepted_and_hashed(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    _pin(data, md5(data))
    assert verify_pinned(data) == md5(data)
    content, facts = read_data(str(data))
    assert content == data.read_bytes() and facts["pinned"] and facts["rev"] == "workspace"


def test_changed_data_is_refused_with_both_hashes_and_the_fix(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    _pin(data, "0" * 32)
    with pytest.raises(DataNotPinned) as err:
        verify_pinned(data)
    message = str(err.value)
    assert md5(data) in message and "0" * 32 in message and f"dvc checkout --force {data}.dvc" in message


def test_a_path_that_names_nothing_points_at_the_config_first(tmp_path):
    missing = str(tmp_path / "nope.csv")
    for allow in (False, True):
        with pytest.raises(DataError) as err:
            read_data(missing, allow_unpinned=allow, config="v.yaml")
        assert str(err.value) == f"data file {missing} not found (check data.path in v.yaml)"
    _pin(tmp_path / "nope.csv", "0" * 32)  # pinned but not fetched: DVC's fix
    with pytest.raises(DataNotPinned) as err:
        read_data(missing, allow_unpinned=True)
    assert f"run `dvc pull {missing}.dvc`" in str(err.value)


def test_unpinned_data_needs_the_opt_out_and_is_marked(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    with pytest.raises(DataNotPinned, match="not tracked by DVC"):
        read_data(str(data))
    _, facts = read_data(str(data), allow_unpinned=True)
    assert facts["pinned"] is False and facts["md5"] == md5(data)


def test_git_facts_see_a_dirty_tree(tmp_path):
    def git(*args):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True, capture_output=True
        )

    git("init", "-q")
    (tmp_path / "f.txt").write_text("one\n")
    git("add", "f.txt")
    git("commit", "-qm", "c")
    clean = git_facts(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False and clean["diff"] == ""
    (tmp_path / "f.txt").write_text("two\n")
    dirty = git_facts(tmp_path)
    assert dirty["dirty"] is True and "+two" in dirty["diff"] and dirty["changed"] == ["f.txt"]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "helper.py").write_text("X = 1\n")  # changes a run, yet is in neither the commit nor the diff
    assert git_facts(tmp_path)["untracked_src"] == ["src/helper.py"]
    outside = tmp_path.parent / f"{tmp_path.name}-no-git"
    outside.mkdir()
    facts = git_facts(outside)
    assert (facts["commit"], facts["dirty"], facts["diff"], facts["untracked_src"]) == ("", False, "", [])


def test_params_flatten_for_mlflow():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {"a.b": "1", "a.c.d": "[1, 2]", "e": "x"}


def test_weights_hash_depends_on_values_only():
    import torch

    torch.manual_seed(0)
    network = torch.nn.Linear(3, 2)
    first = weights_sha256(weights_to_bytes(network))
    assert first == weights_sha256(weights_to_bytes(network))
    with torch.no_grad():
        network.bias[0] += 1e-6
    assert weights_sha256(weights_to_bytes(network)) != first


def test_expected_failures_share_one_base():
    """flow.py prints a ProjectError's message alone; every other exception keeps its traceback."""
    from {{ cookiecutter.module_name }}.config import ConfigError
    from {{ cookiecutter.module_name }}.errors import ProjectError, UsageError
    from {{ cookiecutter.module_name }}.gates.judge import GateFailed

    for error in (ConfigError, DataError, DataNotPinned, GateFailed, UsageError):
        assert issubclass(error, ProjectError) and error.headline


PACKAGE = Path(__file__).resolve().parents[1] / "src" / "{{ cookiecutter.module_name }}"


def test_git_and_dvc_pointers_each_have_one_owner():
    """Only lineage/git.py runs git, and only lineage/lineage.py parses a .dvc pointer's `outs`."""
    for path in PACKAGE.rglob("*.py"):
        text, name = path.read_text(), path.relative_to(PACKAGE).as_posix()
        if name != "lineage/git.py":
            assert '["git"' not in text and '("git"' not in text, f"{name} runs git itself"
        if name != "lineage/lineage.py":
            assert '["outs"]' not in text, f"{name} parses a .dvc pointer itself"


def test_git_fails_in_one_line_and_a_directory_without_git_is_a_question_not_an_error(tmp_path):
    from {{ cookiecutter.module_name }}.errors import ProjectError
    from {{ cookiecutter.module_name }}.lineage.git import GitError, git, in_checkout

    assert not in_checkout(tmp_path)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert in_checkout(tmp_path)
    with pytest.raises(GitError) as raised:
        git("show", "no-such-rev:data.csv.dvc", cwd=tmp_path)
    message = str(raised.value)
    assert message.startswith("`git show no-such-rev:data.csv.dvc` failed: ") and "\n" not in message
    assert isinstance(raised.value, ProjectError)


def test_a_data_version_is_read_from_the_workspace_the_dvc_cache_or_its_commit(tmp_path, monkeypatch):
    """What a model trained on, by md5: the workspace file when it is that version; else the project's DVC cache (a
    version `dvc add` pinned that no commit holds yet); else DVC at the training commit (its remote once the cache is
    gone); a commit that pins another version is refused, naming both md5s."""
    import hashlib
    import shutil
    import sys

    from {{ cookiecutter.module_name }}.lineage.lineage import read_version

    def run(*cmd):
        who = {f"GIT_{role}_{field}": "t" for role in ("AUTHOR", "COMMITTER") for field in ("NAME", "EMAIL")}
        env = os.environ | who | {"DVC_NO_ANALYTICS": "1"}
        return subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True, text=True, env=env).stdout.strip()

    dvc = (sys.executable, "-m", "dvc")
    run("git", "init", "-q")
    run(*dvc, "init", "-q")
    run(*dvc, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    (tmp_path / "data").mkdir()
    old, new = b"a,y\n1,0\n", b"a,y\n1,0\n2,1\n"
    (tmp_path / "data" / "d.csv").write_bytes(old)
    run(*dvc, "add", "-q", "data/d.csv")
    run(*dvc, "push", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "old data")
    commit = run("git", "rev-parse", "HEAD")
    (tmp_path / "data" / "d.csv").write_bytes(new)
    run(*dvc, "add", "-q", "data/d.csv")  # pinned, not committed
    monkeypatch.chdir(tmp_path)
    old_md5, new_md5 = hashlib.md5(old).hexdigest(), hashlib.md5(new).hexdigest()
    assert read_version("data/d.csv", new_md5, "workspace", commit) == (new, "workspace")
    assert read_version("data/d.csv", old_md5, "workspace", commit) == (old, "dvc cache")
    shutil.rmtree(tmp_path / ".dvc" / "cache")
    assert read_version("data/d.csv", old_md5, "workspace", commit) == (old, f"dvc@{commit[:12]}")
    with pytest.raises(DataNotPinned, match=f"pins md5 {old_md5}, not md5 {'0' * 32}"):
        read_version("data/d.csv", "0" * 32, "workspace", commit)

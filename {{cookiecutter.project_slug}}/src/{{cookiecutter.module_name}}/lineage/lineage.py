"""Facts that tie a run to its code and data: the git commit (and whether the tree was dirty) and the DVC data pin."""

import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import yaml

from ..errors import DataError, ProjectError

LAUNCH_GIT = "launch-git.json"  # the git facts at launch, in the code package (cloud.py): a pod has no .git


class DataNotPinned(ProjectError, RuntimeError):
    """The data in the workspace is not the version its committed .dvc pointer names."""

    headline = "Data not pinned"


def _git(*args: str, cwd: Path = Path(".")) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def git_facts(root: Path = Path(".")) -> dict:
    """Commit, branch, dirty flag and the diff of a dirty tree (empty strings outside a git repository), the changed
    tracked files, and untracked files under src/ (they change a run yet appear in neither the commit nor the diff).
    A step run from Metaflow's code package (a pod: no .git) gets the facts taken at launch, packaged with the code."""
    if not _git("rev-parse", "--git-dir", cwd=root):
        launched = launch_git(root)
        if launched is not None:
            return launched
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", "src", cwd=root)
    return {
        "commit": _git("rev-parse", "HEAD", cwd=root),
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD", cwd=root),
        "dirty": bool(status),
        "diff": _git("diff", "HEAD", cwd=root) if status else "",
        "changed": _git("diff", "--name-only", "HEAD", cwd=root).splitlines() if status else [],
        "untracked_src": [p for p in untracked.splitlines() if "__pycache__" not in p],
    }


def launch_git(root: Path) -> dict | None:
    """The git facts packaged at launch, or None (not running from a code package)."""
    path = root / LAUNCH_GIT
    return json.loads(path.read_text()) if path.is_file() else None


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dir_md5(path: Path) -> str:
    """One hash of a directory's files (relative names and contents), e.g. a local base model."""
    digest = hashlib.md5()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}:{md5(file)}\n".encode())
    return digest.hexdigest()


def pointer(data_path: Path) -> dict | None:
    """The `outs` entry of `<data_path>.dvc`, or None when the file is not tracked by DVC."""
    dvc_file = Path(f"{data_path}.dvc")
    if not dvc_file.is_file():
        return None
    return yaml.load(dvc_file.read_text(), Loader=yaml.BaseLoader)["outs"][0]  # hashes stay strings


def verify_pinned(data_path: Path) -> str:
    """Return the file's md5 if it matches its committed .dvc pointer; otherwise raise DataNotPinned saying why."""
    data_path = Path(data_path)
    pin = pointer(data_path)
    if pin is None:
        raise DataNotPinned(
            f"{data_path} is not tracked by DVC: run `dvc add {data_path}` and commit {data_path}.dvc "
            "(or train on it anyway with --allow-unpinned-data true)"
        )
    if not data_path.is_file():
        raise DataNotPinned(f"{data_path} is missing: run `dvc pull {data_path}.dvc` to fetch the pinned version")
    actual = md5(data_path)
    if actual != pin["md5"]:
        raise DataNotPinned(
            f"{data_path} does not match its pointer {data_path}.dvc (workspace md5 {actual}, pinned {pin['md5']}).\n"
            f"Restore the pinned version with `dvc checkout --force {data_path}.dvc` (discards your changes), or pin "
            f"this one with `dvc add {data_path}` and commit {data_path}.dvc."
        )
    return actual


def require_file(data_path: str, config: str) -> None:
    """A data path that names nothing (no file, no .dvc pointer) is a config mistake, not a DVC one: say so first."""
    if not Path(data_path).is_file() and pointer(Path(data_path)) is None:
        raise DataError(f"data file {data_path} not found (check data.path in {config})")


def read_data(
    data_path: str, rev: str = "", allow_unpinned: bool = False, config: str = "params.yaml", md5: str = ""
) -> tuple[bytes, dict]:
    """The bytes the flow trains on, with facts about their pin: the workspace file (which must match its pointer
    unless `allow_unpinned`), or the file as of git revision `rev`, read through DVC without touching the workspace.
    `config`: the file that names `data_path`, for messages. Under the cloud profile (CLOUD_DVC_REMOTE) the pinned
    bytes come from that DVC remote, whatever the workspace holds: a step in a pod has no workspace; `md5` there
    names another version in the remote (a pod has no git history to resolve a revision in)."""
    if md5 and (rev or not data_remote()):
        raise DataError(
            "--data-md5 reads a version from the cloud profile's DVC remote (CLOUD_DVC_REMOTE), without "
            "--data-rev; locally, name a git revision with --data-rev"
        )
    if data_remote() and not rev:
        return _read_remote(data_path, data_remote(), config, md5)
    if rev:
        import dvc.api
        from dvc.exceptions import DvcException

        committed = _git("show", f"{rev}:{data_path}.dvc")
        if not committed:
            raise DataNotPinned(f"{data_path}.dvc does not exist at revision {rev!r} (check --data-rev and data.path)")
        expected = yaml.load(committed, Loader=yaml.BaseLoader)["outs"][0]["md5"]
        try:
            content = dvc.api.read(data_path, rev=rev, mode="rb")
        except DvcException as err:  # e.g. in neither the cache nor the remote
            raise DataNotPinned(f"{data_path}@{rev} cannot be read through DVC: {err}") from None
        actual = hashlib.md5(content).hexdigest()
        if actual != expected:
            raise DataNotPinned(f"{data_path}@{rev}: read md5 {actual}, pinned md5 {expected}")
        return content, {"path": data_path, "rev": rev, "md5": actual, "pinned": True}
    require_file(data_path, config)
    if allow_unpinned and Path(data_path).is_file():
        pin = pointer(Path(data_path))
        content = Path(data_path).read_bytes()
        actual = hashlib.md5(content).hexdigest()
        pinned = bool(pin and pin["md5"] == actual)
        return content, {"path": data_path, "rev": "workspace", "md5": actual, "pinned": pinned}
    actual = verify_pinned(Path(data_path))
    return Path(data_path).read_bytes(), {"path": data_path, "rev": "workspace", "md5": actual, "pinned": True}


def data_remote() -> str:
    """The DVC remote URL the steps read data from, or "" (local profile: the workspace file)."""
    return os.environ.get("CLOUD_DVC_REMOTE", "")


def read_from_remote(data_path: str, remote: str, md5: str = "") -> bytes:
    """The bytes the committed pointer `<data_path>.dvc` pins (or, given `md5`, that version of the file: e.g. the
    data an older model trained on), read through DVC from `remote` alone: in a scratch DVC repository holding only
    the pointer, so neither the workspace nor its DVC cache can supply them."""
    import logging
    import shutil

    import dvc.api
    from dvc.repo import Repo

    with tempfile.TemporaryDirectory(prefix="dvc-read-") as scratch:
        pin_file = Path(scratch, f"{data_path}.dvc")
        pin_file.parent.mkdir(parents=True, exist_ok=True)
        pin = yaml.load(Path(f"{data_path}.dvc").read_text(), Loader=yaml.BaseLoader)  # hashes stay strings
        if md5 and pin["outs"][0]["md5"] != md5:  # the same pointer (hash scheme, path) naming another version
            pin["outs"][0] = {k: v for k, v in pin["outs"][0].items() if k != "size"} | {"md5": md5}
            pin_file.write_text(yaml.safe_dump(pin, sort_keys=False))
        else:
            shutil.copyfile(f"{data_path}.dvc", pin_file)
        dvc_logger = logging.getLogger("dvc")
        level = dvc_logger.level
        dvc_logger.setLevel(logging.WARNING)  # no "Initialized DVC repository." in the step's log
        try:
            repo = Repo.init(scratch, no_scm=True)
        finally:
            dvc_logger.setLevel(level)
        with repo.config.edit() as conf:
            conf["remote"]["cloud"] = {"url": remote}
            conf["core"]["remote"] = "cloud"
        return dvc.api.read(data_path, repo=scratch, mode="rb")


def read_from_cache(data_path: str, md5: str) -> bytes | None:
    """That version of `data_path` by its md5, from this project's DVC cache, or None. A version that `dvc add`
    pinned but whose pointer no commit holds yet (`make retrain` leaves it for you to commit) is found here, not at
    the commit it was trained at, which pins the version before it."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        content = read_from_remote(data_path, Repo().cache.local_cache_dir, md5)
    except (DvcException, OSError):  # not a DVC project, no pointer, or not in the cache
        return None
    return content if hashlib.md5(content).hexdigest() == md5 else None


def _read_remote(data_path: str, remote: str, config: str, md5: str = "") -> tuple[bytes, dict]:
    from dvc.exceptions import DvcException

    pin = pointer(Path(data_path))
    if pin is None:
        raise DataError(f"{data_path}.dvc not found: the cloud profile reads data through its pointer ({config})")
    expected = md5 or pin["md5"]
    try:
        content = read_from_remote(data_path, remote, expected)
    except DvcException as err:  # e.g. never pushed: `dvc push -r <remote>`
        version = f"{data_path} (md5 {expected})"
        raise DataNotPinned(f"{version} cannot be read from the DVC remote {remote}: {err}") from None
    actual = hashlib.md5(content).hexdigest()
    if actual != expected:
        raise DataNotPinned(f"{data_path} from {remote}: read md5 {actual}, expected md5 {expected}")
    # rev "workspace": the pointer as the launch's workspace has it (packaged with the code); "remote": --data-md5's
    rev = "remote" if expected != pin["md5"] else "workspace"
    return content, {"path": data_path, "rev": rev, "md5": actual, "pinned": True, "remote": remote}


KEY_PACKAGES = ("torch", "lightning", "metaflow", "mlflow", "dvc", "bentoml", "pandas", "numpy", "scikit-learn")


def environment() -> tuple[dict[str, str], str]:
    """Python and key package versions (as tags), and the whole resolved environment (as a requirements file)."""
    import platform
    from importlib import metadata

    installed = {d.metadata["Name"].lower(): d.version for d in metadata.distributions() if d.metadata["Name"]}
    versions = {"python": platform.python_version()} | {p: installed.get(p, "") for p in KEY_PACKAGES}
    return versions, "\n".join(f"{name}=={version}" for name, version in sorted(installed.items())) + "\n"

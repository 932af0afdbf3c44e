"""The one owner of data versions: a `.dvc` pointer is parsed here, an md5 is checked here, and a version is read here
(from the workspace, the project's DVC cache, a git revision or a DVC remote). Everything else asks this module."""

import hashlib
{%- if cookiecutter.scale_out %}
import os
{%- endif %}
import platform
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml

from ..errors import DataError, ProjectError
from .git import GitError, git


class DataNotPinned(ProjectError, RuntimeError):
    """The data in the workspace is not the version its committed .dvc pointer names."""

    headline = "Data not pinned"


@dataclass(frozen=True)
class Pointer:
    """The output a `<data_path>.dvc` pointer pins: its md5, and the `outs` entry as DVC wrote it."""

    data_path: str
    md5: str
    entry: dict


def md5(path: Path) -> str:
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def _parse(text: str, data_path: str) -> Pointer:
    entry = yaml.load(text, Loader=yaml.BaseLoader)["outs"][0]  # BaseLoader: hashes stay strings
    return Pointer(str(data_path), entry["md5"], entry)


def pointer(data_path: str | Path, rev: str = "") -> Pointer | None:
    """What `<data_path>.dvc` pins, in the workspace or at git revision `rev`; None when there is no such pointer."""
    if rev:
        try:
            return _parse(git("show", f"{rev}:{data_path}.dvc"), str(data_path))
        except GitError:
            return None
    dvc_file = Path(f"{data_path}.dvc")
    return _parse(dvc_file.read_text(), str(data_path)) if dvc_file.is_file() else None
{%- if cookiecutter.snapshots %}


def committed_pins(root: Path) -> dict[str, str]:
    """{path: md5} for every committed .dvc pointer (data, and a local base model if DVC tracks one)."""
    pins = {}
    for name in sorted(git("ls-files", "*.dvc", cwd=root).split()):
        for out in yaml.load((root / name).read_text(), Loader=yaml.BaseLoader)["outs"]:
            pins[str((root / name).parent.relative_to(root) / out["path"])] = out["md5"]
    return pins
{%- endif %}


def checked(content: bytes, expected: str, where: str) -> bytes:
    """`content` if its md5 is `expected`; else DataNotPinned naming `where` the bytes came from and both md5s."""
    actual = hashlib.md5(content).hexdigest()
    if actual != expected:
        raise DataNotPinned(f"{where}: read md5 {actual}, expected md5 {expected}")
    return content


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
    if actual != pin.md5:
        raise DataNotPinned(
            f"{data_path} does not match its pointer {data_path}.dvc (workspace md5 {actual}, pinned {pin.md5}).\n"
            f"Restore the pinned version with `dvc checkout --force {data_path}.dvc` (discards your changes), or pin "
            f"this one with `dvc add {data_path}` and commit {data_path}.dvc."
        )
    return actual


def require_file(data_path: str, config: str, pointer_will_do: bool = True) -> None:
    """A data path that names nothing (no file, no .dvc pointer) or a directory is a config mistake, not a DVC one:
    say so first (`pointer_will_do`: a pointer without its file is DVC's to fetch)."""
    if Path(data_path).is_dir():
        raise DataError(f"data.path in {config} is the directory {data_path}: name a CSV or Parquet file in it")
    if not Path(data_path).is_file() and (not pointer_will_do or pointer(data_path) is None):
        raise DataError(f"data file {data_path} not found (check data.path in {config})")


def read_data(
    data_path: str, rev: str = "", allow_unpinned: bool = False, config: str = "params.yaml"{{ ', md5: str = ""' if cookiecutter.scale_out }}
) -> tuple[bytes, dict]:
    """The bytes the flow trains on, with facts about their pin: the workspace file (which must match its pointer
    unless `allow_unpinned`), or the file as of git revision `rev`, read through DVC without touching the workspace.
{%- if cookiecutter.scale_out %}
    `config`: the file that names `data_path`, for messages. Under the cloud profile (CLOUD_DVC_REMOTE) the pinned
    bytes come from that DVC remote, whatever the workspace holds: a step in a pod has no workspace; `md5` there
    names another version in the remote (a pod has no git history to resolve a revision in)."""
    if md5 and (rev or not data_remote()):
        raise DataError(
            "--data-md5 reads a version from the cloud profile's DVC remote (CLOUD_DVC_REMOTE), without "
            "--data-rev; locally, name a git revision with --data-rev"
        )
    if data_remote() and not rev:
        pin = pointer(data_path)
        if pin is None:
            raise DataError(f"{data_path}.dvc not found: the cloud profile reads data through its pointer ({config})")
        content = read_from_remote(data_path, data_remote(), md5 or pin.md5)
        # rev "workspace": the pointer as the launch's workspace has it (packaged with the code); "remote": --data-md5's
        rev = "remote" if md5 and md5 != pin.md5 else "workspace"
        return content, {"path": data_path, "rev": rev, "md5": md5 or pin.md5, "pinned": True, "remote": data_remote()}
{%- else %}
    `config`: the file that names `data_path`, for messages."""
{%- endif %}
    if rev:
        content = read_at(data_path, rev)
        return content, {"path": data_path, "rev": rev, "md5": hashlib.md5(content).hexdigest(), "pinned": True}
    require_file(data_path, config)
    if not (allow_unpinned and Path(data_path).is_file()):
        verify_pinned(Path(data_path))  # DataNotPinned, saying why and what to run
    content = Path(data_path).read_bytes()
    actual, pin = hashlib.md5(content).hexdigest(), pointer(data_path)
    return content, {"path": data_path, "rev": "workspace", "md5": actual, "pinned": bool(pin and pin.md5 == actual)}


def read_at(data_path: str, rev: str) -> bytes:
    """The version of `data_path` that its pointer at git revision `rev` pins, read through DVC (its cache, then its
    remote) without touching the workspace; DataNotPinned when there is no pointer there or the bytes are not found."""
    import dvc.api
    from dvc.exceptions import DvcException

    pin = pointer(data_path, rev)
    if pin is None:
        raise DataNotPinned(f"{data_path}.dvc does not exist at revision {rev!r} (check --data-rev and data.path)")
    try:
        content = dvc.api.read(data_path, rev=rev, mode="rb")
    except DvcException as err:  # e.g. in neither the cache nor the remote
        raise DataNotPinned(f"{data_path}@{rev} cannot be read through DVC: {err}") from None
    return checked(content, pin.md5, f"{data_path}@{rev}")


{%- if cookiecutter.scale_out %}


def data_remote() -> str:
    """The DVC remote URL the steps read data from, or "" (local profile: the workspace file)."""
    return os.environ.get("CLOUD_DVC_REMOTE", "")
{%- endif %}


def read_from_remote(data_path: str, remote: str, md5: str) -> bytes:
    """Version `md5` of `data_path` (e.g. the data an older model trained on), read through DVC from `remote` alone,
    checked against its md5: in a scratch DVC repository holding only the pointer, rewritten to name that version, so
    neither the workspace nor its DVC cache can supply it. DataNotPinned when the remote lacks it."""
    import dvc.api
    from dvc.exceptions import DvcException

    pin = pointer(data_path)
    if pin is None:
        raise DataNotPinned(f"{data_path}.dvc not found: a version is read from a DVC remote through its pointer")
    with tempfile.TemporaryDirectory(prefix="dvc-read-") as scratch:
        Path(scratch, ".dvc").mkdir()  # a DVC repository; its config is passed to the read
        pin_file = Path(scratch, f"{data_path}.dvc")
        pin_file.parent.mkdir(parents=True, exist_ok=True)
        document = yaml.load(Path(f"{data_path}.dvc").read_text(), Loader=yaml.BaseLoader)  # hashes stay strings
        document["outs"][0] = {k: v for k, v in pin.entry.items() if k != "size"} | {"md5": md5}
        pin_file.write_text(yaml.safe_dump(document, sort_keys=False))
        config = {"core": {"no_scm": True, "remote": "cloud"}, "remote": {"cloud": {"url": remote}}}
        try:
            content = dvc.api.read(data_path, repo=scratch, mode="rb", config=config)
        except DvcException as err:  # e.g. never pushed: `dvc push -r <remote>`
            version = f"{data_path} (md5 {md5})"
            raise DataNotPinned(f"{version} cannot be read from the DVC remote {remote}: {err}") from None
    return checked(content, md5, f"{data_path} from {remote}")


def read_from_cache(data_path: str, md5: str) -> bytes | None:
    """That version of `data_path` by its md5 from this project's DVC cache, or None: where a version that `dvc add`
    pinned but no commit holds yet is found (the commit it was trained at pins the version before it)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        return read_from_remote(data_path, Repo().cache.local_cache_dir, md5)
    except (DvcException, DataNotPinned, OSError):  # not a DVC project, no pointer, or not in the cache
        return None


def read_version(data_path: str, md5: str, rev: str, commit: str) -> tuple[bytes, str]:
    """Version `md5` of `data_path` (what a run trained on), and where it came from:{% if cookiecutter.scale_out %} under the cloud profile its DVC
    remote (a pod has no workspace and no git history); else{% endif %}
    the workspace file when its md5 is that one, else the project's DVC cache (pinned by `dvc add`, perhaps in no
    commit yet), else DVC at revision `rev` ("workspace": at the training `commit`). DataNotPinned says why none
    holds it."""
{%- if cookiecutter.scale_out %}
    if data_remote():
        return read_from_remote(data_path, data_remote(), md5), f"dvc remote {data_remote()}"
{%- endif %}
    content = Path(data_path).read_bytes() if rev == "workspace" and Path(data_path).is_file() else b""
    if content and hashlib.md5(content).hexdigest() == md5:
        return content, "workspace"
    cached = read_from_cache(data_path, md5)
    if cached is not None:
        return cached, "dvc cache"
    at = rev if rev != "workspace" else commit
    if not at:
        where = "not in the workspace or the DVC cache, and no commit is known"
        raise DataNotPinned(f"md5 {md5} of {data_path}: {where}")
    pin = pointer(data_path, at)
    if pin is not None and pin.md5 != md5:
        raise DataNotPinned(
            f"{data_path}@{at[:12]} pins md5 {pin.md5}, not md5 {md5} (was it trained on data not yet committed?)"
        )
    return read_at(data_path, at), f"dvc@{at[:12]}"


KEY_PACKAGES = ("torch", "lightning", "metaflow", "mlflow", "dvc", "bentoml", "pandas", "numpy", "scikit-learn")


def environment() -> tuple[dict[str, str], str]:
    """Python and key package versions (as tags), and the whole resolved environment (as a requirements file)."""
    installed = {d.metadata["Name"].lower(): d.version for d in metadata.distributions() if d.metadata["Name"]}
    versions = {"python": platform.python_version()} | {p: installed.get(p, "") for p in KEY_PACKAGES}
    return versions, "\n".join(f"{name}=={version}" for name, version in sorted(installed.items())) + "\n"

"""The reference a model is judged against: exactly its own training split, found through its lineage.

BentoML model tag (in every prediction-log row) -> its labels (`mlflow_run_id`, `data_md5`, written by the training
flow's package step) -> the MLflow run (tags `data.path`, `data.rev`, `data.md5`, `git.commit`; params `seed`,
`split.*`, `data.target`) -> the data bytes (the workspace file when its md5 is the recorded one, else DVC at the
revision it was read at, or at the training commit) -> the training flow's own `split` with the run's seed and split
settings -> the `train` split. Anything that does not line up stops the monitor with a MonitoringError.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import SplitConfig
from .window import MonitoringError


@dataclass(frozen=True)
class Lineage:
    model_version: str  # BentoML model tag
    model_path: str  # its directory in the BentoML store
    mlflow_run_id: str
    mlflow_model_version: str
    data_path: str
    data_rev: str  # "workspace" or the revision the training flow read the data at (--data-rev)
    data_md5: str
    git_commit: str
    seed: int
    target: str
    split: SplitConfig

    def tags(self) -> dict[str, str]:
        """What a monitoring run records about the model it judged."""
        return {
            "monitored.model_version": self.model_version,
            "monitored.mlflow_model_version": self.mlflow_model_version,
            "monitored.mlflow_run_id": self.mlflow_run_id,
            "reference.data_path": self.data_path,
            "reference.data_md5": self.data_md5,
            "reference.data_rev": self.data_rev,
            "reference.git_commit": self.git_commit,
        }


def champion_model(model_name: str, alias: str = "champion") -> str:
    """The BentoML model tag behind a registry alias (what `make serve` serves)."""
    from ..promotion import PromotionError, serving_tag

    try:
        return serving_tag(model_name, alias)[0]
    except PromotionError as err:
        raise MonitoringError(f"{err} (or name the model with --model-version)") from None


def find_lineage(model_version: str) -> Lineage:
    """Follow a BentoML model tag to its MLflow run and the facts of the data it was trained on."""
    import bentoml

    from ..tracking import client

    try:
        model = bentoml.models.get(model_version)
    except bentoml.exceptions.NotFound:
        raise MonitoringError(f"model {model_version} is not in the BentoML store (BENTOML_HOME)") from None
    labels = model.info.labels
    run_id = labels.get("mlflow_run_id")
    if not run_id:
        raise MonitoringError(f"model {model_version} has no mlflow_run_id label: its lineage cannot be followed")
    try:
        run = client().get_run(run_id)
    except Exception as err:  # MlflowException: unknown run, or a store that is not this project's
        why = type(err).__name__
        raise MonitoringError(f"MLflow run {run_id} of model {model_version} not found ({why})") from None
    tags, params = run.data.tags, run.data.params
    missing = [k for k in ("data.path", "data.md5", "data.rev") if not tags.get(k)]
    missing += [k for k in ("seed", "data.target", "split.test_size", "split.validation_size") if k not in params]
    if missing:
        raise MonitoringError(f"MLflow run {run_id} of model {model_version} lacks {missing}: lineage incomplete")
    if labels.get("data_md5") and labels["data_md5"] != tags["data.md5"]:
        raise MonitoringError(
            f"model {model_version} says data md5 {labels['data_md5']}, its MLflow run {run_id} {tags['data.md5']}"
        )
    split = SplitConfig(
        test_size=float(params["split.test_size"]),
        validation_size=float(params["split.validation_size"]),
        stratify=params.get("split.stratify", "True") == "True",
    )
    return Lineage(
        model_version=str(model.tag),
        model_path=str(model.path),
        mlflow_run_id=run_id,
        mlflow_model_version=labels.get("mlflow_model_version", ""),
        data_path=tags["data.path"],
        data_rev=tags["data.rev"],
        data_md5=tags["data.md5"],
        git_commit=tags.get("git.commit", ""),
        seed=int(params["seed"]),
        target=params["data.target"],
        split=split,
    )


def training_bytes(lineage: Lineage) -> tuple[bytes, str]:
    """The exact bytes the model trained on, and where they came from; refused unless their md5 is the recorded one."""
    from ..lineage import DataNotPinned, read_data

    path = Path(lineage.data_path)
    if lineage.data_rev == "workspace" and path.is_file():
        content = path.read_bytes()
        if hashlib.md5(content).hexdigest() == lineage.data_md5:
            return content, "workspace"
    rev = lineage.data_rev if lineage.data_rev != "workspace" else lineage.git_commit
    if not rev:
        raise MonitoringError(f"{path} has changed since model {lineage.model_version} trained, and no commit is known")
    try:
        content, _ = read_data(lineage.data_path, rev)
    except DataNotPinned as err:
        raise MonitoringError(f"the training data of model {lineage.model_version} cannot be read: {err}") from None
    actual = hashlib.md5(content).hexdigest()
    if actual != lineage.data_md5:
        raise MonitoringError(
            f"{lineage.data_path}@{rev[:12]} has md5 {actual}, but model {lineage.model_version} trained on md5 "
            f"{lineage.data_md5} (was it trained on data not yet committed?): no trustworthy reference"
        )
    return content, f"dvc@{rev[:12]}"


def training_split(lineage: Lineage) -> tuple[pd.DataFrame, str]:
    """The model's training split, re-cut from its data with the training flow's split and the run's settings."""
    from ..data import read_table, split

    content, source = training_bytes(lineage)
    table = read_table(lineage.data_path, content)
    return split(table, lineage.split, lineage.target, lineage.seed)["train"].reset_index(drop=True), source

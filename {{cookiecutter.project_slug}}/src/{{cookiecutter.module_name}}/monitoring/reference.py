"""The reference a model is judged against: exactly its own training split, found through its lineage.

BentoML model tag (in every prediction-log row) -> its labels (run id, data md5: run_record.labels, written by the
training flow's package step) -> the MLflow run -> what it trained on (trained_on.py: the data bytes whose md5 is the
recorded one, re-split with the run's seed and split settings) -> the `train` split. Anything that does not line up
stops the monitor with a MonitoringError.
"""

from dataclasses import dataclass, fields

import pandas as pd

from ..lineage.run_record import RunRecord
from ..pipeline.trained_on import LineageError, of_run, splits
from ..pipeline.trained_on import training_bytes as read_training_bytes
from .window import MonitoringError


@dataclass(frozen=True)
class Lineage(RunRecord):
    """What the model trained on (its MLflow run's data facts), and the model itself."""

    model_version: str = ""  # BentoML model tag
    model_path: str = ""  # its directory in the BentoML store
    mlflow_model_version: str = ""

    @property
    def mlflow_run_id(self) -> str:
        return self.run_id

    def tags(self) -> dict[str, str]:
        """What a monitoring run records about the model it judged."""
        return {
            "monitored.model_version": self.model_version,
            "monitored.mlflow_model_version": self.mlflow_model_version,
            "monitored.mlflow_run_id": self.mlflow_run_id,
            "reference.data_path": self.data_path,
            "reference.data_md5": self.data_md5,
            "reference.data_rev": self.data_rev,
            "reference.git_commit": self.commit,
        }


def champion_model(model_name: str, alias: str = "champion") -> str:
    """The BentoML model tag behind a registry alias (what `make serve` serves)."""
    from ..release.promotion import PromotionError, serving_tag

    try:
        return serving_tag(model_name, alias)[0]
    except PromotionError as err:
        raise MonitoringError(f"{err} (or name the model with --model-version)") from None


def find_lineage(model_version: str) -> Lineage:
    """Follow a BentoML model tag to its MLflow run and the facts of the data it was trained on."""
    import bentoml

    from ..lineage import run_record

    try:
        model = bentoml.models.get(model_version)
    except bentoml.exceptions.NotFound:
        raise MonitoringError(f"model {model_version} is not in the BentoML store (BENTOML_HOME)") from None
    labels = run_record.read_labels(model.info.labels)
    if not labels.run_id:
        raise MonitoringError(f"model {model_version} has no MLflow run label: its lineage cannot be followed")
    try:
        run = run_record.find(labels.run_id)
    except Exception as err:  # noqa: BLE001 - a store that cannot be read: no reference
        run, why = None, f" ({type(err).__name__})"
    else:
        why = " (another tracking store's, or deleted)"
    if run is None or run.deleted:
        raise MonitoringError(f"MLflow run {labels.run_id} of model {model_version} not found{why}")
    try:
        data = of_run(run)
    except LineageError as err:
        raise MonitoringError(f"model {model_version}: {err}") from None
    if labels.data_md5 and labels.data_md5 != data.data_md5:
        raise MonitoringError(
            f"model {model_version} says data md5 {labels.data_md5}, its MLflow run {labels.run_id} {data.data_md5}"
        )
    return Lineage(
        **{f.name: getattr(data, f.name) for f in fields(RunRecord)},
        model_version=str(model.tag),
        model_path=str(model.path),
        mlflow_model_version=labels.version,
    )


def training_bytes(lineage: Lineage) -> tuple[bytes, str]:
    """The exact bytes the model trained on, and where they came from; refused unless their md5 is the recorded one."""
    try:
        return read_training_bytes(lineage, f"model {lineage.model_version}")
    except LineageError as err:
        raise MonitoringError(f"{err}: no trustworthy reference") from None


def training_split(lineage: Lineage) -> tuple[pd.DataFrame, str]:
    """The model's training split, re-cut from its data with the training flow's split and the run's settings."""
    try:
        found, source = splits(lineage, f"model {lineage.model_version}")
    except LineageError as err:
        raise MonitoringError(f"{err}: no trustworthy reference") from None
    return found["train"].reset_index(drop=True), source

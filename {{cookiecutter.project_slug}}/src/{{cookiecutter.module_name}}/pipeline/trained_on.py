"""What a model was trained on, read back from its MLflow run: the data file's path, the revision it was read at and its
md5, the seed and the split settings -> the exact bytes (the workspace file when its md5 is the recorded one, else that
version by md5 from the project's DVC cache, else DVC at that revision or at the training commit) -> its train /
validation / test splits, re-cut with the flow's own `split`.

Two readers: the champion gate (score the champion only on rows it never trained on) and the monitor (judge a served
model against its own training split).
"""

import pandas as pd

from ..errors import ProjectError
from ..lineage.run_record import RunRecord


class LineageError(ProjectError, RuntimeError):
    """The run does not say what it trained on, or the bytes found are not the ones it trained on."""

    headline = "Lineage incomplete"


def of_run(run: RunRecord) -> RunRecord:
    """The run, if it recorded what it trained on (its data's path, revision and md5, its seed, target and split)."""
    facts = {"data path": run.data_path, "data md5": run.data_md5, "data rev": run.data_rev, "seed": run.seed}
    missing = [k for k, v in (facts | {"target": run.target, "split": run.split}).items() if v in ("", None)]
    if missing:
        raise LineageError(f"MLflow run {run.run_id} lacks {missing}: lineage incomplete")
    return run


def training_bytes(data: RunRecord, who: str) -> tuple[bytes, str]:
    """The exact bytes `who` (a model, for messages) trained on, and where they came from (lineage.read_version);
    refused unless their md5 is the recorded one."""
    from ..lineage.lineage import DataNotPinned, read_version

    try:
        return read_version(data.data_path, data.data_md5, data.data_rev, data.commit)
    except DataNotPinned as err:
        raise LineageError(f"the training data of {who}: {err}") from None


def splits(data: RunRecord, who: str) -> tuple[dict[str, pd.DataFrame], str]:
    """The run's train / validation / test splits, re-cut from its bytes, and where the bytes came from."""
    from .data import read_table, split

    content, source = training_bytes(data, who)
    table = read_table(data.data_path, content)
    return split(table, data.split, data.target, data.seed), source


def unseen(rows: pd.DataFrame, seen: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of `rows` equal to no row of `seen` (compared on the columns they share): data a model never saw."""
    columns = [c for c in rows.columns if all(c in frame for frame in seen)]

    def keys(frame: pd.DataFrame) -> pd.Series:  # numbers as floats: 1 read from one file equals 1.0 from another
        numeric = pd.api.types.is_numeric_dtype
        plain = {c: frame[c].astype("float64") if numeric(frame[c]) else frame[c] for c in columns}
        return pd.util.hash_pandas_object(pd.DataFrame(plain).astype(str), index=False)

    known = set().union(*(keys(frame) for frame in seen)) if seen else set()
    return rows[~keys(rows).isin(known).to_numpy()]


def unseen_by(name: str, version: str, rows: pd.DataFrame, who: str) -> pd.DataFrame:
    """The `rows` that registry version `version` of model `name` neither trained nor validated on (its run's
    lineage, re-cut by `splits`); their index is kept. `who` names the model in errors."""
    from ..lineage import run_record
    from ..lineage.tracking import client

    run = run_record.find(client().get_model_version(name, version).run_id)
    if run is None:
        raise LineageError(f"the MLflow run of {who} is not in this tracking store")
    seen, _ = splits(of_run(run), who)
    return unseen(rows, [seen["train"], seen["validation"]])

"""The run record: the one owner of the MLflow tag and param names that describe a training run and its registry
version. Writers put them there; readers give them back typed (RunRecord, VersionRecord), so no other module spells
a name or parses a tag's string, and a renamed tag cannot leave a reader behind."""

import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PROJECT_ROOT, SplitConfig
from . import tracking
from .lineage import environment

# A training run's tags (params are params.yaml flattened: `seed`, `data.target`, `split.test_size`, ...).
COMMIT, DIRTY, PATHSPEC, METAFLOW_RUN = "git.commit", "git.dirty", "metaflow.pathspec", "metaflow.run_id"
DATA = "data."  # + each fact of the data read: path, md5, rev (workspace | a git revision | remote), pinned, remote
{%- if cookiecutter.snapshots %}
CANONICAL, WHY_NOT = "canonical", "canonical.why_not"
{%- endif %}
SCHEMA = "data/schema.json"  # artifact: the data contract (column -> numeric | text | its categories)
COERCED = "data.coerced."  # + column: how many values data.coerce_numeric read as missing
WEIGHTS, ACCELERATOR, BASE_COMMIT = "weights_sha256", "train.accelerator", "model.base.commit"
GATE = "gate."  # gate.<gate> = passed | failed | skipped | off; gate.<gate>.<failed|not_judged>.<check> = detail
FAILED_STEP, ERROR = "failed_step", "error"
# A registry version's tags (the BentoML ones on its run too){{ "; the shadow report's are on the version only" if cookiecutter.monitoring }}.
GATES, BENTOML_MODEL, BENTOML_BENTO = "gates", "bentoml.model", "bentoml.bento"
{%- if cookiecutter.monitoring %}
SHADOW, SHADOW_CHAMPION, SHADOW_RUN = "shadow", "shadow.champion", "shadow.mlflow_run_id"
{%- endif %}
# The BentoML model's labels: the way back from a Bento to its MLflow run.
LABEL_RUN, LABEL_VERSION = "mlflow_run_id", "mlflow_model_version"


@dataclass(frozen=True)
class RunRecord:
    """What a training run recorded; "" / None / {} where it recorded nothing."""

    run_id: str = ""
    status: str = ""  # RUNNING | FINISHED | FAILED | KILLED
    deleted: bool = False
    commit: str = ""
    dirty: bool = False
    pathspec: str = ""
    data_path: str = ""
    data_md5: str = ""
    data_rev: str = ""
    data_pinned: bool | None = None
{%- if cookiecutter.snapshots %}
    canonical: bool = False
    why_not: str = ""
{%- endif %}
    weights_sha256: str = ""
    accelerator: str = ""
    base_commit: str = ""
    gates: dict[str, str] = field(default_factory=dict)  # gate -> passed | failed | skipped | off
    checks: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (gate, failed|not_judged, check) -> detail
    failed_step: str = ""
    error: str = ""
    seed: int | None = None
    target: str = ""
    split: SplitConfig | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def failed_checks(self, gate: str) -> dict[str, str]:
        return {check: d for (g, state, check), d in sorted(self.checks.items()) if g == gate and state == "failed"}
{%- if cookiecutter.snapshots %}

    def verdicts(self, leave_out: tuple[str, ...] = ()) -> dict[str, str]:
        """Each gate's outcome and every failed or not-judged check, named as recorded (for side-by-side rows)."""
        rows = {f"{GATE}{g}": outcome for g, outcome in self.gates.items() if g not in leave_out}
        rows |= {f"{GATE}{g}.{s}.{c}": d for (g, s, c), d in self.checks.items() if g not in leave_out}
        return rows

    def compared(self) -> dict[str, str]:
        """What a re-run must match (beside params, metrics and verdicts); text: the pretrained model actually read."""
        found = {f"{DATA}md5": self.data_md5, WEIGHTS: self.weights_sha256, BASE_COMMIT: self.base_commit}
        return {key: value or "-" for key, value in found.items()}
{%- endif %}


def read(run) -> RunRecord:
    """The record of an MLflow Run entity."""
    tags, params = run.data.tags, run.data.params
    verdicts = {tuple(key.split(".", 3)[1:]): value for key, value in tags.items() if key.startswith(GATE)}
    gates = {parts[0]: value for parts, value in verdicts.items() if len(parts) == 1}  # <gate>
    checks = {parts: value for parts, value in verdicts.items() if len(parts) == 3}  # <gate>, <state>, <check>
    found = {key.removeprefix("split."): value for key, value in params.items() if key.startswith("split.")}
    split = SplitConfig.model_validate(found) if {"test_size", "validation_size"} <= found.keys() else None
    pinned = tags.get(f"{DATA}pinned")
    return RunRecord(
        run_id=run.info.run_id,
        status=run.info.status,
        deleted=run.info.lifecycle_stage == "deleted",
        commit=tags.get(COMMIT, ""),
        dirty=tags.get(DIRTY) == "True",
        pathspec=tags.get(PATHSPEC, ""),
        data_path=tags.get(f"{DATA}path", ""),
        data_md5=tags.get(f"{DATA}md5", ""),
        data_rev=tags.get(f"{DATA}rev", ""),
        data_pinned=None if pinned is None else pinned == "True",
{%- if cookiecutter.snapshots %}
        canonical=tags.get(CANONICAL) == "true",
        why_not=tags.get(WHY_NOT, ""),
{%- endif %}
        weights_sha256=tags.get(WEIGHTS, ""),
        accelerator=tags.get(ACCELERATOR, ""),
        base_commit=tags.get(BASE_COMMIT, ""),
        gates=gates,
        checks=checks,
        failed_step=tags.get(FAILED_STEP, ""),
        error=tags.get(ERROR, ""),
        seed=int(params["seed"]) if "seed" in params else None,
        target=params.get("data.target", ""),
        split=split,
        params=dict(params),
        metrics=dict(run.data.metrics),
    )


def find(run_id: str) -> RunRecord | None:
    """The run's record in the current tracking store; None when this store has no such run (another server's)."""
    from mlflow.exceptions import MlflowException

    try:
        return read(tracking.client().get_run(run_id))
    except MlflowException as err:
        if err.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
{%- if cookiecutter.snapshots %}


def runs(experiment: str | None, commit: str = "", metaflow_run: str = "", canonical: bool = False, limit: int = 50):
    """Records of the runs of `experiment` (None: every experiment) matching the filters, newest first."""
    client = tracking.client()
    if experiment is None:
        ids = [e.experiment_id for e in client.search_experiments()]
    else:
        found = client.get_experiment_by_name(experiment)
        ids = [found.experiment_id] if found else []
    where = [f"tags.`{COMMIT}` = '{commit}'"] if commit else []
    where += [f"tags.`{METAFLOW_RUN}` = '{metaflow_run}'"] if metaflow_run else []
    where += [f"tags.{CANONICAL} = 'true'", "attributes.status = 'FINISHED'"] if canonical else []
    if not ids:
        return []
    order = ["attributes.start_time DESC"]
    return [read(r) for r in client.search_runs(ids, " and ".join(where), order_by=order, max_results=limit)]
{%- endif %}


@dataclass(frozen=True)
class VersionRecord:
    """What the flow recorded on a registry version."""

    name: str
    version: str
    run_id: str = ""
    aliases: tuple[str, ...] = ()
    gates: str = ""  # "passed", "passed; skipped: champion", "failed: performance"; "" when not published by the flow
    bentoml_model: str = ""
    bentoml_bento: str = ""
{%- if cookiecutter.monitoring %}
    shadow: str = ""  # the shadow report's outcome against `shadow_champion`
    shadow_champion: str = ""
    shadow_run_id: str = ""
{%- endif %}


def read_version(model_version) -> VersionRecord:
    tags = model_version.tags
    return VersionRecord(
        name=model_version.name,
        version=str(model_version.version),
        run_id=model_version.run_id or "",
        aliases=tuple(model_version.aliases or ()),
        gates=tags.get(GATES, ""),
        bentoml_model=tags.get(BENTOML_MODEL, ""),
        bentoml_bento=tags.get(BENTOML_BENTO, ""),
{%- if cookiecutter.monitoring %}
        shadow=tags.get(SHADOW, ""),
        shadow_champion=tags.get(SHADOW_CHAMPION, ""),
        shadow_run_id=tags.get(SHADOW_RUN, ""),
{%- endif %}
    )


def versions_of_run(name: str, run_id: str) -> list[VersionRecord]:
    """The registry versions of model `name` registered from run `run_id`: found by identity, never by number (each
    read again: a search result carries no aliases)."""
    client = tracking.client()
    found = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'"))
    return [read_version(client.get_model_version(name, str(number))) for number in found]


@dataclass(frozen=True)
class ModelLabels:
    """A BentoML model's lineage labels: the MLflow run it came from and the registry version the flow gave it."""

    run_id: str = ""
    version: str = ""
    data_md5: str = ""


def labels(run_id: str, pathspec: str, commit: str, data_md5: str) -> dict[str, str]:
    """The labels the flow writes on the BentoML model it packages (packaging adds LABEL_VERSION)."""
    return {LABEL_RUN: run_id, "metaflow_pathspec": pathspec, "git_commit": commit, "data_md5": data_md5}


def read_labels(found: dict) -> ModelLabels:
    return ModelLabels(found.get(LABEL_RUN, ""), found.get(LABEL_VERSION, ""), found.get("data_md5", ""))


# Writers


def open_run(params: dict, experiment: str, flow_name: str, metaflow_run_id: str, git: dict) -> str:
    """Create the MLflow run for a Metaflow run and record what made it: params, commit, environment."""
    versions, frozen = environment()
    run_id = tracking.start_run(
        experiment,
        run_name=f"{flow_name}-{metaflow_run_id}",
        tags={f"git.{k}": v for k, v in git.items() if k in ("commit", "branch", "dirty")}
        | {"metaflow.flow": flow_name, METAFLOW_RUN: metaflow_run_id}
        | {PATHSPEC: f"{flow_name}/{metaflow_run_id}", "seed": params["seed"]}
        | {f"version.{k}": v for k, v in versions.items()},
    )
    tracking.log(run_id, params=tracking.flatten(params))
    tracking.log_text(run_id, frozen, "environment/requirements.txt")
    if git["dirty"]:
        tracking.log_text(run_id, git["diff"], "git/diff.patch")
    return run_id
{%- if cookiecutter.snapshots %}


def record_data(run_id: str, data: dict, why_not: list[str]) -> None:
    """The data's facts (read_data's) and whether the run is canonical (why not, when it is not)."""
    tags = {f"{DATA}{k}": v for k, v in data.items()}
    tracking.log(run_id, tags=tags | {CANONICAL: str(not why_not).lower(), WHY_NOT: "; ".join(why_not)})
{%- else %}


def record_data(run_id: str, data: dict) -> None:
    """The data's facts (read_data's)."""
    tracking.log(run_id, tags={f"{DATA}{k}": v for k, v in data.items()})
{%- endif %}


def record_schema(run_id: str, schema: dict, coerced: dict[str, int]) -> None:
    """The data contract the run trained on (column -> numeric | text | its categories), and per data.coerce_numeric
    column how many values were not numbers (read as missing)."""
    import json

    tracking.log_text(run_id, json.dumps(schema, indent=1), SCHEMA)
    if coerced:
        tracking.log(run_id, tags={f"{COERCED}{col}": count for col, count in coerced.items()})


def log_dataset(run_id: str, table, data: dict, target: str) -> None:
    """The table as an MLflow dataset input (context `training`) whose digest is the DVC md5. Through the client: the
    fluent `mlflow.log_input` needs an active run, and the flow's run stays open across steps. MLflow's warnings (the
    source's kind, integer columns) say nothing about the data."""
    import mlflow.data
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.exceptions import MlflowException
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    def dataset(source: str):
        return mlflow.data.from_pandas(table, source=source, name=data["path"], digest=data["md5"], targets=target)

    local = str(PROJECT_ROOT / data["path"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            found = dataset(data.get("remote") or local)
        except MlflowException:  # a remote whose scheme MLflow has no dataset source for (ssh://, azure://, ...)
            found = dataset(local)
    context = [InputTag(key=MLFLOW_DATASET_CONTEXT, value="training")]
    tracking.client().log_inputs(run_id, datasets=[DatasetInput(found._to_mlflow_entity(), tags=context)])


def log_training(run_id: str, training: dict, weights_sha256: str, encoder_state: dict | None = None) -> None:
    """Per-epoch history as metric steps (step = epoch, from 1); the epoch kept and how many ran as metrics. The rest as
    tags: samples/s describes the machine, not the model, so it is not a metric{{ " `reproduce` would compare" if cookiecutter.snapshots }}."""
    for epoch, metrics in enumerate(training["history"], start=1):
        tracking.log(run_id, metrics=metrics, step=epoch)
    metrics = {"train.best_epoch": training["best_epoch"], "train.epochs_run": training["epochs_run"]}
    if training.get("best_value") is not None:
        metrics[f"train.best_{training['monitor']}"] = training["best_value"]
    tags = {f"train.{key}": training[key] for key in ("precision", "threads", "stopped_early")}
    tags |= {ACCELERATOR: training["accelerator"], "train.monitor": training.get("monitor") or "none"}
    tags |= {"train.samples_per_second": f"{training['samples_per_second']:.0f}"}
    base = (encoder_state or {}).get("base_model", {})  # text: the pretrained model read, and its resolved commit
    tags |= {f"model.base.{k}": v for k, v in base.items()}
    tracking.log(run_id, metrics=metrics, tags=tags | {WEIGHTS: weights_sha256})


def record_evaluation(
    run_id: str, metrics: dict, verdicts: list[dict], report: dict | None = None, class_metrics: dict | None = None
) -> None:
    """Test metrics (per class too: `test_recall.<class>`), each gate's outcome, every failed or not-judged check, the
    gate report (HTML + PNG); logged once the gates have run (or by a failing step): evaluate need not import MLflow."""
    tags = {}
    for verdict in verdicts:
        state = "skipped" if verdict.get("skipped") else "off" if verdict.get("disabled") else None
        tags[f"{GATE}{verdict['gate']}"] = state or ("passed" if verdict["passed"] else "failed")
        for check in verdict["checks"]:
            if check["state"] != "passed":
                kind = "failed" if check["state"] == "failed" else "not_judged"
                tags[f"{GATE}{verdict['gate']}.{kind}.{check['name']}"] = check["detail"]
    per_class = {
        f"test_{name}.{label}": value
        for label, figures in (class_metrics or {}).items()
        for name, value in figures.items()
        if name != "support"
    }
    tracking.log(run_id, metrics={f"test_{k}": v for k, v in metrics.items()} | per_class, tags=tags)
    mlflow_client = tracking.client()
    for name, content in (report or {}).items():
        if isinstance(content, str):
            mlflow_client.log_text(run_id, content, f"gates/{name}")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / name).write_bytes(content)
                mlflow_client.log_artifact(run_id, str(Path(tmp) / name), "gates")


def fail(run_id: str, step: str, error: str) -> None:
    """Mark the run FAILED, naming the step and the error."""
    tracking.log(run_id, tags={FAILED_STEP: step, ERROR: error[:5000]})
    tracking.finish(run_id, "FAILED")


def record_gates(name: str, version: str, outcome: str) -> None:
    """The gate outcome on registry version `version` (gate_outcome's), first of all, for `cli promote`."""
    tracking.client().set_model_version_tag(name, version, GATES, outcome)


{% if cookiecutter.scale_out -%}
def record_bentoml(run_id: str, name: str, version: str, model: str, bento: str, urls: dict | None = None) -> dict:
    """The BentoML model and Bento (and, with a shared store, their `model_url`, `bento_url`) on the run and on
    registry version `version`, which `cli serve` resolves an alias through; returns the tags written."""
    tags = {BENTOML_MODEL: model, BENTOML_BENTO: bento} | {f"bentoml.{k}": v for k, v in (urls or {}).items()}
{%- else -%}
def record_bentoml(run_id: str, name: str, version: str, model: str, bento: str) -> dict:
    """The BentoML model and Bento on the run and on registry version `version`, which `cli serve` resolves an alias
    through; returns the tags written."""
    tags = {BENTOML_MODEL: model, BENTOML_BENTO: bento}
{%- endif %}
    tracking.log(run_id, tags=tags)
    for key, value in tags.items():
        tracking.client().set_model_version_tag(name, version, key, value)
    return tags
{%- if cookiecutter.monitoring %}


def record_shadow(name: str, version: str, outcome: str, champion: str, report_run_id: str) -> None:
    """A shadow report's outcome on the challenger's registry version, with the champion it was judged against."""
    tags = {SHADOW: outcome, SHADOW_CHAMPION: champion, SHADOW_RUN: report_run_id}
    for key, value in tags.items():
        tracking.client().set_model_version_tag(name, version, key, value)
{%- endif %}

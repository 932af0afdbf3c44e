{% set regression = cookiecutter.task == "tabular_regression" -%}
"""Load and validate params.yaml once, so a bad key or value fails at start-up with a clear message."""

{% if cookiecutter.sweep %}import itertools
{% endif %}from pathlib import Path
from typing import {{ "Any, " if cookiecutter.sweep }}Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, {% if cookiecutter.monitoring and cookiecutter.scale_out %}field_validator, {% endif %}model_validator

from .errors import ProjectError

DEFAULT_FILE = "params.yaml"
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the one definition: src/<module>/config.py -> the project
{%- if cookiecutter.monitoring and cookiecutter.scale_out %}
SCHEDULES = ("hourly", "daily", "weekly")  # Metaflow's @schedule flags
EVENT_NAME = r"^[A-Za-z0-9_.-]+$"  # what Argo Workflows accepts as a @trigger event name
{%- endif %}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    path: str
    target: str = Field(min_length=1)
    features: list[str] = []
    text_column: str | None = None  # text classification: the one input column
    numeric: list[str] = []  # the data contract: columns read as numbers (a value that is not one is refused)...
    categorical: list[str] = []  # ...and columns read as categories; the rest are inferred (printed at each run)
    coerce_numeric: list[str] = []  # numeric columns whose non-numbers are read as missing (counted in the log)
    drop: list[str] = []
{%- if cookiecutter.__fairness %}
    sensitive_features: list[str] = []  # empty only with gates.fairness.enabled: false
    use_sensitive_as_feature: bool = False
{%- endif %}
{%- if not regression %}
    positive_label: str | int | bool | None = None  # binary: the class precision, recall and selection rate refer to
{%- endif %}

    @model_validator(mode="after")
    def _target_is_not_an_input(self):
{%- if cookiecutter.__fairness %}
        if self.target in self.features or self.target in self.sensitive_features:
            raise ValueError(f"target {self.target!r} cannot also be a feature or a sensitive feature")
{%- else %}
        if self.target in self.features:
            raise ValueError(f"target {self.target!r} cannot also be a feature")
{%- endif %}
        if both := sorted({*self.numeric, *self.coerce_numeric} & {*self.categorical}):
            raise ValueError(f"{both} cannot be both numeric (numeric, coerce_numeric) and categorical")
        return self


class SplitConfig(_Strict):
    test_size: float = Field(0.2, gt=0, lt=1)
    validation_size: float = Field(0.1, ge=0, lt=1)
{%- if not regression %}
    stratify: bool = True
{%- endif %}

    @model_validator(mode="after")
    def _leaves_training_data(self):
        if self.test_size + self.validation_size >= 0.9:
            raise ValueError("test_size + validation_size must leave at least 10% of the rows for training")
        return self


{% if cookiecutter.task == "text_classification" -%}
class ModelConfig(_Strict):
    name_or_path: str = Field("distilbert/distilbert-base-uncased", min_length=1)  # hub id, or a local directory
    revision: str | None = None  # hub branch, tag or commit (pin a commit: a branch moves); the commit used is recorded
    max_length: PositiveInt = 128  # tokens per text; longer texts are truncated
    freeze_encoder: bool = False  # train only the classification head
{%- else -%}
class ModelConfig(_Strict):
    hidden_sizes: list[PositiveInt] = [64, 32]
    dropout: float = Field(0.1, ge=0, lt=1)
{%- endif %}


{% if regression -%}
MODES = {"val_loss": "min"}  # training.monitor -> which way is better
{%- else -%}
MODES = {"val_loss": "min", "val_accuracy": "max"}  # training.monitor -> which way is better
{%- endif %}
{%- if cookiecutter.sweep %}
MAX_CANDIDATES = 32  # a sweep larger than this is refused: each candidate is a full training
SWEEPABLE = {  # what a sweep may vary: how the network is built and fitted, not the data, encoder or machine
    "training": ("max_epochs", "batch_size", "learning_rate", "weight_decay", "warmup_ratio", "patience"),
{%- if cookiecutter.task == "text_classification" %}
    "model": ("freeze_encoder",),
{%- else %}
    "model": ("hidden_sizes", "dropout"),
{%- endif %}
}


class SweepConfig(_Strict):
    """Candidate settings, each trained in its own task (a Metaflow foreach); the one best on the validation split by
    `training.monitor` is kept, and only it is evaluated, gated and packaged. Keys are `training.<key>` or
    `model.<key>` (SWEEPABLE); values replace params.yaml's for that candidate."""

    grid: dict[str, list[Any]] = {}  # every combination of these values
    candidates: list[dict[str, Any]] = []  # or these settings, one candidate each

    @model_validator(mode="after")
    def _well_formed(self):
        if bool(self.grid) == bool(self.candidates):
            raise ValueError("give either grid (every combination of values) or candidates (a list of settings)")
        allowed = [f"{section}.{key}" for section, keys in SWEEPABLE.items() for key in keys]
        unknown = sorted(({*self.grid} | {k for c in self.candidates for k in c}) - set(allowed))
        if unknown:
            raise ValueError(f"cannot sweep {', '.join(unknown)}; sweepable: {', '.join(allowed)}")
        if empty := [k for k, values in self.grid.items() if not values]:
            raise ValueError(f"grid {', '.join(empty)}: give at least one value")
        if any(not candidate for candidate in self.candidates):
            raise ValueError("candidates: a candidate sets nothing")
        settings = self.settings()
        if len(settings) > MAX_CANDIDATES:
            raise ValueError(f"{len(settings)} candidates: at most {MAX_CANDIDATES} (each is a full training)")
        for later, candidate in enumerate(settings, 1):
            if candidate in settings[: later - 1]:
                raise ValueError(f"candidate {later} repeats candidate {settings.index(candidate) + 1}: {candidate}")
        return self

    def settings(self) -> list[dict[str, Any]]:
        """The candidates in order (candidate 1 first): the grid's combinations, its last key varying fastest, or
        the list as given. The order breaks ties."""
        if self.grid:
            return [dict(zip(self.grid, values, strict=True)) for values in itertools.product(*self.grid.values())]
        return [dict(candidate) for candidate in self.candidates]
{%- endif %}


class TrainingConfig(_Strict):
    max_epochs: PositiveInt = 15
    batch_size: PositiveInt = 128
    learning_rate: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)  # share of steps with a linearly rising learning rate
{%- if regression %}
    monitor: Literal["val_loss"] = "val_loss"  # picks the epoch that is kept (lowest validation loss)
{%- else %}
    monitor: Literal["val_loss", "val_accuracy"] = "val_loss"  # picks the epoch that is kept (lowest loss, best acc.)
{%- endif %}
    patience: int | None = Field(3, ge=0)  # epochs without improvement before stopping; 0 or null: run max_epochs
    accelerator: Literal["auto", "cpu", "gpu"] = "auto"
    precision: Literal["auto", "32-true", "16-mixed", "bf16-mixed"] = "auto"
    gpus: int = Field(0, ge=0)
    memory_mb: PositiveInt = 4096  # memory requested per training task on a cluster (@resources)
    threads: int | None = Field(None, ge=1)  # CPU threads for training (torch intra-op); None: one per core
    progress_every_s: float = Field(10.0, ge=0)  # a progress line inside an epoch at most this often (0: each batch)
{%- if cookiecutter.sweep %}
    sweep: SweepConfig | None = None  # None: one training with the settings above
{%- endif %}
{%- if cookiecutter.scale_out %}
    nodes: PositiveInt = 1  # > 1: data-parallel training (Lightning DDP) across this many gang-scheduled tasks
    master_port: int | None = Field(None, ge=1024, le=65535)  # where nodes > 1 meet; None: derived from the run id
    meet_timeout_s: PositiveInt = 600  # nodes > 1: how long a rank waits for the others (to meet, at each collective)
{%- endif %}


{% if regression -%}
Metric = Literal["rmse", "mae", "mean_error", "r2"]
{%- else -%}
Metric = Literal["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
{%- endif %}


class PerformanceGate(_Strict):
    """Bounds on test metrics; a name that is not a metric is refused here, before any training."""

    min: dict[Metric, float] = {}
    max: dict[Metric, float] = {}
    min_rows: PositiveInt = 100  # fewer test rows: every check is "not judged" (and the gate fails)


{% if cookiecutter.__fairness and regression -%}
class FairnessGate(_Strict):
    """Bounds on how differently the model errs for the groups of each sensitive feature (None: not checked)."""

    enabled: bool = True  # false: fairness is not assessed (say so on purpose, e.g. data with no sensitive column)
    max_mae_ratio: float | None = Field(1.25, ge=1)  # largest group MAE / smallest group MAE
    max_mean_error_difference: float | None = Field(None, ge=0)  # spread of the groups' mean errors, target units
    min_group_size: PositiveInt = 30  # rows: smaller groups are reported, not judged
    small_group_action: Literal["warn", "fail"] = "warn"
    intersections: bool = False
    require_judgement: bool = True  # a fairness gate none of whose checks could be judged fails


{% elif cookiecutter.__fairness -%}
class FairnessGate(_Strict):
    """Bounds on how differently the model treats the groups of each sensitive feature (None: not checked).
    Multi-class targets are judged one class against the rest, for every class or for `classes`."""

    enabled: bool = True  # false: fairness is not assessed (say so on purpose, e.g. data with no sensitive column)
    max_demographic_parity_difference: float | None = Field(0.10, ge=0, le=1)
    min_demographic_parity_ratio: float | None = Field(None, ge=0, le=1)
    max_equalized_odds_difference: float | None = Field(0.15, ge=0, le=1)
    min_group_primary: float | None = Field(None, description="lowest primary-metric value any group may have")
    min_group_size: PositiveInt = 30  # rows: smaller groups are reported, not judged
    min_group_positives: PositiveInt = 20  # true positive rates are judged only on groups with this many positives
    min_group_negatives: PositiveInt = 20  # false positive rates only on groups with this many negatives
    small_group_action: Literal["warn", "fail"] = "warn"
    intersections: bool = False
    require_judgement: bool = True  # a fairness gate none of whose checks could be judged fails
    classes: list[str | int | bool] | None = None  # multi-class: the classes judged (None: every class)


{% endif -%}
{% if cookiecutter.mitigation -%}
class MitigationConfig(_Strict):
    """Optional fairlearn ThresholdOptimizer: per-group thresholds on the model's score, fitted on scores of rows the
    scoring network did not train on (never the test split) and re-checked by the fairness gate. The sensitive
    features then become inputs of the service."""

    method: Literal["none", "threshold_optimizer"] = "none"
    constraints: Literal[
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "true_negative_rate_parity",
        "false_negative_rate_parity",
    ] = "demographic_parity"
    objective: Literal["accuracy_score", "balanced_accuracy_score"] = "balanced_accuracy_score"
    fit_on: Literal["cross_fit", "validation"] = "cross_fit"  # whose scores: out-of-fold, or the validation split's
    folds: int = Field(5, ge=2, le=20)  # cross_fit: networks trained on all but one fold of train + validation


{% endif -%}
class ChampionGate(_Strict):
    enabled: bool = True
    tolerance: float = Field(0.01, ge=0)
    min_rows: PositiveInt = 100  # fewer rows that neither model trained on: not comparable (the gate fails)


class GatesConfig(_Strict):
{%- if regression %}
    primary_metric: Literal["rmse", "mae", "r2"] = "rmse"  # judged against the champion
{%- else %}
    primary_metric: Metric = "roc_auc"
{%- endif %}
    decide_on: Literal["interval", "point"] = "interval"  # interval: a check decides only when its whole interval does
    confidence: float = Field(0.95, gt=0.5, lt=1)  # of the bootstrap intervals
    resamples: int = Field(1000, ge=100, le=100_000)  # bootstrap resamples of the test rows
    undecided: Literal["fail", "report"] = "fail"  # an interval that straddles a bound: fail the gate, or report it
    performance: PerformanceGate = PerformanceGate()
{%- if cookiecutter.__fairness %}
    fairness: FairnessGate = FairnessGate()
{%- endif %}
    champion: ChampionGate = ChampionGate()


class PackagingConfig(_Strict):
    model_name: str = Field(pattern=r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
    build_bento: bool = True
    promote: bool = True  # move the `champion` alias to a model that passes every gate (else only `candidate`)
{%- if cookiecutter.monitoring %}
    require_shadow: bool = False  # with a champion: new models are `candidate` until a shadow report passes
{%- endif %}


class AdaptiveBatching(_Strict):
    """POST /{{ "estimate" if regression else "classify" }}: BentoML gathers the records of concurrent requests into one forward pass of at most
    `max_batch_size` records, waiting at most about `max_latency_ms` for a batch to fill; a request that cannot be
    answered within the budget gets HTTP 503 at once (load shedding) instead of queueing."""

    max_batch_size: PositiveInt = 256
    max_latency_ms: PositiveInt = 5000


class ServingConfig(_Strict):
    """What the service accepts and how much of the machine it takes; shipped inside the model (model.json), so a
    built Bento serves with the settings it was trained with."""

    max_batch_size: PositiveInt = 1000
{%- if not regression %}
    threshold: float = Field(0.5, gt=0, lt=1)  # binary: P(positive) at or above which the positive class is decided
{%- endif %}
    max_text_chars: PositiveInt = 5000  # longer texts are refused with HTTP 400
    threads: PositiveInt = 1  # torch intra-op threads per service worker, and the worker's declared `cpu` resource
    max_concurrency: PositiveInt = 128  # requests in progress at once; beyond it HTTP 429 at once instead of queueing
    max_body_bytes: PositiveInt | None = None  # larger bodies get HTTP 413 unread; None: from max_batch_size
    body_timeout_s: float = Field(10.0, gt=0, le=300)  # a body not received within this gets HTTP 408
    strict_numbers: bool = True  # numeric fields take JSON numbers only; false: also "41" and true (pydantic lax)
    numeric_range_stds: float | None = Field(1e6, gt=0, le=1e12)  # numbers further than this many training standard
    # deviations from the training mean get HTTP 400 (they would overflow the network); None: 1e30, float32's reach
    adaptive_batching: AdaptiveBatching = AdaptiveBatching()
{%- if cookiecutter.monitoring %}


class MonitoringWindow(_Strict):
    """Which rows of the prediction log are judged: the newest `last_records` within the last `last_hours` (None: no
    limit on that side)."""

    last_records: PositiveInt | None = 10000
    last_hours: float | None = Field(None, gt=0)


class DriftThresholds(_Strict):
    """Per-feature drift, computed by Evidently. Each feature is judged twice: by PSI (population stability index,
    the standard bands: below `psi_warn` stable, from `psi_warn` a warning, from `psi_drift` drift), and by the
    method chosen per column type: a distance (drift at or above the threshold) or a test (drift when its p-value is
    below the threshold). Thresholds left at None take Evidently's defaults for the method."""

    numeric_method: Literal["wasserstein", "ks"] = "wasserstein"  # normed Wasserstein distance, or Kolmogorov-Smirnov
    categorical_method: Literal["jensenshannon", "chisquare"] = "jensenshannon"  # Jensen-Shannon distance, or chi²
    numeric_threshold: float | None = Field(None, gt=0, lt=1)  # None: 0.1 (wasserstein), 0.05 (ks p-value)
    categorical_threshold: float | None = Field(None, gt=0, lt=1)  # None: 0.1 (jensenshannon), 0.05 (chisquare)
    psi_warn: float = Field(0.1, gt=0)
    psi_drift: float = Field(0.25, gt=0)

    @model_validator(mode="after")
    def _bands_in_order(self):
        if self.psi_warn >= self.psi_drift:
            raise ValueError("psi_warn must be below psi_drift")
        return self

    def threshold(self, method: str) -> float:
        chosen = self.numeric_threshold if method == self.numeric_method else self.categorical_threshold
        return chosen if chosen is not None else {"wasserstein": 0.1, "jensenshannon": 0.1}.get(method, 0.05)


class QualityThresholds(_Strict):
    """Data quality of the monitored rows against the model's training split; a breach is a warning."""

    max_null_rate_increase: float = Field(0.05, ge=0, le=1)  # share of missing values above the training share
    max_unseen_category_rate: float = Field(0.01, ge=0, le=1)  # values of a categorical feature never seen in training
    max_out_of_range_rate: float = Field(0.02, ge=0, le=1)  # numbers outside the training split's [min, max]


class MonitoringConfig(_Strict):
    """monitor_flow.py: what is judged against the served model's training split, and how."""

    log_dir: str = "monitoring/predictions/data"  # the prediction log (BentoML's default sink, under the project)
    window: MonitoringWindow = MonitoringWindow()
    min_rows: PositiveInt = 1000  # fewer values in a column: its drift is not judged (small samples are noisy)
    drift: DriftThresholds = DriftThresholds()
    quality: QualityThresholds = QualityThresholds()
    experiment: str | None = None  # MLflow experiment of the monitoring runs; None: <packaging.model_name>-monitoring
{%- if cookiecutter.scale_out %}
    # on Argo Workflows: when MonitorFlow runs; the event asking TrainingFlow to retrain (retrain_event.py)
    schedule: str | None = None  # hourly | daily | weekly | a cron expression (5 fields, UTC); None: started by hand
    retrain_event: str | None = Field(None, pattern=EVENT_NAME)  # None: a drift verdict starts nothing

    @field_validator("schedule")
    @classmethod
    def _schedule_is_known(cls, value: str | None) -> str | None:
        if value is None or value in SCHEDULES or len(value.split()) == 5:
            return value
        raise ValueError(f"expected one of {', '.join(SCHEDULES)} or a cron expression of 5 fields (minute hour ...)")
{%- endif %}


class ShadowConfig(_Strict):
    """The challenger in shadow (shadow.py): what `make serve` runs beside the champion, and what the shadow report
    requires of it on the traffic both saw."""

    model: str | None = Field(None, pattern=r"^(candidate|champion|[0-9]+)$")  # alias or version; None: no shadow
    min_records: PositiveInt = 500  # records the challenger scored: fewer, and the report is not judged (fails)
    max_error_rate: float = Field(0.0, ge=0, le=1)  # records it could not score, as a share of those it saw
{%- if regression %}
    # mean |challenger's value - champion's| on the records both scored, in the target's units; None: reported only
    max_mean_absolute_difference: float | None = Field(None, ge=0)
{%- if cookiecutter.__fairness %}
    fairness: bool = True  # judged by gates.fairness on a labelled batch (traffic has no true values): required
{%- endif %}
{%- else %}
    min_agreement: float | None = Field(0.8, ge=0, le=1)  # share labelled alike by both; None: reported only
{%- if cookiecutter.__fairness %}
    fairness: bool = True  # its selection-rate spread between groups, bounded as gates.fairness bounds it
{%- endif %}
{%- endif %}
{%- endif %}


class Params(_Strict):
    seed: int = 42
    data: DataConfig
    split: SplitConfig = SplitConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    gates: GatesConfig = GatesConfig()
{%- if cookiecutter.mitigation %}
    mitigation: MitigationConfig = MitigationConfig()
{%- endif %}
    packaging: PackagingConfig
    serving: ServingConfig = ServingConfig()
{%- if cookiecutter.monitoring %}
    monitoring: MonitoringConfig = MonitoringConfig()
    shadow: ShadowConfig = ShadowConfig()
{%- endif %}
{%- if cookiecutter.__fairness %}

    @model_validator(mode="after")
    def _fairness_needs_groups(self):
        if self.gates.fairness.enabled and not self.data.sensitive_features:
            raise ValueError(
                "data.sensitive_features is empty: name the sensitive columns of your data, or set "
                "gates.fairness.enabled: false to train without a fairness assessment"
            )
{%- if cookiecutter.mitigation %}
        if self.mitigation.method != "none" and not (self.gates.fairness.enabled and self.data.sensitive_features):
            raise ValueError("mitigation needs data.sensitive_features and gates.fairness.enabled: true")
        if self.mitigation.method != "none" and self.serving.threshold != 0.5:
            raise ValueError("serving.threshold: mitigation fits its own per-group thresholds; leave it at 0.5")
{%- endif %}
        return self
{%- endif %}
{%- if cookiecutter.sweep and cookiecutter.scale_out %}

    @model_validator(mode="after")
    def _one_way_to_scale_training(self):
        if self.training.nodes > 1 and self.training.sweep is not None:
            raise ValueError(
                "training.nodes > 1 with training.sweep: a sweep trains each candidate on one node; set nodes: 1 to "
                "sweep, or remove the sweep to train one network across nodes"
            )
        return self
{%- endif %}
{%- if cookiecutter.sweep %}

    @model_validator(mode="after")
    def _sweep_candidates_are_valid(self):
        """Each candidate's settings are checked as params.yaml's are, before any training."""
        if self.training.sweep is None:
            return self
        if self.split.validation_size == 0:
            raise ValueError("training.sweep compares candidates on the validation split: set split.validation_size")
        problems = []
        for number, candidate in enumerate(self.training.sweep.settings(), 1):
            try:
                with_candidate(self, candidate)
            except ValidationError as err:
                problems += [f"candidate {number}: {_problem(e, candidate).strip()}" for e in err.errors()]
        if problems:
            raise ValueError("training.sweep: " + "; ".join(problems))
        return self


def with_candidate(params: Params, candidate: dict[str, Any] | None) -> Params:
    """The settings a sweep candidate trains with: params.yaml's, its `training.`/`model.` values in their place, and
    no sweep. Without a candidate: params unchanged."""
    if not candidate:
        return params
    sections = {"training": params.training.model_dump() | {"sweep": None}, "model": params.model.model_dump()}
    for key, value in candidate.items():
        section, name = key.split(".", 1)
        sections[section][name] = value
    training = TrainingConfig.model_validate(sections["training"])
    return params.model_copy(update={"training": training, "model": ModelConfig.model_validate(sections["model"])})
{%- endif %}


class ConfigError(ProjectError, ValueError):
    """The config file has a bad key or value; the message names the file and lists each problem with its location."""

    headline = "Configuration error"


def source_file(argv: list[str], name: str = "config") -> str:
    """The file Metaflow reads Config `name` from (`--config NAME FILE`), to name in messages: the parser gets only
    the text."""
    for flag, config, value in zip(argv, argv[1:], argv[2:], strict=False):
        if config == name and flag == "--config":
            return value
        if config == name and flag == "--config-value":
            return f"--config-value {name}"
    return DEFAULT_FILE


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


{% if cookiecutter.sweep -%}
def _problem(error: dict, within: dict | None = None) -> str:
    """`location: message (got value)`; the value is left out where it is a whole section or missing."""
    where = ".".join(map(str, error["loc"])) or "<top level>"
    if within is not None:  # a sweep candidate's error: name the candidate's key (training.x, model.x)
        where = next((key for key in within if key.endswith(f".{where}")), where)
{%- else -%}
def _problem(error: dict) -> str:
    """`location: message (got value)`; the value is left out where it is a whole section or missing."""
    where = ".".join(map(str, error["loc"])) or "<top level>"
{%- endif %}
    got = "" if error["type"] == "missing" or isinstance(error["input"], dict) else f" (got {_shown(error['input'])})"
    return f"  {where}: {error['msg']}{got}"


def validate(raw: dict, source: str = DEFAULT_FILE) -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"invalid {source}:\n" + "\n".join(_problem(e) for e in err.errors())) from None


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error: PyYAML keeps the last silently, so the
    first setting a reader sees would not be the one in force (PyYAML has no option for this). ruamel.yaml, in the
    lock through DVC, refuses duplicates but reads YAML 1.2, which would change what some values mean (`yes`, `on`)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse(text: str, source: str = DEFAULT_FILE) -> dict:
    """Metaflow Config parser: YAML text -> validated, plain dict (defaults filled in)."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise ConfigError(f"invalid {source}: not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid {source}: expected a mapping at the top level")
    return validate(raw, source).model_dump()


def load(path: str | Path = DEFAULT_FILE) -> Params:
    return validate(parse(Path(path).read_text(), Path(path).name), Path(path).name)

"""Load and validate params.yaml once, so a bad key or value fails at start-up with a clear message."""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    path: str
    target: str = Field(min_length=1)
    features: list[str] = []
    text_column: str | None = None  # text classification: the one input column
    categorical: list[str] = []
    drop: list[str] = []
    sensitive_features: list[str] = Field(min_length=1)
    use_sensitive_as_feature: bool = False

    @model_validator(mode="after")
    def _target_is_not_an_input(self):
        if self.target in self.features or self.target in self.sensitive_features:
            raise ValueError(f"target {self.target!r} cannot also be a feature or a sensitive feature")
        return self


class SplitConfig(_Strict):
    test_size: float = Field(0.2, gt=0, lt=1)
    validation_size: float = Field(0.1, ge=0, lt=1)
    stratify: bool = True

    @model_validator(mode="after")
    def _leaves_training_data(self):
        if self.test_size + self.validation_size >= 0.9:
            raise ValueError("test_size + validation_size must leave at least 10% of the rows for training")
        return self


{% if cookiecutter.task == "text_classification" -%}
class ModelConfig(_Strict):
    name_or_path: str = Field("distilbert/distilbert-base-uncased", min_length=1)  # hub id, or a local directory
    max_length: PositiveInt = 128  # tokens per text; longer texts are truncated
    freeze_encoder: bool = False  # train only the classification head
{%- else -%}
class ModelConfig(_Strict):
    hidden_sizes: list[PositiveInt] = [64, 32]
    dropout: float = Field(0.1, ge=0, lt=1)
{%- endif %}


class TrainingConfig(_Strict):
    max_epochs: PositiveInt = 15
    batch_size: PositiveInt = 128
    learning_rate: float = Field(3e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)  # share of steps with a linearly rising learning rate
    monitor: Literal["val_loss", "val_accuracy"] = "val_loss"  # picks the epoch that is kept (lowest loss, best acc.)
    patience: int | None = Field(3, ge=0)  # epochs without improvement before stopping; 0 or null: run max_epochs
    accelerator: Literal["auto", "cpu", "gpu"] = "auto"
    precision: Literal["auto", "32-true", "16-mixed", "bf16-mixed"] = "auto"
    gpus: int = Field(0, ge=0)


class PerformanceGate(_Strict):
    min: dict[str, float] = {}
    max: dict[str, float] = {}


class FairnessGate(_Strict):
    """Bounds on how differently the model treats the groups of each sensitive feature (None: not checked)."""

    max_demographic_parity_difference: float | None = Field(0.10, ge=0, le=1)
    min_demographic_parity_ratio: float | None = Field(None, ge=0, le=1)
    max_equalized_odds_difference: float | None = Field(0.15, ge=0, le=1)
    min_group_primary: float | None = Field(None, description="lowest primary-metric value any group may have")
    min_group_size: PositiveInt = 30
    small_group_action: Literal["warn", "fail"] = "warn"
    intersections: bool = False


class MitigationConfig(_Strict):
    """Optional fairlearn ThresholdOptimizer: per-group thresholds on the model's score, fitted outside the test
    split and re-checked by the fairness gate. The sensitive features then become inputs of the service."""

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


class ChampionGate(_Strict):
    enabled: bool = True
    tolerance: float = Field(0.01, ge=0)


Metric = Literal["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]


class GatesConfig(_Strict):
    primary_metric: Metric = "roc_auc"
    performance: PerformanceGate = PerformanceGate()
    fairness: FairnessGate = FairnessGate()
    champion: ChampionGate = ChampionGate()


class PackagingConfig(_Strict):
    model_name: str = Field(pattern=r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
    build_bento: bool = True
    promote: bool = True  # move the `champion` alias to a model that passes every gate (else only `candidate`)


class ServingConfig(_Strict):
    max_batch_size: PositiveInt = 1000
    max_text_chars: PositiveInt = 5000  # longer texts are refused with HTTP 400


class Params(_Strict):
    seed: int = 42
    data: DataConfig
    split: SplitConfig = SplitConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    gates: GatesConfig = GatesConfig()
    mitigation: MitigationConfig = MitigationConfig()
    packaging: PackagingConfig
    serving: ServingConfig = ServingConfig()


class ConfigError(ValueError):
    """params.yaml has a bad key or value; the message lists each one with its location."""


def validate(raw: dict) -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        lines = [f"  {'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in err.errors()]
        raise ConfigError("invalid params.yaml:\n" + "\n".join(lines)) from None


def parse(text: str) -> dict:
    """Metaflow Config parser: YAML text -> validated, plain dict (defaults filled in)."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ConfigError("invalid params.yaml: expected a mapping at the top level")
    return validate(raw).model_dump()


def load(path: str | Path = "params.yaml") -> Params:
    return validate(parse(Path(path).read_text()))

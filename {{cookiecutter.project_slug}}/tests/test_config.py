import pytest
import yaml

from {{ cookiecutter.module_name }}.config import ConfigError, parse

from .conftest import ROOT


def _raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_committed_params_are_valid(params):
    assert params.data.target == "{{ cookiecutter.target_column }}"
    assert params.training.gpus == {{ 1 if cookiecutter.compute == "gpu" else 0 }}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("training", "max_epochs"), 0, "training.max_epochs"),
        (("training", "accelerator"), "tpu", "training.accelerator"),
        (("split", "test_size"), 1.5, "split.test_size"),
        (("data", "sensitive_features"), [], "data.sensitive_features is empty: name the sensitive columns"),
        (("gates", "performance"), {"min": {"auprc": 0.5}}, "gates.performance.min.auprc"),
        (("serving", "threshold"), 1.5, "serving.threshold"),
        (("training", "learning_rte"), 0.1, "training.learning_rte: Extra inputs are not permitted"),
    ],
)
def test_bad_values_are_named(path, value, message):
    raw = _raw()
    raw[path[0]][path[1]] = value
    with pytest.raises(ConfigError, match=message):
        parse(yaml.safe_dump(raw))


def test_target_cannot_be_sensitive():
    raw = _raw()
    raw["data"]["sensitive_features"] = [raw["data"]["target"]]
    with pytest.raises(ConfigError, match="cannot also be"):
        parse(yaml.safe_dump(raw))


def test_not_a_mapping():
    with pytest.raises(ConfigError, match="mapping"):
        parse("- just a list")


def test_no_sensitive_feature_needs_fairness_turned_off_on_purpose():
    raw = _raw()
    raw["data"]["sensitive_features"] = []
    raw["gates"]["fairness"]["enabled"] = False
    assert parse(yaml.safe_dump(raw))["gates"]["fairness"]["enabled"] is False


def test_mitigation_keeps_the_default_threshold():
    raw = _raw()
    raw["mitigation"]["method"] = "threshold_optimizer"
    raw["serving"] = {"threshold": 0.3}
    with pytest.raises(ConfigError, match="mitigation fits its own per-group thresholds"):
        parse(yaml.safe_dump(raw))

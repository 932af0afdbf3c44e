import pytest
import yaml

from {{ cookiecutter.module_name }}.config import ConfigError, parse, source_file
from {{ cookiecutter.module_name }}.errors import ProjectError

from .conftest import ROOT


def _raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_committed_params_are_valid(params, demo_frame):
    """params.yaml loads, and names columns of the tests' table (a sample of your configured data)."""
    named = [params.data.target{{ ", *params.data.sensitive_features" if cookiecutter.__fairness }}]
    assert set(named) <= set(demo_frame.columns)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("training", "max_epochs"), 0, r"training.max_epochs: Input should be greater than 0 \(got 0\)"),
        (("training", "accelerator"), "tpu", r"training.accelerator: .* \(got 'tpu'\)"),
        (("split", "test_size"), 1.5, "split.test_size"),
        (("gates", "performance"), {"min": {"auprc": 0.5}}, "gates.performance.min.auprc"),
        (("serving", "threshold"), 1.5, "serving.threshold"),
        (("training", "learning_rte"), 0.1, "training.learning_rte: Extra inputs are not permitted"),
{%- if cookiecutter.monitoring and cookiecutter.scale_out %}
        (("monitoring", "schedule"), "nightly", "monitoring.schedule: .*hourly, daily, weekly or a cron expression"),
        (("monitoring", "retrain_event"), "retrain now", r"monitoring.retrain_event: .*\[A-Za-z0-9_.-\]"),
{%- endif %}
    ],
)
def test_bad_values_are_named(path, value, message):
    raw = _raw()
    raw[path[0]][path[1]] = value
    with pytest.raises(ConfigError, match=message):
        parse(yaml.safe_dump(raw))
{%- if cookiecutter.__fairness %}


def test_target_cannot_be_sensitive():
    raw = _raw()
    raw["data"]["sensitive_features"] = [raw["data"]["target"]]
    with pytest.raises(ConfigError, match="cannot also be"):
        parse(yaml.safe_dump(raw))
{%- else %}


def test_target_cannot_be_a_feature():
    raw = _raw()
    raw["data"]["features"] = [raw["data"]["target"]]
    with pytest.raises(ConfigError, match="cannot also be"):
        parse(yaml.safe_dump(raw))
{%- endif %}


def test_a_column_is_either_numeric_or_categorical():
    raw = _raw()
    raw["data"].update(numeric=["a"], coerce_numeric=["b"], categorical=["a", "b"])
    with pytest.raises(ConfigError, match=r"\['a', 'b'\] cannot be both numeric"):
        parse(yaml.safe_dump(raw))


def test_not_a_mapping():
    with pytest.raises(ConfigError, match="mapping"):
        parse("- just a list")
{%- if cookiecutter.__fairness %}


def test_no_sensitive_feature_needs_fairness_turned_off_on_purpose():
    raw = _raw()
    raw["data"]["sensitive_features"] = []
    raw["gates"]["fairness"]["enabled"] = True
    with pytest.raises(ConfigError, match="data.sensitive_features is empty: name the sensitive columns"):
        parse(yaml.safe_dump(raw))
    raw["gates"]["fairness"]["enabled"] = False
    assert parse(yaml.safe_dump(raw))["gates"]["fairness"]["enabled"] is False
{%- endif %}

{%- if cookiecutter.mitigation %}


def test_mitigation_keeps_the_default_threshold():
    raw = _raw()
    raw["mitigation"]["method"] = "threshold_optimizer"
    raw["serving"] = {"threshold": 0.3}
    with pytest.raises(ConfigError, match="mitigation fits its own per-group thresholds"):
        parse(yaml.safe_dump(raw))
{%- endif %}


def test_errors_name_the_file_and_echo_a_short_value():
    raw = _raw()
    raw["data"]["drop"] = "x" * 500
    with pytest.raises(ConfigError) as err:
        parse(yaml.safe_dump(raw), "variant.yaml")
    message = str(err.value)
    assert message.startswith("invalid variant.yaml:\n  data.drop:") and "(got 'xxx" in message
    assert len(message) < 200 and isinstance(err.value, ProjectError)  # an expected failure: no traceback in the flow


def test_a_missing_section_is_not_echoed():
    raw = _raw()
    del raw["packaging"]
    with pytest.raises(ConfigError, match=r"packaging: Field required$"):
        parse(yaml.safe_dump(raw))


def test_broken_yaml_is_a_config_error():
    with pytest.raises(ConfigError, match=r"invalid other.yaml: not valid YAML: .* line 2"):
        parse("seed: 1\ndata: [unclosed\n", "other.yaml")


def test_a_key_given_twice_is_refused_with_its_line(params):
    text = yaml.safe_dump(params.model_dump()) + "seed: 7\n"  # YAML parsers keep the last one silently
    with pytest.raises(ConfigError, match=r"invalid other.yaml: not valid YAML: duplicate key 'seed' .* line \d+"):
        parse(text, "other.yaml")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["flow.py", "run"], "params.yaml"),
        (["flow.py", "--no-pylint", "--config", "config", "variant.yaml", "run"], "variant.yaml"),
        (["flow.py", "--config-value", "config", "{}", "run"], "--config-value config"),
        (["flow.py", "--config", "other", "x.yaml", "run"], "params.yaml"),
    ],
)
def test_the_config_file_is_read_from_the_command_line(argv, expected):
    assert source_file(argv) == expected

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.module_name }} import config
from {{ cookiecutter.module_name }}.logs import configure
from {{ cookiecutter.module_name }}.pipeline.demo_data import generate

configure()  # the package's log lines on stdout, as a flow's steps show them

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "examples" / "request.json").read_text())["records"]  # the shipped request

# Offline, telemetry-free defaults for every test (Metaflow refuses to run as an unknown user or as root).
for name, value in {
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
}.items():
    os.environ.setdefault(name, value)
if os.environ.get("USER", "root") == "root" and not os.environ.get("METAFLOW_USER"):
    os.environ["METAFLOW_USER"] = "tester"


@pytest.fixture(scope="session")
def params() -> config.Params:
    return config.load(ROOT / "params.yaml")


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory, params) -> Path:
    """The tests' table: a seeded sample of the configured data (params.yaml's data.path) when it is there, so the
    suite follows your own data and columns; otherwise (a fresh clone before `dvc pull`) demo data with the configured
    target{{ " and sensitive columns" if cookiecutter.__fairness else " column" }}."""
    from {{ cookiecutter.module_name }}.pipeline.data import read_table

    path = tmp_path_factory.mktemp("data") / "sample.csv"
    source = ROOT / params.data.path
    if source.is_file():
        table = read_table(source)
        table.sample(n=min(600, len(table)), random_state=7).to_csv(path, index=False)
        return path
    return generate(path, rows=600, target=params.data.target, sensitive={{ "params.data.sensitive_features" if cookiecutter.__fairness else "[]" }}, seed=7)


@pytest.fixture()
def demo_frame(demo_csv) -> pd.DataFrame:
    return pd.read_csv(demo_csv)

{%- if cookiecutter.task == "text_classification" %}


def tiny_model(csv: Path, out: Path) -> Path:
    """A tiny BERT + WordPiece tokenizer trained on the demo texts: `from_pretrained(dir)` with no hub access."""
    from {{ cookiecutter.module_name }}.pipeline.tiny_model import build

    return out if out.exists() else build(pd.read_csv(csv)["text"].tolist(), out)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, demo_csv) -> Path:
    return tiny_model(demo_csv, tmp_path_factory.mktemp("tiny") / "model")
{%- endif %}

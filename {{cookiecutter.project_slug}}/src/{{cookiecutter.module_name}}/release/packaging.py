"""Package a model that passed the gates: MLflow model + registry version, BentoML model labelled with both, Bento."""

import hashlib
import io
import shutil
import tempfile
from pathlib import Path

import yaml

from ..config import PROJECT_ROOT
from ..lineage import run_record
from ..lineage.tracking import client
from .artifact import CARD, Predictor, write_model_dir
from .promotion import blockers
from .serving import predictions_frame

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the whole package: the MLflow model carries it as code


def weights_sha256(weights: bytes) -> str:
    """A hash of the tensors themselves (names, shapes, values), stable across torch.save's container bytes."""
    import torch

    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def serving_requirements() -> list[str]:
    """The MLflow model's pip requirements: requirements-serve.txt, what loading and scoring import (MLflow adds its
    own pinned mlflow), not the training stack."""
    lines = (PROJECT_ROOT / "requirements-serve.txt").read_text().splitlines()
    return [r for r in (line.split("#")[0].strip() for line in lines) if r]


def log_and_register(run_id: str, name: str, model_dir: Path, example, requirements: list[str]) -> str:
    """Log the model to the MLflow run (signature + input example) and register it; return the registry version."""
    import mlflow
    from mlflow.models import infer_signature

    client()  # points mlflow at the project's tracking store
    with mlflow.start_run(run_id=run_id):
        output = predictions_frame(Predictor(model_dir).predict(example.to_dict("records")))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PACKAGE_DIR / "release" / "mlflow_model.py"),
            artifacts={"model_dir": str(model_dir)},
            code_paths=[str(PACKAGE_DIR)],
            signature=infer_signature(example, output),
            input_example=example,
            pip_requirements=requirements,
        )
    return mlflow.register_model(info.model_uri, name).version


def save_bentoml_model(name: str, model_dir: Path, labels: dict, metadata: dict) -> str:
    """Store the model directory in the BentoML store; return its tag."""
    import bentoml

    with bentoml.models.create(name, labels={k: str(v) for k, v in labels.items()}, metadata=metadata) as model:
        shutil.copytree(model_dir, model.path, dirs_exist_ok=True)
    return str(model.tag)


def build_bento(model_tag: str, project_dir: str | Path = ".", model_card: str = "") -> str:
    """Build the Bento described by bentofile.yaml, pinned to this model version, with the model card as its README.
    Through a copy of bentofile.yaml (labelled with the model), read by BentoML's own bentofile parser."""
    import bentoml

    spec = yaml.safe_load(Path(project_dir, "bentofile.yaml").read_text())
    spec["labels"] = spec.get("labels", {}) | {"model": model_tag}
    if model_card:
        spec["description"] = model_card
    with tempfile.TemporaryDirectory() as tmp:
        bentofile = Path(tmp, "bentofile.yaml")
        bentofile.write_text(yaml.safe_dump(spec, sort_keys=False))
        bento = bentoml.bentos.build_bentofile(
            str(bentofile), build_ctx=str(Path(project_dir).resolve()), args={"model_tag": model_tag}
        )
    return str(bento.tag)
{%- if cookiecutter.scale_out %}


def export_to_store(model_tag: str, bento_tag: str, store: str) -> dict[str, str]:
    """Copy the BentoML model and the Bento to the shared store (cloud profile): a step in a pod saves them in the
    pod's own BentoML store, gone with the pod. `bentoml import <url>` (or `bentoml.models.import_model`) brings them
    into any other store."""
    import bentoml

    model_url = f"{store}/models/{model_tag.replace(':', '-')}.bentomodel"
    bentoml.models.export_model(model_tag, model_url)
    urls = {"model_url": model_url}
    if bento_tag:
        urls["bento_url"] = f"{store}/bentos/{bento_tag.replace(':', '-')}.bento"
        bentoml.bentos.export_bento(bento_tag, urls["bento_url"])
    return urls
{%- endif %}


def gate_outcome(verdicts: list[dict]) -> str:
    """The registry version's `gates` tag: "passed" when every gate passed or is off by config; gates skipped with
    --skip-gates are named ("passed; skipped: champion"), so `cli promote` can refuse them."""
    failed = [v["gate"] for v in verdicts if v.get("failures")]
    if failed:
        return "failed: " + ", ".join(failed)
    skipped = [v["gate"] for v in verdicts if v.get("skipped")]
    return "passed" + (f"; skipped: {', '.join(skipped)}" if skipped else "")


def publish_model(
    name: str,
    weights: bytes,
    spec: dict,
    example,
    lineage: dict,
    metadata: dict,
    model_card: str,
    promote: bool,
    build: bool,
{%- if cookiecutter.mitigation %}
    extra: dict | None = None,
{%- endif %}
    gates: str = "passed",
{%- if cookiecutter.monitoring %}
    require_shadow: bool = False,
{%- endif %}
    data_pinned: bool = True,
) -> dict:
    """Register in MLflow, save to BentoML labelled with the whole lineage, build the Bento, record the BentoML tags on
    the registry version, and only then move the aliases, so a failure leaves both where they were. For a model that
    passed every gate (`gates`: the outcome, recorded for `cli promote`); `champion` only where `cli promote` would
{%- if cookiecutter.monitoring %}
    allow it (promotion.blockers: no gate skipped, `data_pinned`); else, and with `require_shadow` while there is a
    champion (until its shadow report passes and `cli promote` moves it), it is `candidate` only: `held` says why."""
{%- else %}
    allow it (promotion.blockers: no gate skipped, `data_pinned`); else it is `candidate` only: `held` says why."""
{%- endif %}
{%- if cookiecutter.scale_out %}
    from ..scale.cloud import bento_store
{% endif %}
    run_id = run_record.read_labels(lineage).run_id
    mlflow_client = client()
    with tempfile.TemporaryDirectory() as tmp:  # one model directory, for MLflow and for BentoML
{%- if cookiecutter.mitigation %}
        model_dir = write_model_dir(Path(tmp) / "model", weights, spec, model_card, extra or {})
{%- else %}
        model_dir = write_model_dir(Path(tmp) / "model", weights, spec, model_card)
{%- endif %}
        version = log_and_register(run_id, name, model_dir, example, serving_requirements())
        run_record.record_gates(name, version, gates)
        mlflow_client.log_text(run_id, model_card, CARD)
        labels = lineage | {run_record.LABEL_VERSION: version}
        model_tag = save_bentoml_model(name, model_dir, labels, metadata)
    bento_tag = build_bento(model_tag, PROJECT_ROOT, model_card) if build else ""
{%- if cookiecutter.scale_out %}
    urls = export_to_store(model_tag, bento_tag, bento_store()) if bento_store() else {}
    run_record.record_bentoml(run_id, name, version, model_tag, bento_tag, urls)  # what `cli serve` resolves to
{%- else %}
    run_record.record_bentoml(run_id, name, version, model_tag, bento_tag)  # what `cli serve` resolves to
{%- endif %}
    record = run_record.VersionRecord(name, version, gates=gates, bentoml_model=model_tag, bentoml_bento=bento_tag)
    held = blockers(record, run_record.RunRecord(data_pinned=data_pinned)) if promote else []
{%- if cookiecutter.monitoring %}
    champion = promote and not held and not (require_shadow and has_champion(name))
{%- else %}
    champion = promote and not held
{%- endif %}
    for alias in ("candidate", "champion") if champion else ("candidate",):  # last: the version is complete
        mlflow_client.set_registered_model_alias(name, alias, version)
    published = {"mlflow_model_version": version, "model_tag": model_tag, "bento_tag": bento_tag}
    return published | {"champion": champion, "held": held}
{%- if cookiecutter.monitoring %}


def has_champion(name: str) -> bool:
    from .champion import no_champion

    try:
        client().get_model_version_by_alias(name, "champion")
    except Exception as err:
        if no_champion(err):
            return False
        raise
    return True
{%- endif %}

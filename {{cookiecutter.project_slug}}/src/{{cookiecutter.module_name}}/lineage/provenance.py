"""Walk a served model back to what made it, each link verified by identity: Bento → BentoML model → the MLflow run id
in its labels → that run → the registry version registered from it (by run id, never by number: a number means
nothing in another registry) → Metaflow run → commit → data{{ " → snapshot" if cookiecutter.snapshots }}. A missing link ends the walk, named."""

from . import run_record
{%- if cookiecutter.snapshots %}
from .snapshots import snapshots_of
{%- endif %}
from .tracking import client, tracking_uri


def _latest_bento(name: str):
    import bentoml

    bentos = sorted(bentoml.bentos.list(name), key=lambda b: b.info.creation_time)
    if not bentos:
        raise LookupError(f"no Bento named {name!r} in the BentoML store: run `python flow.py run` first")
    return bentos[-1]


def chain(model_name: str, bento_name: str, bento: str = "", version: str = "") -> tuple[list[tuple[str, str]], str]:
    """(link, value) rows from a Bento (default: the latest) or from a registry version, verified so far, and the
    missing link ("" when the chain is whole)."""
    if version:
        try:
            found = run_record.read_version(client().get_model_version(model_name, version))
        except Exception as err:  # noqa: BLE001 - no such version here, or a store that cannot be read
            return [], f"{model_name} v{version}: not in the registry at {tracking_uri()} ({type(err).__name__})"
        return verify(model_name, run_record.ModelLabels(found.run_id, found.version))
    import bentoml

    found = bentoml.get(bento) if bento else _latest_bento(bento_name)
    model_tag = found.info.labels["model"]
    rows, broken = verify(model_name, run_record.read_labels(bentoml.models.get(model_tag).info.labels))
    return [("bento", str(found.tag)), ("bentoml model", model_tag), *rows], broken


def verify(model_name: str, labels: run_record.ModelLabels) -> tuple[list[tuple[str, str]], str]:
    """The chain from a BentoML model's labels on: its MLflow run, and the registry version registered from it."""
    if not labels.run_id:
        return [], "the BentoML model has no MLflow run label: it was not packaged by the flow"
    try:
        run = run_record.find(labels.run_id)
    except Exception as err:  # noqa: BLE001 - a server that is down (e.g. after `make down`) or refuses
        return [], f"the tracking store at {tracking_uri()} cannot be read ({type(err).__name__}: {str(err)[:200]})"
    if run is None or run.deleted:
        why = "it was deleted" if run else "it was recorded by another tracking server, or deleted for good"
        return [], f"mlflow run {labels.run_id}: not in the tracking store at {tracking_uri()} ({why})"
    if labels.data_md5 and labels.data_md5 != run.data_md5:
        return [], f"mlflow run {run.run_id} trained on data md5 {run.data_md5}, the model says {labels.data_md5}"
    versions = run_record.versions_of_run(model_name, run.run_id)
    if not versions:
        return [("mlflow run", f"{run.run_id} ({run.status})")], f"no {model_name} registry version is of that run"
    found = next((v for v in versions if v.version == labels.version), versions[-1])
    said = f"; the model's label says v{labels.version}" if labels.version not in ("", found.version) else ""
    pinned = "" if run.data_pinned else " (UNPINNED)"
    rows = [
        ("mlflow model version", f"{model_name} v{found.version} ({', '.join(found.aliases) or 'no alias'}{said})"),
        ("mlflow run", f"{run.run_id} ({run.status})"),
        ("metaflow run", run.pathspec),
        ("git commit", f"{run.commit}{' (dirty tree)' if run.dirty else ''}"),
        ("data", f"{run.data_path} md5 {run.data_md5} @ {run.data_rev}{pinned}"),
{%- if cookiecutter.snapshots %}
        ("snapshot", ", ".join(snapshots_of(run.run_id)) or "none (make snapshot TAG=...)"),
{%- endif %}
    ]
    return rows, ""

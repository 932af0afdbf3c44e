"""Walk a served model back to what made it: Bento → BentoML model → MLflow model version → MLflow run → Metaflow
run → git commit → data hashes → snapshot tag."""

from .snapshots import snapshots_of


def _latest_bento(name: str):
    import bentoml

    bentos = sorted(bentoml.bentos.list(name), key=lambda b: b.info.creation_time)
    if not bentos:
        raise LookupError(f"no Bento named {name!r} in the BentoML store: run `python flow.py run` first")
    return bentos[-1]


def chain(model_name: str, bento_name: str, bento: str = "", version: str = "") -> list[tuple[str, str]]:
    """(link, value) rows from a Bento (default: the latest) or from a registry version."""
    import bentoml

    from .tracking import client

    rows = []
    if not version:
        found = bentoml.get(bento) if bento else _latest_bento(bento_name)
        model_tag = found.info.labels["model"]
        labels = bentoml.models.get(model_tag).info.labels
        version = labels["mlflow_model_version"]
        rows += [("bento", str(found.tag)), ("bentoml model", model_tag)]
    mlflow_client = client()
    model_version = mlflow_client.get_model_version(model_name, version)
    aliases = ", ".join(model_version.aliases) or "no alias"
    run = mlflow_client.get_run(model_version.run_id)
    tags = run.data.tags
    commit = tags.get("git.commit", "")
    rows += [
        ("mlflow model version", f"{model_name} v{version} ({aliases})"),
        ("mlflow run", f"{run.info.run_id} ({run.info.status})"),
        ("metaflow run", tags.get("metaflow.pathspec", "")),
        ("git commit", f"{commit}{' (dirty tree)' if tags.get('git.dirty') == 'True' else ''}"),
        (
            "data",
            f"{tags.get('data.path')} md5 {tags.get('data.md5')} @ {tags.get('data.rev')}"
            f"{'' if tags.get('data.pinned') == 'True' else ' (UNPINNED)'}",
        ),
        ("snapshot", ", ".join(snapshots_of(run.info.run_id)) or "none (make snapshot TAG=...)"),
    ]
    return rows

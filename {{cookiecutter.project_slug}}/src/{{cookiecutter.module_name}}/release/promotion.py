"""The registry decides what serves: resolve `champion` / `candidate` (or a version number) to the BentoML model the
flow recorded on that registry version, and move `champion` by hand to a version that passed every gate.

The flow tags each registry version it publishes with `gates` (the gate outcome), `bentoml.model` and `bentoml.bento`
before it moves any alias, so an alias always points at a complete version.
"""

from ..errors import ProjectError

ALIASES = ("champion", "candidate")


class PromotionError(ProjectError, LookupError):
    """A model to serve or promote cannot be found, or may not be promoted."""

    headline = "Not promoted"


def missing_alias(alias: str) -> PromotionError:
    if alias == "champion":
        return PromotionError("no champion yet: run `python flow.py run` (a run that passes every gate promotes)")
    return PromotionError(f"no {alias} yet: run `python flow.py run` (a run that passes every gate becomes {alias})")


def label(version) -> str:
    return f"v{version}"


def bentoml_model(version: str, tags: dict) -> str:
    """The BentoML model tag recorded on a registry version, or why there is none."""
    tag = tags.get("bentoml.model", "")
    if not tag:
        raise PromotionError(
            f"{label(version)} has no BentoML model recorded (tag `bentoml.model`): it was registered outside the "
            "flow, or its run failed while packaging"
        )
    return tag


UNPINNED = "trained on data DVC does not pin (--allow-unpinned-data): later runs could not be judged against it"


def blockers(version: str, tags: dict, run_tags: dict) -> list[str]:
    """Why registry version `version` (its tags; its MLflow run's tags) may not become champion: empty when it passed
    every gate, on data DVC pins, and was fully packaged. The one rule for the flow's own promotion and for `promote`.
    Gates skipped with --skip-gates block it too; gates turned off in params.yaml do not (that is the configuration,
    said on purpose). Unpinned data blocks it because every later run is judged against the champion on test rows
    the champion never trained on, which are found by re-reading its training data through DVC."""
    found = []
    for key, outcome in sorted(run_tags.items()):  # gate.<gate> = passed | failed | skipped | off
        if key.count(".") == 1 and key.startswith("gate.") and outcome == "failed":
            gate = key.split(".", 1)[1]
            checks = [
                f"{gate}: {k.split('.failed.', 1)[1]} ({detail})"
                for k, detail in sorted(run_tags.items())
                if k.startswith(f"gate.{gate}.failed.")
            ]
            found += checks or [f"{gate}: gate failed"]
    outcome = tags.get("gates", "")
    if not outcome:
        found.append(f"{label(version)} has no gate record (tag `gates`): it was not published by the flow")
    elif outcome != "passed" and not found:
        found.append(f"gates {outcome}")
    if outcome and not tags.get("bentoml.model"):
        found.append("no BentoML model recorded (tag `bentoml.model`): its run failed while packaging")
    if run_tags.get("data.pinned") == "False":
        found.append(UNPINNED)
    return found


def resolve(name: str, model: str):
    """The registry version behind `model`: an alias (champion, candidate) or a version number."""
    from ..lineage.tracking import client
    from .champion import no_champion

    mlflow_client = client()
    try:
        if model.isdigit():
            return mlflow_client.get_model_version(name, model)
        return mlflow_client.get_model_version_by_alias(name, model)
    except Exception as err:
        if not no_champion(err):
            raise
        if model.isdigit():
            raise PromotionError(f"{name} has no registry version {model}") from None
        raise missing_alias(model) from None


def serving_tag(name: str, model: str = "champion") -> tuple[str, str]:
    """(BentoML model tag, registry version) that `model` (an alias or a version number) resolves to."""
    version = resolve(name, model)
    return bentoml_model(version.version, version.tags), str(version.version)
{%- if cookiecutter.monitoring %}


def shadow_blocker(version: str, tags: dict, champion: str) -> list[str]:
    """packaging.require_shadow: why `version` has no passing shadow report against the current `champion`."""
    outcome, against = tags.get("shadow", ""), tags.get("shadow.champion", "")
    if not outcome:
        return [f"no shadow report: serve it in shadow (make serve SHADOW={version}), then make shadow-report"]
    if against != champion:
        return [f"its shadow report was against v{against}, not the current champion v{champion}: run it again"]
    return [] if outcome == "passed" else [f"shadow report {outcome} (MLflow run {tags.get('shadow.mlflow_run_id')})"]


def promote(name: str, version: str, require_shadow: bool = False) -> str:
    """Move `champion` to `version` if it passed every gate (and, with `require_shadow`, a shadow report against the
    current champion); raise PromotionError naming each blocker otherwise."""
{%- else %}


def promote(name: str, version: str) -> str:
    """Move `champion` to `version` if it passed every gate; raise PromotionError naming each blocker otherwise."""
{%- endif %}
    from ..lineage.tracking import client

    if not str(version).isdigit():
        raise PromotionError(f"promote takes a registry version number, got {version!r}")
    target = resolve(name, str(version))
    run_tags = client().get_run(target.run_id).data.tags if target.run_id else {}
    try:
        champion = str(resolve(name, "champion").version)
    except PromotionError:
        champion = ""
    found = blockers(target.version, target.tags, run_tags)
{%- if cookiecutter.monitoring %}
    if require_shadow and champion and champion != str(target.version):
        found += shadow_blocker(str(target.version), target.tags, champion)
{%- endif %}
    if found:
        lines = "\n".join(f"  {line}" for line in found)
        raise PromotionError(f"{name} {label(target.version)} may not become champion:\n{lines}")
    before = label(champion) if champion else "none"
    if before == label(target.version):
        return f"{name} champion is {before} already"
    client().set_registered_model_alias(name, "champion", target.version)
    return f"{name} champion: {before} -> {label(target.version)} (serve it with `make serve`)"

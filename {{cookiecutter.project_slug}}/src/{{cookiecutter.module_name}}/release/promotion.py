"""The registry decides what serves: resolve `champion` / `candidate` (or a version number) to the BentoML model the
flow recorded on that registry version, and move `champion` by hand to a version that passed every gate."""

from ..errors import ProjectError
from ..lineage.run_record import BENTOML_MODEL, GATES, RunRecord, VersionRecord, find, read_version
from ..lineage.tracking import client


class PromotionError(ProjectError, LookupError):
    """A model to serve or promote cannot be found, or may not be promoted."""

    headline = "Not promoted"


def missing_alias(alias: str) -> PromotionError:
    does = "promotes" if alias == "champion" else f"becomes {alias}"
    return PromotionError(f"no {alias} yet: run `python flow.py run` (a run that passes every gate {does})")


def bentoml_model(version: VersionRecord) -> str:
    """The BentoML model tag recorded on a registry version, or why there is none."""
    if not version.bentoml_model:
        raise PromotionError(
            f"v{version.version} has no BentoML model recorded (tag `{BENTOML_MODEL}`): it was registered "
            "outside the flow, or its run failed while packaging"
        )
    return version.bentoml_model


UNPINNED = "trained on data DVC does not pin (--allow-unpinned-data): later runs could not be judged against it"


def blockers(version: VersionRecord, run: RunRecord) -> list[str]:
    """Why registry version `version` (trained by MLflow run `run`) may not become champion: empty when it passed
    every gate, on data DVC pins, and was fully packaged; the one rule for the flow and for `promote`. Gates skipped
    with --skip-gates block it; gates off in params.yaml do not (said on purpose)."""
    found = []
    for gate, outcome in sorted(run.gates.items()):
        if outcome == "failed":
            checks = [f"{gate}: {check} ({detail})" for check, detail in run.failed_checks(gate).items()]
            found += checks or [f"{gate}: gate failed"]
    outcome = version.gates
    if not outcome:
        found.append(f"v{version.version} has no gate record (tag `{GATES}`): it was not published by the flow")
    elif outcome != "passed" and not found:
        found.append(f"gates {outcome}")
    if outcome and not version.bentoml_model:
        found.append(f"no BentoML model recorded (tag `{BENTOML_MODEL}`): its run failed while packaging")
    if run.data_pinned is False:
        found.append(UNPINNED)
    return found


def resolve(name: str, model: str) -> VersionRecord:
    """The registry version behind `model`: an alias (champion, candidate) or a version number."""
    from .champion import no_champion

    try:
        if model.isdigit():
            return read_version(client().get_model_version(name, model))
        return read_version(client().get_model_version_by_alias(name, model))
    except Exception as err:
        if not no_champion(err):
            raise
        if model.isdigit():
            raise PromotionError(f"{name} has no registry version {model}") from None
        raise missing_alias(model) from None


def serving_tag(name: str, model: str = "champion") -> tuple[str, str]:
    """(BentoML model tag, registry version) that `model` (an alias or a version number) resolves to."""
    version = resolve(name, model)
    return bentoml_model(version), version.version
{%- if cookiecutter.monitoring %}


def shadow_blocker(version: VersionRecord, champion: str) -> list[str]:
    """packaging.require_shadow: why `version` has no passing shadow report against the current `champion`."""
    outcome, against = version.shadow, version.shadow_champion
    if not outcome:
        return [f"no shadow report: serve it in shadow (make serve SHADOW={version.version}), then make shadow-report"]
    if against != champion:
        return [f"its shadow report was against v{against}, not the current champion v{champion}: run it again"]
    return [] if outcome == "passed" else [f"shadow report {outcome} (MLflow run {version.shadow_run_id})"]


def promote(name: str, version: str, require_shadow: bool = False) -> str:
    """Move `champion` to `version` if it passed every gate (and, with `require_shadow`, a shadow report against the
    current champion); raise PromotionError naming each blocker otherwise."""
{%- else %}


def promote(name: str, version: str) -> str:
    """Move `champion` to `version` if it passed every gate; raise PromotionError naming each blocker otherwise."""
{%- endif %}
    if not str(version).isdigit():
        raise PromotionError(f"promote takes a registry version number, got {version!r}")
    target = resolve(name, str(version))
    run = (find(target.run_id) if target.run_id else None) or RunRecord()
    try:
        champion = resolve(name, "champion").version
    except PromotionError:
        champion = ""
    found = blockers(target, run)
{%- if cookiecutter.monitoring %}
    if require_shadow and champion and champion != target.version:
        found += shadow_blocker(target, champion)
{%- endif %}
    if found:
        lines = "\n".join(f"  {line}" for line in found)
        raise PromotionError(f"{name} v{target.version} may not become champion:\n{lines}")
    before = f"v{champion}" if champion else "none"
    if champion == target.version:
        return f"{name} champion is {before} already"
    client().set_registered_model_alias(name, "champion", target.version)
    restart = f"; a running `make serve` keeps serving {before} until restarted" if champion else ""
    return f"{name} champion: {before} -> v{target.version}{restart}"

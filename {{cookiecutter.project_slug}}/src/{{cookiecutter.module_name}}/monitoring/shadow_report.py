"""`make shadow-report [BATCH=labelled.csv]`: the challenger that ran in shadow, judged on the traffic the champion
answered (shadow.py) and, with a labelled batch, by the training flow's own gates on the batch's rows that neither
model trained on, against the champion on the same rows.

The outcome is an MLflow run in the experiment `<model name>-shadow` (every check, both models' {{ "value" if cookiecutter.task == "tabular_regression" else "score" }} distributions)
and a record on the challenger's registry version (run_record.record_shadow: the outcome, the champion version it was
judged against, the report's run), which `make promote` reads when packaging.require_shadow is on. A report against
an older champion does not count.
"""

import dataclasses
import json

import pandas as pd

from ..gates.verdict import Verdict


def predictor_of(tag: str):
    """The Predictor of a model in the BentoML store (its spec is read now; the network on first use)."""
    import bentoml

    from ..release.artifact import Predictor
    from ..release.promotion import PromotionError

    try:
        return Predictor(bentoml.models.get(tag).path)
    except bentoml.exceptions.NotFound:
        raise PromotionError(f"model {tag} is not in this machine's BentoML store (BENTOML_HOME)") from None


def fresh(name: str, rows: pd.DataFrame, versions: list[str]) -> pd.DataFrame:
    """`rows` less any row that the registry `versions` trained or validated on (their runs' lineage)."""
    from ..pipeline.trained_on import unseen_by

    for version in versions:
        rows = unseen_by(name, version, rows.reset_index(drop=True), f"v{version}").reset_index(drop=True)
    return rows


def labelled_verdicts(cfg, batch: str, models: dict[str, tuple[str, str]]) -> tuple[list[Verdict], int]:
    """The challenger's performance{{ " and fairness gates" if cookiecutter.__fairness else " gate" }}, and the champion gate, on the batch's labelled rows that
    neither model trained on; `models`: {"champion" | "challenger": (BentoML tag, registry version)}."""
    from ..gates.evidence import paired_difference
    from ..gates.judge import champion_gate
    from ..pipeline.evaluation import score
    from .performance import labelled, labelled_gates
    from .scoring import model_inputs
    from .window import MonitoringError, read_batch

    target, name = cfg.data.target, cfg.packaging.model_name
    given = labelled(read_batch(batch), target)
    rows = fresh(name, given, [version for _, version in models.values()])
    if rows.empty:
        raise MonitoringError(f"{batch}: no labelled row ({target}) that neither model trained on")
    judged = {}
    for who, (tag, _) in models.items():
        predictor = predictor_of(tag)
        judged[who] = labelled_gates(predictor, rows, sum(model_inputs(predictor), []), target, cfg)
    (verdicts, metrics, ours), (_, theirs, answers) = judged["challenger"], judged["champion"]
    left_out = len(given) - len(rows)
    note = f"compared on {len(rows)} rows of {batch} neither model trained on ({left_out} left out: one of them did)"
    difference = paired_difference(ours, answers, score, cfg.gates.primary_metric, cfg.gates, cfg.seed)
    champion = {"version": models["champion"][1], "metrics": theirs, "note": note, "rows": len(rows)}
    verdicts.append(champion_gate(metrics, champion | {"difference": difference}, cfg.gates))
    return [dataclasses.replace(v, gate=f"{v.gate} (labelled batch)") for v in verdicts], len(rows)


def report(cfg, challenger: str = "candidate", batch: str = "") -> tuple[bool, str]:
    """Judge `challenger` (an alias or a registry version) against the champion; (passed, the report as text)."""
    from ..lineage.run_record import record_shadow
    from ..lineage.tracking import finish, log, log_text, start_run
    from ..release.promotion import PromotionError, serving_tag
{%- if cookiecutter.task == "tabular_regression" %}
    from .shadow import mean_absolute_difference, score_summary, scored, shadow_gate, shadow_rows
{%- else %}
    from .shadow import agreement, score_summary, scored, shadow_gate, shadow_rows
{%- endif %}
    from .window import read_log

    name = cfg.packaging.model_name
    models = {"champion": serving_tag(name, "champion"), "challenger": serving_tag(name, challenger)}
    (champion_tag, champion_v), (challenger_tag, challenger_v) = models["champion"], models["challenger"]
    if champion_v == challenger_v:
        raise PromotionError(f"{challenger} is the champion (v{champion_v}): there is nothing to compare")
    rows = shadow_rows(read_log(cfg.monitoring.log_dir), champion_tag, challenger_tag)
    verdicts, labelled_rows = labelled_verdicts(cfg, batch, models) if batch else ([], 0)
{%- if cookiecutter.__fairness %}
    fairness_on_batch = any(v.gate.startswith("fairness") and v.judged for v in verdicts)
{%- if cookiecutter.task == "tabular_regression" %}
    verdicts.insert(0, shadow_gate(rows, cfg, labelled_fairness=fairness_on_batch))
{%- else %}
    classes = predictor_of(champion_tag).encoder.classes
    verdicts.insert(0, shadow_gate(rows, classes, cfg, labelled_fairness=fairness_on_batch))
{%- endif %}
{%- else %}
    verdicts.insert(0, shadow_gate(rows, cfg))
{%- endif %}
    passed = all(v.passed for v in verdicts)
    outcome = "passed" if passed else "failed: " + ", ".join(v.gate for v in verdicts if not v.passed)
    figures = {"records": len(rows), "records_scored": len(scored(rows)), "labelled_rows": labelled_rows}
{%- if cookiecutter.task == "tabular_regression" %}
    difference = mean_absolute_difference(rows)
    figures |= {"mean_absolute_difference": difference} if difference is not None else {}
{%- else %}
    figures |= {"agreement": agree} if (agree := agreement(rows)) is not None else {}
{%- endif %}
    figures |= score_summary(rows)
    head = (
        f"shadow report: challenger v{challenger_v} ({challenger_tag}) against champion v{champion_v} "
        f"({champion_tag}) on {len(rows)} logged records"
        + (f" and {labelled_rows} labelled rows of {batch} neither trained on" if batch else "")
    )
    text = "\n".join([head, *(v.summary() for v in verdicts), f"shadow report: {outcome}"])
    run_id = start_run(f"{name}-shadow", f"v{challenger_v} vs v{champion_v}", {"shadow.outcome": outcome})
    log(run_id, metrics=figures, tags={"champion.version": champion_v, "challenger.version": challenger_v})
    log_text(run_id, json.dumps([v.as_dict() for v in verdicts], indent=1, default=str), "shadow/verdicts.json")
    log_text(run_id, text, "shadow/report.txt")
    finish(run_id)
    record_shadow(name, challenger_v, outcome, champion_v, run_id)
    return passed, f"{text}\nMLflow run {run_id} (experiment {name}-shadow)"

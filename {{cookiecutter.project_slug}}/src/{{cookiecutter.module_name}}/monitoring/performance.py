{% if cookiecutter.__fairness -%}
"""Labelled rows (a batch whose target column is filled in): the model's performance and fairness on them, judged by
the training flow's own gates (judge.performance_gate, fairness.fairness_gate) and thresholds from params.yaml.
{%- else -%}
"""Labelled rows (a batch whose target column is filled in): the model's performance on them, judged by the training
flow's own performance gate (judge.performance_gate) and thresholds from params.yaml.
{%- endif %}

A gate that fails is `degraded`: the model no longer does on new data what it was released for. Each gate check is
reported as it was judged (ok, degraded, not judged) and the gate's own verdict beside it, so a strict gate with a
metric it could not compute is degraded, as it would have blocked the release.
"""

import pandas as pd

from ..gates.verdict import Verdict
{%- if cookiecutter.task != "tabular_regression" %}
from ..pipeline.data import encode_labels
{%- endif %}
from .checks import DriftCheck
from .window import MonitoringError

STATES = {"passed": "ok", "failed": "degraded", "not judged": "not_judged"}


def labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows whose label is known (an empty frame when the batch has no target column)."""
    if target not in frame:
        return frame.iloc[0:0]
    return frame[frame[target].notna()].reset_index(drop=True)


{% if cookiecutter.task == "tabular_regression" -%}
def true_values(values: pd.Series):
    """The target's values as numbers (float64); a value that is not a number stops the monitor, naming it."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        raise MonitoringError(f"target value {values[numbers.isna()].iloc[0]!r} is not a number")
    return numbers.to_numpy(dtype="float64")


def labelled_gates(
    predictor, rows: pd.DataFrame, inputs: list[str], target: str, cfg
) -> tuple[list[Verdict], dict[str, float], dict]:
{%- if cookiecutter.__fairness %}
    """The performance gate (and the fairness gate, when on) over `rows`, scored by `predictor` on its `inputs`: the
    verdicts, the metrics (rmse, mae, mean_error, r2, in the target's units but r2; with intervals) and the answers
    they score (evaluation.score). `cfg`: the project's Params
    (gates, data.sensitive_features)."""
    from ..gates.evidence import scored
    from ..gates.fairness import fairness_gate, group_tables
{%- else %}
    """The performance gate over `rows`, scored by `predictor` on its `inputs`: the verdicts, the metrics (rmse, mae,
    mean_error, r2, in the target's units but r2; with intervals) and the answers they score (evaluation.score).
    `cfg`: the project's Params (gates)."""
    from ..gates.evidence import scored
{%- endif %}
    from ..gates.judge import performance_gate
    from ..pipeline.evaluation import score

    y_true = true_values(rows[target])
    y_pred = predictor.predict_values(rows[inputs])
    answers = {"y_true": y_true, "y_pred": y_pred}
    metrics = scored(answers, score, cfg.gates, cfg.seed)
    verdicts = [performance_gate(metrics, cfg.gates.performance, cfg.gates)]
{%- if cookiecutter.__fairness %}
    fairness, sensitive = cfg.gates.fairness, cfg.data.sensitive_features
    if fairness.enabled and all(c in rows for c in sensitive):
        tables = group_tables(y_true, y_pred, rows[sensitive], fairness.intersections, cfg.gates)
        verdicts.append(fairness_gate(tables, fairness, cfg.gates.primary_metric, cfg.gates))
    elif fairness.enabled:  # not judged, said so (a warning), rather than silently absent
        missing = [c for c in sensitive if c not in rows]
        verdicts.append(Verdict("fairness", [], [f"not judged: the rows lack the sensitive features {missing}"]))
{%- endif %}
    return verdicts, metrics, answers
{%- else -%}
def true_labels(classes: list, values: pd.Series):
    """Class ids of the labels; a label the model has no class for stops the monitor, naming it."""
    try:
        return encode_labels(classes, values)
    except KeyError as err:
        raise MonitoringError(f"label {err.args[0]!r} is not one of the model's classes {classes}") from None


def labelled_gates(
    predictor, rows: pd.DataFrame, inputs: list[str], target: str, cfg
) -> tuple[list[Verdict], dict[str, float], dict]:
{%- if cookiecutter.__fairness %}
    """The performance gate (and the fairness gate, when on) over `rows`, scored by `predictor` on its `inputs`: the
    verdicts, the metrics (with intervals) and the answers they score (evaluation.score). `cfg`: the project's
    Params (gates, data.sensitive_features)."""
    from ..gates.evidence import scored
    from ..gates.fairness import fairness_gate, group_tables
{%- else %}
    """The performance gate over `rows`, scored by `predictor` on its `inputs`: the verdicts, the metrics (with
    intervals) and the answers they score (evaluation.score). `cfg`: the project's Params (gates)."""
    from ..gates.evidence import scored
{%- endif %}
    from ..gates.judge import performance_gate
    from ..pipeline.evaluation import score

    classes, gates = predictor.encoder.classes, cfg.gates
    y_true = true_labels(classes, rows[target])
    y_pred, proba = predictor.decide(rows[inputs])
    answers = {"y_true": y_true, "y_pred": y_pred, "proba": proba}
    metrics = scored(answers, score, gates, cfg.seed)
    verdicts = [performance_gate(metrics, gates.performance, gates)]
{%- if cookiecutter.__fairness %}
    fairness, sensitive = gates.fairness, cfg.data.sensitive_features
    if fairness.enabled and all(c in rows for c in sensitive):
        primary = gates.primary_metric
        tables = group_tables(y_true, y_pred, proba, rows[sensitive], primary, fairness.intersections, classes, gates)
        verdicts.append(fairness_gate(tables, fairness, primary, rule=gates))
    elif fairness.enabled:  # not judged, said so (a warning), rather than silently absent
        missing = [c for c in sensitive if c not in rows]
        verdicts.append(Verdict("fairness", [], [f"not judged: the rows lack the sensitive features {missing}"]))
{%- endif %}
    return verdicts, metrics, answers
{%- endif %}


def gate_status(verdict: Verdict) -> str:
    """degraded: the gate would block a release; not judged: it judged nothing; else ok."""
    if verdict.failures:
        return "degraded"
    return "not_judged" if not verdict.judged and (verdict.checks or verdict.notes) else "ok"


def as_checks(verdicts: list[Verdict], rows: int) -> list[DriftCheck]:
    """Monitoring checks: one per gate check, as it was judged, then the gate's own verdict."""
    found = []
    for verdict in verdicts:
        for c in verdict.checks:
            value, detail = (c.value, "") if c.judged else (None, c.reason or c.describe())
            found.append(
                DriftCheck(
                    f"{verdict.gate}.{c.name}",
                    verdict.gate,
                    "",
                    "gate",
                    value,
                    f"{c.op} {c.threshold}",
                    STATES[c.state],
                    detail,
                )
            )
        detail = "; ".join(verdict.failures or verdict.notes)
        found.append(
            DriftCheck(
                f"{verdict.gate}.gate",
                verdict.gate,
                "",
                "gate",
                None,
                f"{rows} labelled rows",
                gate_status(verdict),
                detail,
            )
        )
    return found


def failed_gates(checks: list[DriftCheck]) -> list[str]:
    """One line per gate that failed on the labelled rows, with every failed check (value, bound, margin)."""
    return [f"{c.kind}: {c.detail}" for c in checks if c.name.endswith(".gate") and c.status == "degraded"]

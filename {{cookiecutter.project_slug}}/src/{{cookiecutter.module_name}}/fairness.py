"""Fairness by group (fairlearn MetricFrame) for each sensitive feature, and the gate's checks on those groups.

Positive class = the last class (for binary targets, the "1" / "yes" side): selection rate is P(predicted positive).
"""

import numpy as np
import pandas as pd

from .config import FairnessGate
from .gates import LOWER_IS_BETTER, Check, Verdict

GROUP_METRICS = ["count", "accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"]
CONFUSION = ["true_negatives", "false_positives", "false_negatives", "true_positives"]


def _primary(name: str):
    """A metric of (y_true, y_pred, scores=...) so MetricFrame can split the scores by group."""
    from sklearn import metrics

    def score(y_true, y_pred, scores):
        if name in {"roc_auc", "log_loss"} and len(np.unique(y_true)) < 2:
            return float("nan")  # undefined on a group with one class
        if name == "roc_auc":
            return metrics.roc_auc_score(y_true, scores)
        if name == "log_loss":
            return metrics.log_loss(y_true, np.clip(scores, 1e-7, 1 - 1e-7), labels=[0, 1])
        return getattr(metrics, f"{name}_score")(y_true, y_pred)

    return score


def group_table(y_true, y_pred, scores, groups: pd.Series | pd.DataFrame, primary: str) -> pd.DataFrame:
    """One row per group: size, accuracy, selection rate, TPR, FPR, the primary metric, and the confusion matrix."""
    from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    def cell(t, p):
        return lambda y, yhat: int(((np.asarray(y) == t) & (np.asarray(yhat) == p)).sum())

    metrics = {
        "count": count,
        "accuracy": accuracy_score,
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
    }
    metrics |= {f"primary:{primary}": _primary(primary)}
    metrics |= dict(zip(CONFUSION, (cell(0, 0), cell(0, 1), cell(1, 0), cell(1, 1)), strict=True))
    frame = MetricFrame(
        metrics=metrics,
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        sensitive_features=groups,
        sample_params={f"primary:{primary}": {"scores": np.asarray(scores)}},
    )
    table = frame.by_group.rename(columns={f"primary:{primary}": primary})
    table["count"] = table["count"].astype(int)
    return table


def group_tables(y_true, y_pred, scores, sensitive: pd.DataFrame, primary: str, intersections: bool):
    """{feature (or "a × b" intersection): group table}."""
    tables = {col: group_table(y_true, y_pred, scores, sensitive[col].astype(str), primary) for col in sensitive}
    if intersections and sensitive.shape[1] > 1:
        tables[" × ".join(sensitive.columns)] = group_table(y_true, y_pred, scores, sensitive.astype(str), primary)
    return tables


def fairness_gate(
    tables: dict[str, pd.DataFrame], cfg: FairnessGate, primary: str, before: dict | None = None
) -> Verdict:
    """Checks per feature on the groups large enough to judge; smaller groups are reported, and fail if configured.
    `before`: the tables of the network's own decisions when mitigated, shown as notes beside the verdict."""
    checks, notes = [], []
    if before is not None:
        notes += [f"before mitigation: {c.describe()}" for c in fairness_gate(before, cfg, primary).checks]
    for feature, table in tables.items():
        judged = table[table["count"] >= cfg.min_group_size]
        small = table[table["count"] < cfg.min_group_size]
        for group, size in small["count"].items():
            label = f"group size [{feature} = {group}]"
            if cfg.small_group_action == "fail":
                checks.append(Check(label, float(size), float(cfg.min_group_size), ">="))
            else:
                notes.append(f"{label} is {size} (< {cfg.min_group_size}): reported, too small to judge")
        if len(judged) >= 2:
            rates = judged["selection_rate"]
            if cfg.max_demographic_parity_difference is not None:
                value = float(rates.max() - rates.min())
                checks.append(
                    Check(
                        f"demographic parity difference [{feature}]", value, cfg.max_demographic_parity_difference, "<="
                    )
                )
            if cfg.min_demographic_parity_ratio is not None:
                value = float(rates.min() / rates.max()) if rates.max() > 0 else 1.0
                checks.append(
                    Check(f"demographic parity ratio [{feature}]", value, cfg.min_demographic_parity_ratio, ">=")
                )
            if cfg.max_equalized_odds_difference is not None:
                spread = (
                    judged[["true_positive_rate", "false_positive_rate"]].max()
                    - judged[["true_positive_rate", "false_positive_rate"]].min()
                )
                checks.append(
                    Check(
                        f"equalized odds difference [{feature}]",
                        float(spread.max()),
                        cfg.max_equalized_odds_difference,
                        "<=",
                    )
                )
        elif cfg.max_demographic_parity_difference or cfg.max_equalized_odds_difference:
            notes.append(f"[{feature}] has fewer than 2 groups of >= {cfg.min_group_size} rows: differences not judged")
        if cfg.min_group_primary is not None and len(judged):
            if primary in LOWER_IS_BETTER:
                worst, label, op = judged[primary].max(skipna=False), "highest", "<="
            else:  # skipna=False: a group where the metric is undefined makes the check fail, not vanish
                worst, label, op = judged[primary].min(skipna=False), "lowest", ">="
            checks.append(Check(f"{label} group {primary} [{feature}]", float(worst), cfg.min_group_primary, op))
    return Verdict("fairness", checks, notes)

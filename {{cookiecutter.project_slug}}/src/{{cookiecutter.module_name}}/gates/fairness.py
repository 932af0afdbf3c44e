"""Fairness by group (fairlearn MetricFrame) for each sensitive feature, and the gate's checks on those groups.

Binary targets are judged on the positive class (`data.positive_label`, the last class): selection rate is
P(predicted positive). Multi-class targets are judged one class against the rest, for each class.
"""

import numpy as np
import pandas as pd

from ..config import FairnessGate
from .verdict import LOWER_IS_BETTER, Check, Verdict

CHART_METRICS = ["selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"]  # gate report charts
CONFUSION = ["true_negatives", "false_positives", "false_negatives", "true_positives"]
RATES = {"selection_rate": "count", "true_positive_rate": "positives", "false_positive_rate": "negatives"}
CLASS_SEP = " | class "


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


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """95% Wilson score interval of a rate (scipy): how sure a group's figure is; NaN for an empty group."""
    from scipy.stats import binomtest

    if trials == 0:
        return float("nan"), float("nan")
    interval = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


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
    for column in ["count", *CONFUSION]:
        table[column] = table[column].astype(int)
    table.insert(1, "positives", table["true_positives"] + table["false_negatives"])
    table.insert(2, "negatives", table["true_negatives"] + table["false_positives"])
    for rate, base in RATES.items():  # each rate's interval, from the rows it rests on
        hits = (table[rate] * table[base]).round().astype(int)
        bounds = [wilson(k, n) for k, n in zip(hits, table[base], strict=True)]
        table[f"{rate}_low"], table[f"{rate}_high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    return table


def group_tables(
    y_true, y_pred, proba, sensitive: pd.DataFrame, primary: str, intersections: bool, classes: list, gates=None
):
    """{feature (or "a × b" intersection): group table}; for a multi-class target, one table per feature and class
    ("feature | class c"), that class against the rest. `proba`: class probabilities, columns in `classes` order.
    With `gates` (GatesConfig), each table carries the intervals of the figures its checks judge (`attrs`)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(classes) == 2:
        views = {"": (y_true, y_pred, proba[:, 1])}
    else:
        views = {f"{CLASS_SEP}{c}": (y_true == i, y_pred == i, proba[:, i]) for i, c in enumerate(classes)}
    groupings = {col: sensitive[col].astype(str) for col in sensitive}
    if intersections and sensitive.shape[1] > 1:
        groupings[" × ".join(sensitive.columns)] = sensitive.astype(str)
    tables = {}
    for suffix, (yt, yp, scores) in views.items():
        for feature, groups in groupings.items():
            table = tables[feature + suffix] = group_table(yt.astype(int), yp.astype(int), scores, groups, primary)
            if gates is not None:
                table.attrs["intervals"] = _intervals(yt.astype(int), yp.astype(int), scores, groups, table, gates)
    return tables


def _judged_groups(table: pd.DataFrame, cfg: FairnessGate) -> tuple[pd.DataFrame, pd.Index, pd.Index]:
    """The groups each check judges: those of `min_group_size` rows, and of them those with enough positives (true
    positive rates) and negatives (false positive rates)."""
    sized = table[table["count"] >= cfg.min_group_size]
    positives = sized.index[sized["positives"] >= cfg.min_group_positives]
    return sized, positives, sized.index[sized["negatives"] >= cfg.min_group_negatives]


def _intervals(y_true, y_pred, scores, groups, table: pd.DataFrame, gates) -> dict[str, tuple[float, float]]:
    """The bootstrap intervals (evidence.bootstrap, the same rows resampled for every group) of the figures the
    checks judge, over the groups they judge."""
    from .evidence import bootstrap

    cfg = gates.fairness
    sized, positives, negatives = _judged_groups(table, cfg)
    keys = pd.MultiIndex.from_frame(groups) if isinstance(groups, pd.DataFrame) else pd.Index(groups)
    where = table.index.get_indexer(keys)  # each row's group, as a position in the table
    judged = {"sized": sized.index, "positives": positives, "negatives": negatives}
    chosen = {name: table.index.get_indexer(index) for name, index in judged.items()}
    metric = _primary(primary := gates.primary_metric)

    def rates(rows, among) -> np.ndarray:
        counts = np.bincount(where[rows][among], minlength=len(table))
        hits = np.bincount(where[rows][among], weights=y_pred[rows][among], minlength=len(table))
        return np.divide(hits, counts, out=np.full(len(table), np.nan), where=counts > 0)

    def figures(rows) -> dict[str, float]:
        every, yt, yp = np.ones(len(rows), bool), y_true[rows], y_pred[rows]
        selection = rates(rows, every)[chosen["sized"]]
        tpr, fpr = rates(rows, yt == 1)[chosen["positives"]], rates(rows, yt == 0)[chosen["negatives"]]
        spreads = [x for x in (_nan_spread(tpr), _nan_spread(fpr)) if not np.isnan(x)]
        top = np.nanmax(selection)
        found = {
            "demographic parity difference": _nan_spread(selection),
            "demographic parity ratio": np.nanmin(selection) / top if top > 0 else 1.0,
            "equalized odds difference": max(spreads) if spreads else np.nan,
        }
        if cfg.min_group_primary is not None:
            masks = [m for g in chosen["sized"] if (m := where[rows] == g).any()]
            values = [metric(yt[m], yp[m], scores[rows][m]) for m in masks]
            worst = np.nanmax if primary in LOWER_IS_BETTER else np.nanmin
            found["group primary"] = worst(values) if values else np.nan
        return found

    return bootstrap(figures, len(y_true), gates, seed=0) if len(sized) >= 2 else {}


def _nan_spread(values: np.ndarray) -> float:
    """Highest minus lowest of the groups present in a resample; NaN with fewer than two."""
    present = values[~np.isnan(values)]
    return float(present.max() - present.min()) if len(present) >= 2 else np.nan


def class_of(table_name: str) -> str | None:
    """The class a multi-class table judges ("sex | class b" -> "b"); None for a binary target's table."""
    return table_name.split(CLASS_SEP, 1)[1] if CLASS_SEP in table_name else None


def spread(values: pd.Series) -> float | None:
    """Highest minus lowest; None (not judged) with fewer than two groups to compare."""
    return float(values.max() - values.min()) if len(values) >= 2 else None


{% if cookiecutter.mitigation -%}
def fairness_gate(
    tables: dict[str, pd.DataFrame], cfg: FairnessGate, primary: str, before: dict | None = None, rule=None
) -> Verdict:
{%- else -%}
def fairness_gate(tables: dict[str, pd.DataFrame], cfg: FairnessGate, primary: str, rule=None) -> Verdict:
{%- endif %}
    """Checks per table on the groups large enough to judge: selection rates on groups of `min_group_size` rows,
    true positive rates on groups with `min_group_positives` positives, false positive rates on groups with
    `min_group_negatives` negatives. A check with too few such groups is "not judged", never passed. `rule`
    (GatesConfig): decide on the tables' intervals (group_tables with `gates`); None: on the point values.
{%- if cookiecutter.mitigation %}
    `before`: the tables of the network's own decisions when mitigated, shown as notes beside the verdict.
{%- endif %}"""
    if not cfg.enabled:
        return Verdict("fairness", [], ["not assessed: gates.fairness.enabled is false"], disabled=True)
    checks, notes = [], []
{%- if cookiecutter.mitigation %}
    if before is not None:
        notes += [f"before mitigation: {c.describe()}" for c in fairness_gate(before, cfg, primary, rule=rule).checks]
{%- endif %}
    for name, table in tables.items():
        if cfg.classes is not None and class_of(name) not in {str(c) for c in cfg.classes}:
            notes.append(f"[{name}] reported, not judged (not in gates.fairness.classes)")
            continue
        found, more = _table_checks(name, table, cfg, primary, rule)
        checks += found
        notes += more
    undecided = rule is None or rule.undecided == "fail"
    return Verdict(
        "fairness", checks, notes, strict=False, require_judgement=cfg.require_judgement, fail_undecided=undecided
    )


def _table_checks(name: str, table: pd.DataFrame, cfg: FairnessGate, primary: str, rule) -> tuple[list, list[str]]:
    checks, notes = _small_groups(name, table, cfg)
    sized, _, _ = _judged_groups(table, cfg)
    rates, too_few = sized["selection_rate"], f"fewer than 2 groups with >= {cfg.min_group_size} rows"
    intervals, by_interval = table.attrs.get("intervals", {}), rule is not None and rule.decide_on == "interval"

    def check(label: str, value, bound, op: str, reason: str, key: str) -> Check:
        low, high = intervals.get(key, (None, None))
        rows = int(sized["count"].sum())
        return Check(f"{label} [{name}]", value, bound, op, reason, low, high, rows, by_interval)

    if (bound := cfg.max_demographic_parity_difference) is not None:
        key = "demographic parity difference"
        checks.append(check(key, spread(rates), bound, "<=", too_few, key))
    if (bound := cfg.min_demographic_parity_ratio) is not None:
        ratio = (float(rates.min() / rates.max()) if rates.max() > 0 else 1.0) if len(rates) >= 2 else None
        checks.append(check("demographic parity ratio", ratio, bound, ">=", too_few, "demographic parity ratio"))
    if (bound := cfg.max_equalized_odds_difference) is not None:
        value, more = _equalized_odds(name, sized, cfg)
        least = f"{cfg.min_group_positives} positives or {cfg.min_group_negatives} negatives"
        key = "equalized odds difference"
        checks.append(check(key, value, bound, "<=", f"fewer than 2 groups with >= {least}", key))
        notes += more
    if (bound := cfg.min_group_primary) is not None:
        defined = sized[primary].dropna()  # undefined on a group with one class: shown, not judged
        if undefined := [str(g) for g in sized.index if g not in defined.index]:
            notes.append(f"[{name}] {primary} undefined (one class) for groups {undefined}")
        lower = primary in LOWER_IS_BETTER
        worst = (defined.max() if lower else defined.min()) if len(defined) else None
        reason = f"no group with >= {cfg.min_group_size} rows of both classes"
        label, op = ("highest", "<=") if lower else ("lowest", ">=")
        checks.append(check(f"{label} group {primary}", worst, bound, op, reason, "group primary"))
    return checks, notes


def _small_groups(name: str, table: pd.DataFrame, cfg: FairnessGate) -> tuple[list[Check], list[str]]:
    """Groups under `min_group_size` rows: reported in a note, or a failed check with `small_group_action: fail`."""
    checks, notes = [], []
    for group, size in table.loc[table["count"] < cfg.min_group_size, "count"].items():
        label = f"group size [{name} = {group}]"
        if cfg.small_group_action == "fail":
            checks.append(Check(label, float(size), float(cfg.min_group_size), ">="))
        else:
            notes.append(f"{label} is {size} (< {cfg.min_group_size}): reported, too small to judge")
    return checks, notes


def _equalized_odds(name: str, sized: pd.DataFrame, cfg: FairnessGate) -> tuple[float | None, list[str]]:
    """The larger spread of TPR (over groups with enough positives) and FPR (over groups with enough negatives): a
    rate resting on a handful of cases must not decide the verdict. Groups left out are named with their counts."""
    notes, spreads = [], []
    for rate, base, least in (
        ("true_positive_rate", "positives", cfg.min_group_positives),
        ("false_positive_rate", "negatives", cfg.min_group_negatives),
    ):
        enough = sized[base] >= least
        if dropped := {str(g): int(n) for g, n in sized.loc[~enough, base].items()}:
            notes.append(f"[{name}] {rate} not judged for groups with < {least} {base}: {dropped}")
        if (value := spread(sized.loc[enough, rate])) is not None:
            spreads.append(value)
    return (max(spreads) if spreads else None), notes

"""Fairness by group for a regression (fairlearn MetricFrame) for each sensitive feature, and the gate's checks on
those groups: does the model err more, or lean another way, for one group than for another?

Per group: rows, mean absolute error (with its 95% t-interval), root mean squared error and mean error (prediction
minus truth: above 0 the group is over-predicted, below under-predicted).
"""

import numpy as np
import pandas as pd

from ..config import FairnessGate
from .verdict import Check, Verdict

CHART_METRICS = ["mae", "rmse", "mean_error"]


def _mean_error(y_true, y_pred) -> float:
    return float(np.mean(y_pred - y_true))


def mae_interval(y_true, y_pred) -> tuple[float, float]:
    """95% t-interval of the mean absolute error (scipy); NaN with fewer than two rows."""
    from scipy import stats

    errors = np.abs(y_pred - y_true)
    if len(errors) < 2:
        return float("nan"), float("nan")
    if np.all(errors == errors[0]):  # no spread: the interval is the value itself
        return float(errors[0]), float(errors[0])
    low, high = stats.t.interval(0.95, len(errors) - 1, loc=errors.mean(), scale=stats.sem(errors))
    return float(low), float(high)


def group_table(y_true, y_pred, groups: pd.Series | pd.DataFrame) -> pd.DataFrame:
    """One row per group: size, MAE with its 95% interval, RMSE and mean error."""
    from fairlearn.metrics import MetricFrame, count
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    metrics = {
        "count": count,
        "mae": mean_absolute_error,
        "mae_low": lambda t, p: mae_interval(t, p)[0],
        "mae_high": lambda t, p: mae_interval(t, p)[1],
        "rmse": root_mean_squared_error,
        "mean_error": _mean_error,
    }
    y_true, y_pred = np.asarray(y_true, dtype="float64"), np.asarray(y_pred, dtype="float64")
    table = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=groups).by_group
    table["count"] = table["count"].astype(int)
    return table


def group_tables(y_true, y_pred, sensitive: pd.DataFrame, intersections: bool, gates=None) -> dict[str, pd.DataFrame]:
    """{feature (or "a × b" intersection): group table}. With `gates` (GatesConfig), each table carries the intervals
    of the figures its checks judge (`attrs`)."""
    groupings = {col: sensitive[col].astype(str) for col in sensitive}
    if intersections and sensitive.shape[1] > 1:
        groupings[" × ".join(sensitive.columns)] = sensitive.astype(str)
    tables = {}
    for feature, groups in groupings.items():
        table = tables[feature] = group_table(y_true, y_pred, groups)
        if gates is not None:
            table.attrs["intervals"] = _intervals(y_true, y_pred, groups, table, gates)
    return tables


def _intervals(y_true, y_pred, groups, table: pd.DataFrame, gates) -> dict[str, tuple[float, float]]:
    """Bootstrap intervals (evidence.bootstrap, the same rows resampled for every group) of the MAE ratio and the
    mean error difference over the groups the checks judge."""
    from .evidence import bootstrap

    keys = pd.MultiIndex.from_frame(groups) if isinstance(groups, pd.DataFrame) else pd.Index(groups)
    where = table.index.get_indexer(keys)  # each row's group, as a position in the table
    judged = table.index.get_indexer(table.index[table["count"] >= gates.fairness.min_group_size])
    error = np.asarray(y_pred, dtype="float64") - np.asarray(y_true, dtype="float64")

    def figures(rows) -> dict[str, float]:
        counts = np.bincount(where[rows], minlength=len(table))[judged]
        present = counts > 0
        mae = np.bincount(where[rows], np.abs(error[rows]), len(table))[judged][present] / counts[present]
        mean = np.bincount(where[rows], error[rows], len(table))[judged][present] / counts[present]
        enough = present.sum() >= 2
        return {
            "mae ratio": (mae.max() / mae.min() if mae.min() > 0 else np.inf) if enough else np.nan,
            "mean error difference": mean.max() - mean.min() if enough else np.nan,
        }

    return bootstrap(figures, len(error), gates, seed=0) if len(judged) >= 2 else {}


def spread(values: pd.Series) -> float | None:
    """Highest minus lowest; None (not judged) with fewer than two groups to compare."""
    return float(values.max() - values.min()) if len(values) >= 2 else None


def fairness_gate(tables: dict[str, pd.DataFrame], cfg: FairnessGate, primary: str, rule=None) -> Verdict:
    """Checks per table on the groups of at least `min_group_size` rows: the ratio of the largest to the smallest
    group MAE, and the spread of the groups' mean errors. A check with too few such groups is "not judged", never
    passed. `rule` (GatesConfig): decide on the tables' intervals (group_tables with `gates`); None: on the point
    values."""
    if not cfg.enabled:
        return Verdict("fairness", [], ["not assessed: gates.fairness.enabled is false"], disabled=True)
    checks, notes = [], []
    for name, table in tables.items():
        for group, size in table.loc[table["count"] < cfg.min_group_size, "count"].items():
            label = f"group size [{name} = {group}]"
            if cfg.small_group_action == "fail":
                checks.append(Check(label, float(size), float(cfg.min_group_size), ">="))
            else:
                notes.append(f"{label} is {size} (< {cfg.min_group_size}): reported, too small to judge")
        sized = table[table["count"] >= cfg.min_group_size]
        too_few = f"fewer than 2 groups with >= {cfg.min_group_size} rows"
        intervals, rows = table.attrs.get("intervals", {}), int(sized["count"].sum())
        by_interval = rule is not None and rule.decide_on == "interval"
        if (bound := cfg.max_mae_ratio) is not None:
            mae = sized["mae"]
            ratio = (float(mae.max() / mae.min()) if mae.min() > 0 else float("inf")) if len(mae) >= 2 else None
            low, high = intervals.get("mae ratio", (None, None))
            label = f"group MAE ratio, highest / lowest [{name}]"
            checks.append(Check(label, ratio, bound, "<=", too_few, low, high, rows, by_interval))
        if (bound := cfg.max_mean_error_difference) is not None:
            value, (low, high) = spread(sized["mean_error"]), intervals.get("mean error difference", (None, None))
            label = f"mean error difference between groups [{name}]"
            checks.append(Check(label, value, bound, "<=", too_few, low, high, rows, by_interval))
    undecided = rule is None or rule.undecided == "fail"
    return Verdict(
        "fairness", checks, notes, strict=False, require_judgement=cfg.require_judgement, fail_undecided=undecided
    )

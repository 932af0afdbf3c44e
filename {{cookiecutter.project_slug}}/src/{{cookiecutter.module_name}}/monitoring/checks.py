"""The monitor's checks (DriftCheck, distinct from the gates' Check: a status of its own, ok / warn / drift / degraded /
not judged, where a gate check is only passed, failed or not judged): one per feature and statistic, each with its
value, threshold and status. Drift statistics and data-quality counts are Evidently's, computed in one Report run of
the current rows against the training split (evidently_checks); the schema check is set arithmetic on column names.

{% if cookiecutter.task == "tabular_regression" -%}
Per column (model inputs, and the prediction: `value`, the predicted value, judged as a numeric column):
{%- else -%}
Per column (model inputs, and the predictions: `label` and the class probabilities):
{%- endif %}
  psi          population stability index, bands psi_warn / psi_drift (0.1 / 0.25): warn, drift
  wasserstein  numeric: Wasserstein distance normed by the reference's std; drift at or above the threshold
  ks           numeric: Kolmogorov-Smirnov test; drift when its p-value is below the threshold
  jensenshannon  categorical: Jensen-Shannon distance; drift at or above the threshold
  chisquare    categorical: chi-square test; drift when its p-value is below the threshold
Data quality (a breach is a warning; a missing input column is drift: the model cannot be judged on it):
  null_rate (MissingValueCount), unseen_categories (OutListValueCount), out_of_range (OutRangeValueCount),
  schema.missing_columns, schema.extra_columns
"""

import math
from dataclasses import asdict, dataclass

import pandas as pd

from ..config import MonitoringConfig

P_VALUE_METHODS = {"ks", "chisquare"}  # the others are distances (and PSI)
ORDER = {"ok": 0, "not_judged": 1, "warn": 2, "drift": 3, "degraded": 4}


@dataclass(frozen=True)
class DriftCheck:
    """One statistic of one column (or a gate check re-read on labelled rows), with the monitor's status."""

    name: str  # e.g. drift.income.wasserstein, quality.employment.unseen_categories, prediction.label.psi
    kind: str  # feature_drift | prediction_drift | quality | schema | performance{{ " | fairness" if cookiecutter.__fairness }} (labelled rows)
    column: str
    method: str
    value: float | None
    threshold: str  # as the verdict reads it: "drift >= 0.1", "warn >= 0.1, drift >= 0.25", "drift if p < 0.05"
    status: str  # ok | warn | drift | degraded (a gate failed on labelled rows) | not_judged
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def plain(values: pd.Series) -> pd.Series:
    """Categorical values as text, missing values as None (pandas' astype(str) would make them "nan")."""
    return values.map(lambda v: None if pd.isna(v) else str(v)).astype(object)


def psi_status(value: float, warn: float, drift: float) -> str:
    return "drift" if value >= drift else "warn" if value >= warn else "ok"


def method_status(method: str, value: float, threshold: float) -> str:
    if method in P_VALUE_METHODS:
        return "drift" if value < threshold else "ok"
    return "drift" if value >= threshold else "ok"


def method_threshold(method: str, threshold: float) -> str:
    return f"drift if p < {threshold:g}" if method in P_VALUE_METHODS else f"drift >= {threshold:g}"


def bands(method: str, thresholds) -> str:
    """The threshold as the verdict reads it."""
    if method == "psi":
        return f"warn >= {thresholds.psi_warn:g}, drift >= {thresholds.psi_drift:g}"
    return method_threshold(method, thresholds.threshold(method))


def drift_columns(numeric: list[str], categorical: list[str], predictions: list[str]) -> list[tuple[str, str, str]]:
{%- if cookiecutter.task == "tabular_regression" %}
    """(column, numeric|categorical, kind) for every column whose drift is judged: the inputs, then the predicted
    value (numeric)."""
{%- else %}
    """(column, numeric|categorical, kind) for every column whose drift is judged: the inputs, then the predicted
    label (categorical) and the class probabilities (numeric)."""
{%- endif %}
    columns = [(c, "numeric", "feature_drift") for c in numeric]
    columns += [(c, "categorical", "feature_drift") for c in categorical]
    columns += [(c, "categorical" if c == "label" else "numeric", "prediction_drift") for c in predictions]
    return columns


def evidently_checks(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[tuple[str, str, str]],
    numeric: list[str],
    categorical: list[str],
    cfg: MonitoringConfig,
):
    """Drift of `columns` (from drift_columns) and data quality of the inputs `numeric` + `categorical`, in one
    Evidently Report run of the current rows against the training split. Returns the drift checks, the quality checks
    and the snapshot (its HTML report; None when nothing was computed).

    Drift: `ValueDrift`, PSI and the method per column; a column the rows lack, or with fewer than
    monitoring.min_rows values on either side, is not judged. Quality, per input the rows hold, on any number of rows
    (none: not judged): null_rate, the share missing now minus the training share (`MissingValueCount` gives both);
    unseen_categories and out_of_range, the share of present values outside the training split's categories
    (`OutListValueCount`) or [min, max] (`OutRangeValueCount`). Numeric columns are read as numbers, as for drift:
    a value that is not a number counts as missing.

    Left to pandas, and why: the categories and [min, max] those two metrics are built with (Evidently 0.7's metrics
    take them as parameters fixed before the run, so its MinValue / MaxValue / UniqueValueCount cannot feed them from
    the same run; the legacy ColumnValueRangeMetric / ColumnValueListMetric read them from the reference, but belong
    to the legacy API and its own report); and the up to five unseen categories the detail names (OutListValueCount
    counts without naming; UniqueValueCount names every value, at the cost of a histogram per column), listed only
    when Evidently counted any."""
    from .evidently_compat import evidently

    evidently()
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MissingValueCount, OutListValueCount, OutRangeValueCount, ValueDrift

    thresholds = cfg.drift
    drift, judged = [], []
    for column, kind, role in columns:
        prefix = "prediction" if role == "prediction_drift" else "drift"
        method = thresholds.numeric_method if kind == "numeric" else thresholds.categorical_method
        sizes = (
            int(reference[column].notna().sum()),
            int(current[column].notna().sum()) if column in current else 0,
        )
        if min(sizes) < cfg.min_rows:
            why = f"{sizes[1]} current / {sizes[0]} reference values; at least {cfg.min_rows} needed (min_rows)"
            for name in ("psi", method):
                drift.append(DriftCheck(f"{prefix}.{column}.{name}", role, column, name, None, "", "not_judged", why))
            continue
        pair = (
            ValueDrift(column=column, method="psi", threshold=thresholds.psi_warn),
            ValueDrift(column=column, method=method, threshold=thresholds.threshold(method)),
        )
        judged.append((column, kind, role, method, pair))
    inputs = [c for c in numeric + categorical if c in current]
    if len(current) == 0:
        unjudged = [DriftCheck(f"quality.{c}.null_rate", "quality", c, "rate", None, "", "not_judged") for c in inputs]
        return drift, unjudged, None
    kinds = {column: kind for column, kind, *_ in judged}
    kinds |= {c: "categorical" if c in categorical else "numeric" for c in inputs}
    if not kinds:
        return drift, [], None

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        read = {c: pd.to_numeric(df[c], errors="coerce") if k == "numeric" else plain(df[c]) for c, k in kinds.items()}
        return pd.DataFrame(read, index=df.index)

    now, then = frame(current), frame(reference)
    quality = []  # (column, MissingValueCount, OutList- or OutRangeValueCount (None: no value to judge), what is known)
    for column in inputs:
        present, known = bool(now[column].notna().any()), then[column].dropna()
        if column in categorical:
            seen = sorted(known.unique())
            outside = OutListValueCount(column=column, values=seen) if present else None
        else:
            seen = (float(known.min()), float(known.max())) if len(known) else (math.nan, math.nan)
            bounded = present and len(known) > 0
            outside = OutRangeValueCount(column=column, left=seen[0], right=seen[1]) if bounded else None
        quality.append((column, MissingValueCount(column=column), outside, seen))
    metrics = [m for *_, pair in judged for m in pair]
    metrics += [m for _, missing, outside, _ in quality for m in (missing, outside) if m is not None]
    definition = DataDefinition(
        numerical_columns=[c for c, kind in kinds.items() if kind == "numeric"],
        categorical_columns=[c for c, kind in kinds.items() if kind == "categorical"],
    )
    snapshot = Report(metrics).run(
        Dataset.from_pandas(now, data_definition=definition),
        Dataset.from_pandas(then, data_definition=definition),
    )
    result, reference_result = snapshot.context.get_metric_result, snapshot.context.get_reference_metric_result
    for column, _, role, method, (psi, by_method) in judged:
        drift += drift_pair(column, role, method, result(psi).value, result(by_method).value, thresholds)
    limits, found = cfg.quality, []
    for column, missing, outside, seen in quality:
        share, trained = float(result(missing).share.value), float(reference_result(missing.metric_id).share.value)
        found.append(null_rate_check(column, share, trained, limits.max_null_rate_increase))
        counted = result(outside) if outside is not None else None
        rate = float(counted.share.value) if counted else 0.0
        if column in categorical:
            unseen = sorted(set(now[column].dropna()) - set(seen))[:5] if counted and counted.count.value else []
            found.append(
                rate_check(column, "unseen_categories", rate, limits.max_unseen_category_rate, ", ".join(unseen))
            )
        else:
            detail = f"training range [{seen[0]:g}, {seen[1]:g}]"
            found.append(rate_check(column, "out_of_range", rate, limits.max_out_of_range_rate, detail))
    return drift, found, snapshot


def drift_pair(column: str, role: str, method: str, psi: float, value: float, thresholds) -> list[DriftCheck]:
    """A column's PSI and its method's statistic, as Evidently gave them, judged against their thresholds."""
    prefix, checks = "prediction" if role == "prediction_drift" else "drift", []
    warn, drift, limit = thresholds.psi_warn, thresholds.psi_drift, thresholds.threshold
    for name, got in (("psi", float(psi)), (method, float(value))):
        label, threshold = f"{prefix}.{column}.{name}", bands(name, thresholds)
        if math.isfinite(got):
            status = psi_status(got, warn, drift) if name == "psi" else method_status(name, got, limit(name))
            checks.append(DriftCheck(label, role, column, name, got, threshold, status))
        else:  # e.g. a distance normed by a zero spread: never "ok" unjudged
            why = f"Evidently gave {got} (a constant column?)"
            checks.append(DriftCheck(label, role, column, name, None, threshold, "not_judged", why))
    return checks


def null_rate_check(column: str, share: float, trained: float, limit: float) -> DriftCheck:
    """The share of missing values now against the training share; a rise above `limit` is a warning."""
    increase, detail = share - trained, f"{share:.3f} now, {trained:.3f} in training"
    name, status = f"quality.{column}.null_rate", "warn" if increase > limit else "ok"
    return DriftCheck(name, "quality", column, "rate increase", increase, f"warn > {limit:g}", status, detail)


def rate_check(column: str, name: str, rate: float, limit: float, detail: str) -> DriftCheck:
    """A share of the present values (unseen categories, numbers out of range); above `limit` is a warning."""
    status = "warn" if rate > limit else "ok"
    return DriftCheck(f"quality.{column}.{name}", "quality", column, "rate", rate, f"warn > {limit:g}", status, detail)


def schema_checks(columns: list[str], inputs: list[str], ignored: list[str]) -> list[DriftCheck]:
    """Model inputs the monitored rows lack (drift: those features cannot be judged), and columns the model does
    not know (a warning; `ignored`: expected extras such as the target or the log's own columns). Set arithmetic on
    column names, not Evidently. Checked: Evidently 0.7's ColumnCount counts columns (optionally of one type) without
    naming them, a metric on a column the rows lack fails the run instead of reporting it, and its legacy
    TestNumberOfColumns / TestColumnsType compare a count or the dtypes with the reference, not the model's own
    inputs (the reference holds the target and predictions; the rows hold the log's own columns)."""
    missing = [c for c in inputs if c not in columns]
    extra = [
        c for c in columns if c not in inputs and c not in ignored and not c.startswith(("probability_", "shadow_"))
    ]
    return [
        DriftCheck(
            "schema.missing_columns",
            "schema",
            "",
            "count",
            float(len(missing)),
            "drift > 0",
            "drift" if missing else "ok",
            ", ".join(missing),
        ),
        DriftCheck(
            "schema.extra_columns",
            "schema",
            "",
            "count",
            float(len(extra)),
            "warn > 0",
            "warn" if extra else "ok",
            ", ".join(extra),
        ),
    ]


def drifted(checks: list[DriftCheck], kind: str = "feature_drift") -> list[str]:
    """The columns with at least one check at drift, in order."""
    return list(dict.fromkeys(c.column for c in checks if c.kind == kind and c.status == "drift"))

"""The monitor's checks (DriftCheck, distinct from the gates' Check: a status of its own, ok / warn / drift / degraded /
not judged, where a gate check is only passed, failed or not judged): one per feature and statistic, each with its
value, threshold and status. Drift statistics are Evidently's (`ValueDrift`, one metric per column and method); the
data-quality rates are counted with pandas against the training split.

Per column (model inputs, and the predictions: `label` and the class probabilities):
  psi          population stability index, bands psi_warn / psi_drift (0.1 / 0.25): warn, drift
  wasserstein  numeric: Wasserstein distance normed by the reference's std; drift at or above the threshold
  ks           numeric: Kolmogorov-Smirnov test; drift when its p-value is below the threshold
  jensenshannon  categorical: Jensen-Shannon distance; drift at or above the threshold
  chisquare    categorical: chi-square test; drift when its p-value is below the threshold
Data quality (a breach is a warning; a missing input column is drift: the model cannot be judged on it):
  null_rate, unseen_categories, out_of_range, schema.missing_columns, schema.extra_columns
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
    kind: str  # feature_drift | prediction_drift | quality | schema | performance | fairness (labelled rows)
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
    """(column, numeric|categorical, kind) for every column whose drift is judged: the inputs, then the predicted
    label (categorical) and the class probabilities (numeric)."""
    columns = [(c, "numeric", "feature_drift") for c in numeric]
    columns += [(c, "categorical", "feature_drift") for c in categorical]
    columns += [(c, "categorical" if c == "label" else "numeric", "prediction_drift") for c in predictions]
    return columns


def drift_checks(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[tuple[str, str, str]], cfg: MonitoringConfig
):
    """Evidently's drift statistics for `columns` (from drift_columns), judged against the thresholds; returns the
    checks and the Evidently snapshot (its HTML report). A column the current rows lack, or that holds fewer than
    monitoring.min_rows values on either side, is not judged."""
    from .evidently_compat import evidently

    evidently()
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    thresholds = cfg.drift
    judged, checks, metrics = [], [], []
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
                checks.append(DriftCheck(f"{prefix}.{column}.{name}", role, column, name, None, "", "not_judged", why))
            continue
        judged.append((column, kind, role, method))
        metrics += [
            ValueDrift(column=column, method="psi", threshold=thresholds.psi_warn),
            ValueDrift(column=column, method=method, threshold=thresholds.threshold(method)),
        ]
    if not judged:
        return checks, None

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=df.index)
        for column, kind, _, _ in judged:
            out[column] = pd.to_numeric(df[column], errors="coerce") if kind == "numeric" else plain(df[column])
        return out

    definition = DataDefinition(
        numerical_columns=[c for c, kind, _, _ in judged if kind == "numeric"],
        categorical_columns=[c for c, kind, _, _ in judged if kind == "categorical"],
    )
    snapshot = Report(metrics).run(
        Dataset.from_pandas(frame(current), data_definition=definition),
        Dataset.from_pandas(frame(reference), data_definition=definition),
    )
    values = [float(m["value"]) for m in snapshot.dict()["metrics"]]
    warn, drift, limit = thresholds.psi_warn, thresholds.psi_drift, thresholds.threshold
    for (column, _, role, method), psi, value in zip(judged, values[0::2], values[1::2], strict=True):
        prefix = "prediction" if role == "prediction_drift" else "drift"
        for name, got in (("psi", psi), (method, value)):
            label, threshold = f"{prefix}.{column}.{name}", bands(name, thresholds)
            if math.isfinite(got):
                status = psi_status(got, warn, drift) if name == "psi" else method_status(name, got, limit(name))
                checks.append(DriftCheck(label, role, column, name, got, threshold, status))
            else:  # e.g. a distance normed by a zero spread: never "ok" unjudged
                why = f"Evidently gave {got} (a constant column?)"
                checks.append(DriftCheck(label, role, column, name, None, threshold, "not_judged", why))
    return checks, snapshot


def schema_checks(columns: list[str], inputs: list[str], ignored: list[str]) -> list[DriftCheck]:
    """Model inputs the monitored rows lack (drift: those features cannot be judged), and columns the model does
    not know (a warning; `ignored`: expected extras such as the target or the log's own columns)."""
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


def quality_checks(
    reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str], cfg: MonitoringConfig
) -> list[DriftCheck]:
    """Per input: the share of missing values (against the training share), of categories never seen in training,
    and of numbers outside the training split's [min, max]; a breach is a warning."""
    limits = cfg.quality
    checks = []
    for column in [c for c in numeric + categorical if c in current]:
        values, known = current[column], reference[column]
        if len(values) == 0:
            checks.append(DriftCheck(f"quality.{column}.null_rate", "quality", column, "rate", None, "", "not_judged"))
            continue
        increase = float(values.isna().mean() - known.isna().mean())
        checks.append(
            DriftCheck(
                f"quality.{column}.null_rate",
                "quality",
                column,
                "rate increase",
                increase,
                f"warn > {limits.max_null_rate_increase:g}",
                "warn" if increase > limits.max_null_rate_increase else "ok",
                f"{values.isna().mean():.3f} now, {known.isna().mean():.3f} in training",
            )
        )
        present = values.dropna()
        if column in categorical:
            seen = set(plain(known.dropna()))
            unseen = plain(present)[~plain(present).isin(seen)]
            rate = float(len(unseen) / len(present)) if len(present) else 0.0
            examples = ", ".join(sorted(set(unseen))[:5])
            checks.append(
                DriftCheck(
                    f"quality.{column}.unseen_categories",
                    "quality",
                    column,
                    "rate",
                    rate,
                    f"warn > {limits.max_unseen_category_rate:g}",
                    "warn" if rate > limits.max_unseen_category_rate else "ok",
                    examples,
                )
            )
        else:
            numbers, low, high = pd.to_numeric(present, errors="coerce"), known.min(), known.max()
            rate = float(((numbers < low) | (numbers > high)).mean()) if len(numbers) else 0.0
            checks.append(
                DriftCheck(
                    f"quality.{column}.out_of_range",
                    "quality",
                    column,
                    "rate",
                    rate,
                    f"warn > {limits.max_out_of_range_rate:g}",
                    "warn" if rate > limits.max_out_of_range_rate else "ok",
                    f"training range [{low:g}, {high:g}]",
                )
            )
    return checks


def drifted(checks: list[DriftCheck], kind: str = "feature_drift") -> list[str]:
    """The columns with at least one check at drift, in order."""
    return list(dict.fromkeys(c.column for c in checks if c.kind == kind and c.status == "drift"))

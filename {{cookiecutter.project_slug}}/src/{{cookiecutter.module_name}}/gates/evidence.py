"""How sure a figure measured on a sample of rows is: percentile bootstrap intervals (scipy), resampling the rows.

The performance and champion gates{{ " and the fairness differences all" if cookiecutter.__fairness }} decide on these (gates.decide_on). fairlearn's
own `MetricFrame(n_boot=...)` was measured first: it rebuilds the whole frame per resample, about 13 ms each on 2
cores, so 1,000 resamples cost 15-25 s per table; resampling row positions here costs well under one."""

import numpy as np

BOUNDS = ("_low", "_high")  # the keys of a figure's interval beside it: {"roc_auc": .9, "roc_auc_low": .88, ...}


def bootstrap(score, rows: int, gates, seed: int) -> dict[str, tuple[float, float]]:
    """{figure: (low, high)}: the `gates.confidence` percentile interval of each figure `score(positions)` returns
    (a dict of floats) over `gates.resamples` resamples of the positions 0..rows-1 with replacement. A figure that is
    undefined on some resample (NaN) gets a NaN interval: "not judged", never passed."""
    import sklearn
    from scipy.stats import bootstrap as scipy_bootstrap

    if rows < 2:
        return {name: (float("nan"), float("nan")) for name in score(np.arange(rows))}
    names = list(score(np.arange(rows)))  # every call returns the same figures in the same order; checked once
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):  # 2-3x faster per call
        result = scipy_bootstrap(
            (np.arange(rows),),
            lambda positions: np.fromiter(score(positions).values(), dtype="float64", count=len(names)),
            n_resamples=gates.resamples,
            confidence_level=gates.confidence,
            method="percentile",
            vectorized=False,
            rng=np.random.default_rng(seed),
        )
    low, high = np.atleast_1d(result.confidence_interval.low), np.atleast_1d(result.confidence_interval.high)
    return {name: (float(lo), float(hi)) for name, lo, hi in zip(names, low, high, strict=True)}


def judged_metrics(gates) -> list[str]:
    """The metrics a gate decides on: the performance bounds' and the primary metric."""
    return sorted({*gates.performance.min, *gates.performance.max, gates.primary_metric})


def scored(answers: dict[str, np.ndarray], score, gates, seed: int) -> dict[str, float]:
    """`score(answers)` (a task's metrics of row-aligned answers) and `rows`, with the interval of each metric a gate
    decides on beside it (the others are shown as they are: each costs a thousand more sklearn calls)."""
    rows, names = len(answers["y_true"]), judged_metrics(gates)
    intervals = bootstrap(lambda p: score({k: v[p] for k, v in answers.items()}, names), rows, gates, seed)
    return with_intervals(score(answers), intervals) | {"rows": rows}


def paired_difference(ours: dict, theirs: dict, score, metric: str, gates, seed: int) -> tuple[float, float]:
    """The interval of `metric` of our answers minus theirs on the same rows, each resample taking the same rows for
    both models (a paired bootstrap): what "not worse than the champion" rests on."""

    def difference(p) -> dict[str, float]:
        ours_p, theirs_p = ({k: v[p] for k, v in answers.items()} for answers in (ours, theirs))
        return {"d": score(ours_p, [metric])[metric] - score(theirs_p, [metric])[metric]}

    return bootstrap(difference, len(ours["y_true"]), gates, seed)["d"]


def with_intervals(metrics: dict[str, float], intervals: dict[str, tuple[float, float]]) -> dict[str, float]:
    """The metrics with each one's bounds beside it, as the gates, MLflow and the model card read them."""
    bounds = {f"{name}{end}": x for name, pair in intervals.items() for end, x in zip(BOUNDS, pair, strict=True)}
    return metrics | bounds


def interval(metrics: dict, name: str) -> tuple[float | None, float | None]:
    return metrics.get(f"{name}_low"), metrics.get(f"{name}_high")


def point_metrics(metrics: dict) -> dict[str, float]:
    """The figures without their bounds (and without `rows`)."""
    return {k: v for k, v in metrics.items() if not k.endswith(BOUNDS) and k != "rows"}


def shown(metrics: dict) -> str:
    """One line for a log: each metric with its interval, and the rows."""
    parts = []
    for name, value in point_metrics(metrics).items():
        low, high = interval(metrics, name)
        parts.append(f"{name} {value:.4f}" + (f" [{low:.4f}, {high:.4f}]" if low is not None else ""))
    return ", ".join(parts) + (f" on {metrics['rows']} rows" if "rows" in metrics else "")

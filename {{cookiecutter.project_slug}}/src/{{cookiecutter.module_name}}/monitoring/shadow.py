"""Shadow evaluation: a challenger scores the records the champion answers, off the request path, and is judged on
that traffic before it may answer anyone.

{% if cookiecutter.task == "tabular_regression" -%}
The service (`make serve SHADOW=candidate`) logs the challenger's answer beside the champion's in the prediction log:
`shadow_value`, `shadow_model_version`, and `shadow_error` where its own request contract refused a record
(`score_in_shadow`). The shadow report (`make shadow-report`, shadow_report.py) judges the rows both models scored
(`shadow_gate`), with params.yaml's `shadow:` thresholds:
  records       rows the challenger scored           >= shadow.min_records (fewer: too little traffic to judge)
  errors        share it could not score             <= shadow.max_error_rate
  difference    mean |challenger's value - champion's value| on the same records, in the target's units
                <= shadow.max_mean_absolute_difference (null: reported only)
{%- if cookiecutter.__fairness %}
  fairness      not on traffic: a regression's fairness checks compare the groups' errors, which need the true values.
                With shadow.fairness and gates.fairness on, a labelled batch (--batch) judges it by gates.fairness;
                without one, each of those checks is not judged.
{%- endif %}
{%- else -%}
The service (`make serve SHADOW=candidate`) logs the challenger's answer beside the champion's in the prediction log:
`shadow_label`, `shadow_probability_<class>`, `shadow_model_version`, and `shadow_error` where its own request
contract refused a record (`score_in_shadow`). The shadow report (`make shadow-report`, shadow_report.py) judges the
rows both models scored (`shadow_gate`), with params.yaml's `shadow:` thresholds:
  records       rows the challenger scored           >= shadow.min_records (fewer: too little traffic to judge)
  errors        share it could not score             <= shadow.max_error_rate
  agreement     share both labelled alike            >= shadow.min_agreement (null: reported only)
{%- if cookiecutter.__fairness %}
  fairness      its selection-rate spread between groups of a sensitive feature, one class at a time (fairlearn),
                <= gates.fairness.max_demographic_parity_difference; groups under gates.fairness.min_group_size rows
                are shown, not judged. The log has the groups only where the request carries them
                ({{ "mitigation, or " if cookiecutter.mitigation }}data.use_sensitive_as_feature); otherwise a labelled batch (--batch) judges fairness.
{%- endif %}
{%- endif %}
A check that cannot be computed is not judged, and the report fails: the challenger has not proven itself.
"""

import pandas as pd
from pydantic import ValidationError

{% if cookiecutter.mitigation %}from ..errors import InvalidRecord, UnknownGroup
{% else %}from ..errors import InvalidRecord
{% endif %}from ..gates.verdict import Check, Verdict

PREFIX = "shadow_"
REFUSED = {{ "(InvalidRecord, UnknownGroup)" if cookiecutter.mitigation else "InvalidRecord" }}  # what the challenger's contract refuses
MAX_ERROR_CHARS = 200


def score_in_shadow(predictor, records: list[dict]) -> tuple[list[dict | None], list[str | None]]:
    """The challenger's predictions for records the champion answered, validated against the challenger's own
    contract (it may differ from the champion's): (prediction or None, why not or None) per record."""
    valid: list[dict | None] = []
    errors: list[str | None] = []
    for record in records:
        try:
            valid.append(predictor.record.model_validate(record).model_dump())
            errors.append(None)
        except ValidationError as err:
            valid.append(None)
            errors.append(" ".join(str(err).split())[:MAX_ERROR_CHARS])
    predictions: list[dict | None] = [None] * len(records)
    indices = [i for i, record in enumerate(valid) if record is not None]
    try:  # in one pass when they all score
        for i, prediction in zip(
            indices, predictor.predict([valid[i] for i in indices]) if indices else [], strict=True
        ):
            predictions[i] = prediction.model_dump()
    except REFUSED:  # one by one, to find the records it refuses
        for i in indices:
            try:
                predictions[i] = predictor.predict([valid[i]])[0].model_dump()
            except REFUSED as err:
                errors[i] = str(err)[:MAX_ERROR_CHARS]
    return predictions, errors


def shadow_rows(log: pd.DataFrame, champion: str, challenger: str) -> pd.DataFrame:
    """The log rows the `champion` (BentoML tag) answered with the `challenger` in shadow."""
    if f"{PREFIX}model_version" not in log:
        return log.iloc[0:0]
    mine = (log["model_version"] == champion) & (log[f"{PREFIX}model_version"] == challenger)
    return log[mine].reset_index(drop=True)


def scored(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows[f"{PREFIX}error"].isna()] if f"{PREFIX}error" in rows else rows


NO_TRAFFIC = "no record reached the challenger"


def traffic_checks(rows: pd.DataFrame, shadow) -> list[Check]:
    """How much of the traffic the challenger scored: enough records (`shadow.min_records`), few it could not score
    (`shadow.max_error_rate`)."""
    seen, ok = len(rows), len(scored(rows))
    errors = 1 - ok / seen if seen else None
    return [
        Check("records scored in shadow", ok, shadow.min_records, ">="),
        Check("share it could not score", errors, shadow.max_error_rate, "<=", NO_TRAFFIC),
    ]


{% if cookiecutter.task == "tabular_regression" -%}
def mean_absolute_difference(rows: pd.DataFrame) -> float | None:
    """The mean absolute difference between both models' values on the rows both scored (the target's units)."""
    ok = scored(rows)
    return float((ok["value"] - ok[f"{PREFIX}value"]).abs().mean()) if len(ok) else None


{% if cookiecutter.__fairness -%}
def shadow_gate(rows: pd.DataFrame, cfg, labelled_fairness: bool = False) -> Verdict:
    """The `shadow` verdict over the rows both models scored. `cfg`: the project's Params. `labelled_fairness`: a
    labelled batch's fairness gate judged fairness (traffic has no true values to judge the groups' errors by)."""
    shadow, fairness = cfg.shadow, cfg.gates.fairness
{%- else -%}
def shadow_gate(rows: pd.DataFrame, cfg) -> Verdict:
    """The `shadow` verdict over the rows both models scored. `cfg`: the project's Params."""
    shadow = cfg.shadow
{%- endif %}
    ok, checks = scored(rows), traffic_checks(rows, shadow)
    difference, notes = mean_absolute_difference(rows), []
    if len(ok):
        notes.append(f"mean difference, challenger - champion: {(ok[f'{PREFIX}value'] - ok['value']).mean():.4f}")
    name = "mean absolute difference from the champion"
    if shadow.max_mean_absolute_difference is None:
        notes.append(f"{name}: {difference if difference is None else round(difference, 4)} (not judged)")
    else:
        checks.append(Check(name, difference, shadow.max_mean_absolute_difference, "<=", NO_TRAFFIC))
{%- if cookiecutter.__fairness %}
    bounds = [
        ("group MAE ratio, highest / lowest", fairness.max_mae_ratio),
        ("mean error difference between groups", fairness.max_mean_error_difference),
    ]
    bounds = [(check, bound) for check, bound in bounds if bound is not None]
    if not (shadow.fairness and fairness.enabled and bounds):
        notes.append("fairness: off (shadow.fairness, gates.fairness)")
    elif labelled_fairness:
        notes.append("fairness: judged on the labelled batch (gates.fairness; traffic has no true values)")
    else:
        why = "the groups' errors need the true values: give a labelled batch (--batch)"
        for feature in cfg.data.sensitive_features:
            checks += [Check(f"{check} [{feature}]", None, bound, "<=", why) for check, bound in bounds]
{%- endif %}
    return Verdict("shadow", checks, notes)
{%- else -%}
def label_text(values: pd.Series) -> pd.Series:
    """Labels as text, alike for 1, 1.0 and "1": a log column with gaps (rows without a shadow) is read as floats."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.map("{:g}".format) if numbers.notna().all() else values.astype(str)


def agreement(rows: pd.DataFrame) -> float | None:
    """The share of the scored rows both models labelled alike."""
    ok = scored(rows)
    return float((label_text(ok["label"]) == label_text(ok[f"{PREFIX}label"])).mean()) if len(ok) else None
{%- if cookiecutter.__fairness %}


def selection_spread(labels: pd.Series, groups: pd.Series, classes: list, min_rows: int) -> tuple[float | None, dict]:
    """The largest spread of selection rates between the groups with at least `min_rows` rows, over the classes
    judged (binary: the positive, last class; else each one-vs-rest), with fairlearn; and each group's rates."""
    from fairlearn.metrics import demographic_parity_difference

    sizes = groups.value_counts()
    big = groups.isin(sizes[sizes >= min_rows].index)
    judged = classes[-1:] if len(classes) == 2 else classes
    labels, judged = label_text(labels), list(label_text(pd.Series(judged)))
    rates = {  # binary: by group; multi-class: by group and class
        f"{g}" + (f"/{c}" if len(judged) > 1 else ""): labels[groups == g].eq(c).mean()
        for c in judged
        for g in sizes.index
    }
    if big.sum() == 0 or groups[big].nunique() < 2:
        return None, rates
    spreads = [
        demographic_parity_difference(selected, selected, sensitive_features=groups[big])
        for selected in (labels[big].eq(c).astype(int) for c in judged)
    ]
    return float(max(spreads)), rates


def shadow_gate(rows: pd.DataFrame, classes: list, cfg, labelled_fairness: bool = False) -> Verdict:
    """The `shadow` verdict over the rows both models scored. `cfg`: the project's Params. `labelled_fairness`: a
    labelled batch's fairness gate judges fairness instead, when the log lacks the groups."""
    shadow, fairness = cfg.shadow, cfg.gates.fairness
    ok, checks = scored(rows), traffic_checks(rows, shadow)
{%- else %}


def shadow_gate(rows: pd.DataFrame, cfg) -> Verdict:
    """The `shadow` verdict over the rows both models scored. `cfg`: the project's Params."""
    shadow = cfg.shadow
    checks = traffic_checks(rows, shadow)
{%- endif %}
    agree = agreement(rows)
    notes = []
    if shadow.min_agreement is None:
        notes.append(f"agreement with the champion: {agree if agree is None else round(agree, 4)} (not judged)")
    else:
        checks.append(Check("agreement with the champion", agree, shadow.min_agreement, ">=", NO_TRAFFIC))
{%- if cookiecutter.__fairness %}
    bound = fairness.max_demographic_parity_difference
    if not (shadow.fairness and fairness.enabled and bound is not None):
        notes.append("fairness on traffic: off (shadow.fairness, gates.fairness)")
        return Verdict("shadow", checks, notes)
    for feature in cfg.data.sensitive_features:
        name = f"selection-rate spread by {feature}"
        if feature not in ok:
            if labelled_fairness:
                notes.append(f"{name}: the log lacks {feature}; judged on the labelled batch instead")
                continue
            why = f"the log lacks {feature} (not a model input): give a labelled batch (--batch)"
            checks.append(Check(name, None, bound, "<=", why))
            continue
        spread, rates = selection_spread(
            ok[f"{PREFIX}label"], ok[feature].astype(str), classes, fairness.min_group_size
        )
        small = f"fewer than two groups with {fairness.min_group_size} rows"
        checks.append(Check(name, spread, bound, "<=", small))
        notes.append(
            f"challenger's selection rates by {feature}: " + ", ".join(f"{k}={v:.3f}" for k, v in rates.items())
        )
{%- endif %}
    return Verdict("shadow", checks, notes)
{%- endif %}


def score_summary(rows: pd.DataFrame) -> dict[str, float]:
    """Both models' score distributions on the same records: mean and quartiles of each {{ "predicted value" if cookiecutter.task == "tabular_regression" else "class's probability" }}, and
    the Wasserstein distance between the two (scipy)."""
    from scipy.stats import wasserstein_distance

    ok, out = scored(rows), {}
    for column in [c for c in ok if c{{ ' == "value"' if cookiecutter.task == "tabular_regression" else '.startswith("probability_")' }} and f"{PREFIX}{c}" in ok]:
        mine, theirs = ok[column].astype(float), ok[f"{PREFIX}{column}"].astype(float)
        for who, values in (("champion", mine), ("challenger", theirs)):
            out |= {f"{who}.{column}.mean": values.mean(), f"{who}.{column}.median": values.median()}
            out |= {f"{who}.{column}.p25": values.quantile(0.25), f"{who}.{column}.p75": values.quantile(0.75)}
        out[f"wasserstein.{column}"] = wasserstein_distance(mine, theirs) if len(ok) else float("nan")
    return out

{% if cookiecutter.__fairness -%}
"""Gate reports people can read: verdict first, then per-group tables and charts (a Metaflow card, the same as
HTML + PNG for MLflow), and the model card that ships with the model."""

import base64
import html
import io

import pandas as pd

from .evidence import interval, point_metrics
from .fairness import CHART_METRICS
{%- else -%}
"""Gate reports people can read: the verdict (a Metaflow card, the same as HTML for MLflow), and the model card that
ships with the model."""

import html

import pandas as pd

from .evidence import interval, point_metrics
{%- endif %}

MARKS = {"passed": "ok  ", "failed": "FAIL", "not judged": "----"}


def verdict_lines(verdicts: list[dict]) -> list[str]:
    """The verdict as text: each gate's headline (with how many checks were judged), then every check and note."""
    overall = "PASSED" if all(v["passed"] for v in verdicts) else "FAILED"
    lines = [f"Gates {overall}"]
    for verdict in verdicts:
        lines.append(f"{verdict['gate']}: {verdict['headline']}")
        lines += [f"  {MARKS[c['state']]} {c['detail']}" for c in verdict["checks"]]
        lines += [f"  note {n}" for n in verdict["notes"]]
    return lines
{%- if cookiecutter.__fairness %}


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """A group table for people: each figure with its 95% interval ("0.41 [0.36, 0.46]"), the counts it rests on."""
    shown = table.drop(columns=[c for c in table.columns if c.endswith(("_low", "_high"))]).round(4).astype(object)
    for rate in [c for c in shown.columns if f"{c}_low" in table]:
        shown[rate] = [
            f"{v:.3f} [{lo:.2f}, {hi:.2f}]" if pd.notna(v) and pd.notna(lo) else "n/a"
            for v, lo, hi in zip(table[rate], table[f"{rate}_low"], table[f"{rate}_high"], strict=True)
        ]
    return shown


def group_chart(feature: str, table: pd.DataFrame, primary: str, fairness) -> bytes:
    """One bar chart per metric by group, with the gate's thresholds drawn as dashed lines; PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = CHART_METRICS + ([primary] if primary in table and primary not in CHART_METRICS else [])
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.8 * len(metrics), 3.2))
    for ax, metric in zip(axes, metrics, strict=True):
        error = None
        if f"{metric}_low" in table:  # the 95% interval: a tall bar on few rows shows as unsure
            error = [table[metric] - table[f"{metric}_low"], table[f"{metric}_high"] - table[metric]]
        ax.bar(table.index.astype(str), table[metric], yerr=error, capsize=3, color="#4c72b0")
        ax.set_title(metric.replace("_", " "), fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
{%- if cookiecutter.task == "tabular_regression" %}
        if metric == "mae" and fairness.max_mae_ratio is not None:
            ax.axhline(table[metric].min() * fairness.max_mae_ratio, ls="--", color="#c44e52")
{%- else %}
        if metric == "selection_rate" and fairness.max_demographic_parity_difference is not None:
            ax.axhline(table[metric].max() - fairness.max_demographic_parity_difference, ls="--", color="#c44e52")
        if (
            metric in ("true_positive_rate", "false_positive_rate")
            and fairness.max_equalized_odds_difference is not None
        ):
            ax.axhline(table[metric].max() - fairness.max_equalized_odds_difference, ls="--", color="#c44e52")
        if metric == primary and fairness.min_group_primary is not None:
            ax.axhline(fairness.min_group_primary, ls="--", color="#c44e52")
{%- endif %}
    fig.suptitle(f"by {feature} (dashed: gate threshold; whiskers: 95% interval)", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def charts(tables: dict[str, pd.DataFrame], primary: str, fairness) -> dict[str, bytes]:
    return {f"fairness_{i}.png": group_chart(name, t, primary, fairness) for i, (name, t) in enumerate(tables.items())}


def html_report(verdicts: list[dict], tables: dict[str, pd.DataFrame], figures: dict[str, bytes]) -> str:
    """A self-contained page (verdict, per-group tables with confusion matrices, charts) for MLflow."""
    parts = [f"<pre>{html.escape(chr(10).join(verdict_lines(verdicts)))}</pre>"]
    for (feature, table), png in zip(tables.items(), figures.values(), strict=True):
        parts.append(f"<h2>Groups by {html.escape(feature)}</h2>{display_table(table).to_html()}")
        parts.append(f'<img alt="{html.escape(feature)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Gates</title></head><body>"
        + "".join(parts)
        + "</body></html>"
    )


def fill_card(card, verdicts: list[dict], tables: dict[str, pd.DataFrame], figures: dict[str, bytes]) -> None:
    """The same content as the HTML report, as Metaflow card components."""
    from metaflow.cards import Image, Markdown, Table

    card.append(Markdown("```\n" + "\n".join(verdict_lines(verdicts)) + "\n```"))
    for (feature, table), png in zip(tables.items(), figures.values(), strict=True):
        card.append(Markdown(f"## Groups by {feature}"))
        card.append(Table.from_dataframe(display_table(table).reset_index()))
        card.append(Image(png, label=f"by {feature}"))
{%- else %}


def html_report(verdicts: list[dict]) -> str:
    """A self-contained page with the verdict, for MLflow."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Gates</title></head><body>"
        f"<pre>{html.escape(chr(10).join(verdict_lines(verdicts)))}</pre></body></html>"
    )


def fill_card(card, verdicts: list[dict]) -> None:
    """The same content as the HTML report, as a Metaflow card component."""
    from metaflow.cards import Markdown

    card.append(Markdown("```\n" + "\n".join(verdict_lines(verdicts)) + "\n```"))
{%- endif %}


def _markdown_table(table: pd.DataFrame) -> list[str]:
    header = ["group", *map(str, table.columns)]
    rows = [[str(index), *map(str, row)] for index, row in zip(table.index, table.to_numpy(), strict=True)]
    return ["| " + " | ".join(r) + " |" for r in [header, ["---"] * len(header), *rows]]


{% if cookiecutter.mitigation -%}
def _fitted_on(mitigation: dict) -> str:
    """Whose scores fitted the fairness thresholds, in words (mitigation.fit_on)."""
    if mitigation["fit_on"] == "validation":
        return "the validation split's scores: rows the network did not train on (they only chose the epoch kept)"
    return (
        f"cross-fitted scores: {mitigation['folds']} networks trained like this one, each on all but one fold of "
        "the training and validation rows, scored the fold each left out (rows the scoring network did not train on)"
    )


{% endif -%}
def model_card(
    description: str,
    data: dict,
    rows: int,
    metrics: dict,
{%- if cookiecutter.__fairness %}
    tables: dict,
{%- endif %}
    verdicts: list[dict],
{%- if cookiecutter.mitigation %}
    mitigation: dict,
{%- endif %}
    decision: dict,
    class_metrics: dict | None = None,
    training: dict | None = None,
) -> str:
    """Markdown shipped inside the model (BentoML store, Bento, MLflow).{% if cookiecutter.mitigation %} `mitigation`: spec's section, {} if off;{% endif %}
{%- if cookiecutter.task == "tabular_regression" %}
    `decision`: the target; `training`: what `training.fit` reported."""
    rule = (
        f"Predicts `{decision['target']}` in its own units: the network's output, scaled back with the training "
        "split's mean and standard deviation of it."
    )
{%- else %}
    `decision`: classes, positive class and threshold; `training`: what `training.fit` reported."""
    classes = decision["classes"]
    if len(classes) == 2:
        rule = (
            f"Binary: positive class `{classes[-1]}` (precision, recall, selection rate refer to it), decided when "
            f"P({classes[-1]}) >= {decision['threshold']}."
        )
    else:
        rule = f"{len(classes)} classes ({', '.join(f'`{c}`' for c in classes)}): the most probable class is decided."
{%- endif %}
    lines = [
        "# Model card",
        "",
        "## Intended use",
        "",
        description.strip(),
        "",
        "## Training data",
        "",
        f"- `{data['path']}` at `{data['rev']}`, md5 `{data['md5']}`, {rows} rows",
        f"- pinned by DVC: {data['pinned']}",
        "",
        "## Decisions",
        "",
        rule,
        "",
        *_training_lines(training),
        "## Test metrics",
        "",
        *_metric_lines(metrics),
        "",
    ]
    if class_metrics and len(decision.get("classes", [])) > 2:
        per_class = pd.DataFrame(class_metrics).T.round(4)
        lines += ["### Per class", "", *_markdown_table(per_class), ""]
{%- if cookiecutter.__fairness %}
    lines += ["## Fairness by group", ""]
    if not tables:
        lines += [
            "Fairness was not assessed: this model was trained with `gates.fairness.enabled: false` (set on purpose, "
            "e.g. for data with no sensitive column), so nothing here says how it treats any group of people.",
            "",
        ]
{%- if cookiecutter.mitigation %}
    if mitigation:
        lines += [
            f"Decisions go through per-group thresholds on the network's score from fairlearn's ThresholdOptimizer "
            f"({mitigation['constraints']}, maximising {mitigation['objective']}), fitted on {_fitted_on(mitigation)}. "
            "They ship as a JSON table (thresholds.json). Within a group two thresholds are mixed at random; "
            "a record's draw is a hash of its inputs and the seed, so it gets the same decision alone or in a batch. "
            f"Requests must name {', '.join(mitigation['groups'])}. "
            "The tables below are after mitigation; the gate notes show the checks before it.",
            "",
        ]
{%- endif %}
    for feature, table in tables.items():
        lines += [f"### {feature}", "", *_markdown_table(display_table(table)), ""]
{%- endif %}
    lines += [
        "## Gate verdicts",
        "",
        "```",
        *verdict_lines(verdicts),
        "```",
        "",
        "## Limitations",
        "",
{%- if not cookiecutter.__fairness %}
        "- Judged on one held-out split; metric intervals: bootstrap (gates.confidence), on which the gates decide "
        "unless gates.decide_on is point.",
        "- Fairness was not assessed: the project has no sensitive feature, so nothing here says how the model "
        "treats any group of people.",
{%- elif cookiecutter.task == "tabular_regression" %}
        "- Judged on one held-out split; groups with fewer rows than the configured minimum are reported, not "
        "judged. Group intervals: 95% t-intervals of the mean absolute error; metric and difference intervals: "
        "bootstrap (gates.confidence), on which the gates decide unless gates.decide_on is point.",
{%- else %}
        "- Judged on one held-out split; groups with fewer rows (or, for true and false positive rates, fewer "
        "positives or negatives) than the configured minimums are reported, not judged. Group rate intervals: 95% "
        "Wilson; metric and difference intervals: bootstrap (gates.confidence), on which the gates decide unless "
        "gates.decide_on is point.",
{%- endif %}
{%- if cookiecutter.__fairness %}
        "- Fairness is measured only over the configured sensitive features, not proxies of them.",
{%- endif %}
        "- Retrain and re-gate when the input distribution drifts from the training data.",
        "",
    ]
    return "\n".join(lines)


def _metric_lines(metrics: dict) -> list[str]:
    """Each test metric with its bootstrap interval, and the rows they rest on."""
    lines = []
    for name, value in point_metrics(metrics).items():
        low, high = interval(metrics, name)
        lines.append(f"- {name}: {value:.4f}" + (f" (interval {low:.4f} to {high:.4f})" if low is not None else ""))
    return lines + ([f"- on {metrics['rows']} test rows"] if "rows" in metrics else [])


def _training_lines(training: dict | None) -> list[str]:
    """The epoch whose weights ship (early stopping keeps the best one) and where training ran."""
    if not training or "best_epoch" not in training:
        return []
    chosen = (
        f"best validation {training['monitor']} ({training['best_value']:.4f})"
        if training.get("monitor") and training.get("best_value") is not None
        else "no validation split: the last epoch"
    )
    how = "stopped early" if training.get("stopped_early") else "ran every epoch"
    return [
        "## Training",
        "",
        f"- weights of epoch {training['best_epoch']} of {training['epochs_run']} run ({chosen}; {how})",
        f"- on {training['accelerator']}, precision {training['precision']}",
        "",
    ]

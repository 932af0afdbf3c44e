"""The verdict over every check, and where it goes: a Metaflow card, an HTML report beside Evidently's, and an MLflow
run in the monitoring experiment tagged with the model it judged.

Verdict: `degraded` when a training gate fails on labelled rows (performance.py: the model no longer does what it was
released for), else `drift` when any check is at drift (act: look at the report, retrain), else `warn` when any check
warns or could not be judged, else `ok`. `degraded` and `drift` end the monitor with a non-zero exit.
"""

import base64
import html
import json
import re
from pathlib import Path

from ..errors import ProjectError
from .checks import ORDER, DriftCheck

STATUS_COLOURS = {
    "ok": "#1a7f37",
    "warn": "#9a6700",
    "drift": "#cf222e",
    "degraded": "#82071e",
    "not_judged": "#57606a",
}


class DriftDetected(ProjectError, RuntimeError):
    """The verdict needs action; the report and the MLflow run are written before this is raised."""

    headline = "Drift detected"


class ModelDegraded(DriftDetected):
    """A training gate failed on labelled rows."""

    headline = "Model degraded"


class UnexpectedVerdict(ProjectError, RuntimeError):
    """A demo's monitor run (--expect) did not reach the verdict it shows."""

    headline = "Unexpected verdict"


def verdict(checks: list[DriftCheck]) -> str:
    worst = max((ORDER[c.status] for c in checks), default=ORDER["not_judged"])
    return {0: "ok", 1: "warn", 2: "warn", 3: "drift", 4: "degraded"}[worst]


def fail_on_verdict(
    result: str,
    drifted: list[str],
    report_dir: str,
    report_only: bool = False,
    degraded: list[str] = (),
    expect: str = "",
) -> str:
    """Raise ModelDegraded (listing `degraded`, the failed gates) or DriftDetected (naming the `drifted` features):
    the run exits non-zero, for a scheduler to act on, unless `report_only`; else the line printed. `expect` (a demo's
    outcome): that verdict exits 0, any other raises UnexpectedVerdict."""
    see = f"see {report_dir}/verdict.html (--report-only true: report without failing)"
    features = f"features drifted: {', '.join(drifted) or 'none'}"
    if expect:
        if result != expect:
            raise UnexpectedVerdict(f"expected {expect}, the verdict is {result}; {features}; see {report_dir}")
        return f"verdict: {result}, as expected (--expect {expect}); {features}; see {report_dir}/verdict.html"
    if result == "degraded" and not report_only:
        raise ModelDegraded("gates failed on the labelled rows:\n" + "".join(f"  {d}\n" for d in degraded) + see)
    if result == "drift" and not report_only:
        raise DriftDetected(f"{features}; {see}")
    return f"verdict: {result}"


def summary(checks: list[DriftCheck], result: str) -> str:
    """One line per check that is not ok, under the verdict: what a user reads in the terminal."""
    lines = [f"verdict: {result} ({sum(c.status == 'ok' for c in checks)} of {len(checks)} checks ok)"]
    for c in sorted(checks, key=lambda c: -ORDER[c.status]):
        if c.status != "ok":
            value = "" if c.value is None else f" = {c.value:.4g}"  # not judged: no value, no empty brackets
            bound = f" ({c.threshold})" if c.threshold else ""
            lines.append(f"  {c.status:<10} {c.name}{value}{bound} {c.detail}".rstrip())
    return "\n".join(lines)


def _value(check: DriftCheck) -> str:
    return "-" if check.value is None else f"{check.value:.4g}"


def rows(checks: list[DriftCheck]) -> list[list[str]]:
    return [[c.name, c.status, _value(c), c.threshold, c.detail] for c in checks]


def drift_chart(checks: list[DriftCheck], result: str) -> bytes | None:
    """A PNG of the report at a glance: each column's population stability index against the warn and drift bands,
    coloured by its status (inputs, then the predictions); None when no PSI was computed."""
    psi = [c for c in checks if c.method == "psi" and c.value is not None]
    if not psi:
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bands = [float(b) for b in re.findall(r">= ([0-9.]+)", psi[0].threshold)]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(psi) + 1.4))
    labels = [c.column if c.kind == "feature_drift" else f"{c.column} (prediction)" for c in psi]
    ax.barh(labels, [c.value for c in psi], color=[STATUS_COLOURS[c.status] for c in psi])
    for band, style in zip(bands, (":", "--"), strict=False):
        ax.axvline(band, color="black", linestyle=style, linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("population stability index (dotted: warn, dashed: drift)")
    ax.set_title(f"Monitoring verdict: {result}")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()


def html_report(
    checks: list[DriftCheck], result: str, facts: dict, evidently_file: str | None, chart: bytes | None
) -> str:
    """Our verdict as a self-contained page: the facts (model, reference, window), then every check."""
    colour = STATUS_COLOURS.get(result, STATUS_COLOURS["not_judged"])
    facts_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts.items())
    check_rows = "".join(
        "<tr>"
        + f"<td>{html.escape(name)}</td><td style='color:{STATUS_COLOURS[status]}'><b>{status}</b></td>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in rest)
        + "</tr>"
        for name, status, *rest in rows(checks)
    )
    link = f"<p>Evidently's drift report: <a href='{evidently_file}'>{evidently_file}</a></p>" if evidently_file else ""
    if chart:
        link += f"<p><img alt='drift per column' src='data:image/png;base64,{base64.b64encode(chart).decode()}'></p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Monitoring verdict</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Monitoring verdict: <span style='color:{colour}'>{result}</span></h1>{link}"
        f"<table>{facts_rows}</table><h2>Checks</h2><table><tr><th>check</th><th>status</th><th>value</th>"
        f"<th>threshold</th><th>detail</th></tr>{check_rows}</table></body></html>"
    )


def monitor_card(card, checks: list[DriftCheck], result: str, facts: dict) -> None:
    from metaflow.cards import Image, Markdown, Table

    card.append(Markdown(f"# Monitoring verdict: {result}"))
    card.append(Table([[k, str(v)] for k, v in facts.items()], headers=["", ""]))
    if chart := drift_chart(checks, result):
        card.append(Image(chart, label="Population stability index per column"))
    card.append(Markdown("## Checks"))
    card.append(Table(rows(checks), headers=["check", "status", "value", "threshold", "detail"]))


def write_reports(directory: Path, checks: list[DriftCheck], result: str, facts: dict, snapshot) -> dict[str, Path]:
    """verdict.html, verdict.json, drift.png (drift_chart) when any drift was computed, and Evidently's
    evidently.html when Evidently computed anything (drift or data quality), in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    if snapshot is not None:
        files["evidently.html"] = directory / "evidently.html"
        snapshot.save_html(str(files["evidently.html"]))
    files["verdict.html"] = directory / "verdict.html"
    evidently_file = "evidently.html" if snapshot is not None else None
    if chart := drift_chart(checks, result):
        files["drift.png"] = directory / "drift.png"
        files["drift.png"].write_bytes(chart)
    files["verdict.html"].write_text(html_report(checks, result, facts, evidently_file, chart))
    files["verdict.json"] = directory / "verdict.json"
    body = {"verdict": result, "facts": facts, "checks": [c.as_dict() for c in checks]}
    files["verdict.json"].write_text(json.dumps(body, indent=2, default=str))
    return files


def log_to_mlflow(
    experiment: str, run_name: str, tags: dict, checks: list[DriftCheck], result: str, files: dict
) -> str:
    """One MLflow run in the monitoring experiment: tags naming the model judged and the verdict, one metric per
    computed check, the reports as artifacts under `monitoring/`."""
    from ..lineage import tracking

    run_id = tracking.start_run(experiment, run_name, tags | {"monitoring.verdict": result})
    metrics = {c.name: c.value for c in checks if c.value is not None}
    failing = {f"check.{c.name}": c.status for c in checks if c.status != "ok"}
    tracking.log(run_id, metrics=metrics, tags=failing)
    mlflow_client = tracking.client()
    for path in files.values():
        mlflow_client.log_artifact(run_id, str(path), "monitoring")
    tracking.finish(run_id)
    return run_id

"""The flow's work without the flow: flow.py's steps, in one process, calling the same functions in the same order.

    python benchmarks/plain_run.py [--publish false]

The baseline of benchmarks/flow_cost.py, which times this against `python flow.py run` to measure what the workflow
costs on top of the work it orchestrates (a process per step, the datastore, cards). Everything flow.py does is here,
step by step under the same names, so the two record the same lineage and give the same metrics (the template's
tests check that); only the Metaflow card is left out (the same report is written to MLflow, as the flow does too).
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


class Clock:
    """Seconds per step, as flow_cost.py compares them with the flow's steps."""

    def __init__(self):
        self.seconds, self.name, self.start = {}, "start", time.perf_counter()

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[self.name], self.name, self.start = now - self.start, name, now


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--config", default="params.yaml")
    parser.add_argument("--publish", default="true", choices=["true", "false"])
    args = parser.parse_args(argv)

    from {{ cookiecutter.module_name }} import __doc__ as description
    from {{ cookiecutter.module_name }}.config import load
    from {{ cookiecutter.module_name }}.gates import reports
    from {{ cookiecutter.module_name }}.gates.evidence import scored, shown
{%- if cookiecutter.__fairness %}
    from {{ cookiecutter.module_name }}.gates.fairness import group_tables
{%- endif %}
    from {{ cookiecutter.module_name }}.gates.judge import enforce, run_gates
    from {{ cookiecutter.module_name }}.lineage import run_record, tracking
    from {{ cookiecutter.module_name }}.lineage.git import git_facts
    from {{ cookiecutter.module_name }}.lineage.lineage import read_data
{%- if cookiecutter.snapshots %}
    from {{ cookiecutter.module_name }}.lineage.snapshots import canonical_reasons
{%- endif %}
    from {{ cookiecutter.module_name }}.logs import configure
    from {{ cookiecutter.module_name }}.pipeline.data import model_inputs, read_table, split, validate_table
    from {{ cookiecutter.module_name }}.pipeline.evaluation import (
        decide,
        per_class_metrics,
        predict_proba,
        score,
    )
    from {{ cookiecutter.module_name }}.pipeline.tasks import task
    from {{ cookiecutter.module_name }}.pipeline.training import fit, seed_everything, summary, weights_to_bytes
    from {{ cookiecutter.module_name }}.release.artifact import ModelSpec
    from {{ cookiecutter.module_name }}.release.champion import champion_metrics, pinned_champion
    from {{ cookiecutter.module_name }}.release.packaging import gate_outcome, publish_model, weights_sha256

    configure()  # the package's log lines, as the flow shows them

    clock = Clock()  # start
    cfg = load(args.config)
{%- if cookiecutter.sweep %}
    if cfg.training.sweep:
        sys.exit("plain_run.py trains one network: compare it with a flow run without training.sweep")
{%- endif %}
    git = git_facts()
    run_id = run_record.open_run(cfg.model_dump(), cfg.packaging.model_name, "PlainRun", "plain", git)
    content, data = read_data(cfg.data.path, "", False, args.config)
{%- if cookiecutter.snapshots %}
    why_not = canonical_reasons(git, data, args.config, "", False, getattr(cfg.model, "name_or_path", None))
    run_record.record_data(run_id, data, why_not)
{%- else %}
    run_record.record_data(run_id, data)
{%- endif %}
    table = read_table(cfg.data.path, content, args.config)
    columns = validate_table(table, cfg.data, args.config)
    run_record.log_dataset(run_id, table, data, cfg.data.target)
    rows = len(table)
    pinned = pinned_champion(cfg.packaging.model_name) if cfg.gates.champion.enabled else None
    splits = split(table, cfg.split, cfg.data.target, cfg.seed)
    encoder = task.fit_encoder(splits["train"], columns, cfg)
    arrays = {name: (encoder.transform(df), encoder.encode_target(df[cfg.data.target])) for name, df in splits.items()}
    clock.step("train")
    seed_everything(cfg.seed)
    network = task.build_network(encoder, cfg.model)
    training = fit(network, arrays["train"], arrays["validation"], cfg.training, cfg.seed)
    print(summary(training), flush=True)
    weights = weights_to_bytes(network)
    clock.step("evaluate")
    (x_test, y_test), test = arrays["test"], splits["test"]
    proba = predict_proba(network, x_test)
{%- if cookiecutter.mitigation %}
    labels, thresholds, unmitigated = decide(proba, cfg.serving.threshold), None, None
    if cfg.mitigation.method != "none":
        from {{ cookiecutter.module_name }}.gates.mitigation import Thresholds, fit_outside_training

        unmitigated = {"y_pred": labels, "proba": proba}
        thresholds = fit_outside_training(network, encoder, arrays, splits, cfg, model_inputs(columns, cfg))
        labels = Thresholds(thresholds).decide(proba, test)
{%- else %}
    labels = decide(proba, cfg.serving.threshold)
{%- endif %}
    predictions = {"y_true": y_test, "y_pred": labels, "proba": proba}
    metrics = scored(predictions, score, cfg.gates, cfg.seed)
    class_metrics = per_class_metrics(y_test, labels, encoder.classes)
    name, target = cfg.packaging.model_name, cfg.data.target
    champion = champion_metrics(name, pinned, test, target, predictions, cfg.gates, cfg.seed)
    print("test metrics:", shown(metrics))
{%- if cookiecutter.__fairness %}
    fairness, sensitive = cfg.gates.fairness, test[cfg.data.sensitive_features]

    def tables_of(p):
        if not fairness.enabled:
            return {}
        primary, classes = cfg.gates.primary_metric, encoder.classes
        intersections = fairness.intersections
        return group_tables(y_test, p["y_pred"], p["proba"], sensitive, primary, intersections, classes, cfg.gates)

    tables = tables_of({"y_pred": labels, "proba": proba})
{%- if cookiecutter.mitigation %}
    verdicts = run_gates(metrics, tables, champion, cfg.gates, set(), tables_of(unmitigated) if unmitigated else None)
{%- else %}
    verdicts = run_gates(metrics, tables, champion, cfg.gates, set())
{%- endif %}
    verdicts = [v.as_dict() for v in verdicts]
    figures = reports.charts(tables, cfg.gates.primary_metric, cfg.gates.fairness)
    report = {"report.html": reports.html_report(verdicts, tables, figures)} | figures
{%- else %}
    verdicts = [v.as_dict() for v in run_gates(metrics, champion, cfg.gates, set())]
    report = {"report.html": reports.html_report(verdicts)}
{%- endif %}
    clock.step("package")
    run_record.log_training(run_id, training, weights_sha256(weights), encoder.state())
    run_record.record_evaluation(run_id, metrics, verdicts, report, class_metrics)
    enforce(verdicts)
{%- if cookiecutter.mitigation %}
    mitigation = {}
    if thresholds:
        from {{ cookiecutter.module_name }}.gates.mitigation import model_spec

        mitigation = model_spec(thresholds, cfg)
    spec = ModelSpec(
        task=task.NAME, encoder=encoder.state(), network=cfg.model, serving=cfg.serving, mitigation=mitigation or None
    )
    decision = {"classes": encoder.classes, "threshold": cfg.serving.threshold}
    card_text = reports.model_card(
        description, data, rows, metrics, tables, verdicts, mitigation, decision, class_metrics, training
    )
{%- elif cookiecutter.__fairness %}
    spec = ModelSpec(task=task.NAME, encoder=encoder.state(), network=cfg.model, serving=cfg.serving)
    decision = {"classes": encoder.classes, "threshold": cfg.serving.threshold}
    card_text = reports.model_card(
        description, data, rows, metrics, tables, verdicts, decision, class_metrics, training
    )
{%- else %}
    spec = ModelSpec(task=task.NAME, encoder=encoder.state(), network=cfg.model, serving=cfg.serving)
    decision = {"classes": encoder.classes, "threshold": cfg.serving.threshold}
    card_text = reports.model_card(description, data, rows, metrics, verdicts, decision, class_metrics, training)
{%- endif %}
    if args.publish == "true":
        published = publish_model(
            cfg.packaging.model_name,
            weights=weights,
            spec=spec,
{%- if cookiecutter.mitigation %}
            extra=thresholds,
{%- endif %}
            example=test[model_inputs(columns, cfg)].head(3),
            lineage=run_record.labels(run_id, "", git["commit"], data["md5"]),
            metadata={"metrics": metrics, "accelerator": training["accelerator"]},
            model_card=card_text,
            promote=cfg.packaging.promote,
            build=cfg.packaging.build_bento,
            gates=gate_outcome(verdicts),
            data_pinned=data["pinned"],
        )
        print("model {model_tag}; bento {bento_tag}; registry version {mlflow_model_version}".format(**published))
    tracking.finish(run_id)
    clock.step("end")
    print(f"done: MLflow run {run_id}")
    print("plain steps:", json.dumps({k: round(v, 3) for k, v in clock.seconds.items()}), flush=True)
    return metrics


if __name__ == "__main__":
    main()

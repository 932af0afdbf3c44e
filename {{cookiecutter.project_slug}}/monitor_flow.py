"""Monitoring: judge what the served model sees against the data it was trained on.

    python monitor_flow.py run                        # the prediction log's window (monitoring.window in params.yaml)
    python monitor_flow.py run --batch new.csv        # a new data batch instead (CSV or Parquet), scored by the model;
                                                      # with its target column filled in, also judged by the gates
    python monitor_flow.py run --last-records 1000    # another window (also --last-hours H)
    python monitor_flow.py run --model-version TAG    # the rows a given BentoML model answered (default: the newest)
    python monitor_flow.py run --report-only true     # exit 0 even when the verdict is drift or degraded
    python monitor_flow.py run --expect drift         # a demo: exit 0 on that verdict, non-zero on any other
{%- if cookiecutter.scale_out %}
    python monitor_flow.py run --retrain-data-md5 MD5 # on Argo: the data version a triggered retraining trains on
{%- endif %}

The reference is the judged model's own training split, found through its lineage (monitoring/reference.py). Every
check (drift per feature and on the predictions, data quality, schema) is reported with its value, threshold and
status. A batch with labels is also judged by the training flow's performance{{ " and fairness gates" if cookiecutter.__fairness else " gate" }} (a failed gate:
`degraded`). The verdict (ok / warn / drift / degraded) goes to a card (`python monitor_flow.py card get judge
verdict.html`), to monitoring/reports/<run id>/ (verdict.html, evidently.html, verdict.json) and to an MLflow run in the
experiment `<model name>-monitoring`. A drift or degraded verdict ends the run with a non-zero exit after everything is
written{% if cookiecutter.scale_out %}; on Argo Workflows, with monitoring.retrain_event set, it first publishes that event (retrain_event.py){% endif %}.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from metaflow import (  # noqa: E402
    Config,
{%- if cookiecutter.scale_out %}
    FlowMutator,
{%- endif %}
    FlowSpec,
    Parameter,
    card,
    current,
    project,
{%- if cookiecutter.scale_out %}
    schedule,
{%- endif %}
    step,
    user_step_decorator,
)
from metaflow.exception import MetaflowException  # noqa: E402

from {{ cookiecutter.module_name }}.config import ConfigError, Params, parse, source_file, validate  # noqa: E402
from {{ cookiecutter.module_name }}.errors import ProjectError  # noqa: E402
from {{ cookiecutter.module_name }}.logs import configure  # noqa: E402

configure()  # the package's log lines (epochs, timings) on stdout, in every step's output


class Stopped(MetaflowException):
    """An expected failure: its message alone, no traceback."""

    def __init__(self, err: ProjectError):
        super().__init__(str(err))
        self.headline = err.headline


def parse_params(text: str) -> dict:
    try:
        return parse(text, source_file(sys.argv))
    except ConfigError as err:
        raise Stopped(err) from None


@user_step_decorator
def expected(step_name, flow, inputs):
    try:
        yield
    except ProjectError as err:
        raise Stopped(err) from None
{%- if cookiecutter.scale_out %}


class scheduled(FlowMutator):
    """monitoring.schedule set: deployed on Argo Workflows, the monitor runs on that schedule (`@schedule`). A run
    started by hand is unaffected."""

    def pre_mutate(self, mutable_flow):
        from {{ cookiecutter.module_name }}.monitoring.retrain_event import schedule_arguments

        if when := dict(mutable_flow.configs)["config"]["monitoring"]["schedule"]:
            mutable_flow.add_decorator(schedule, deco_kwargs=schedule_arguments(when))
{%- endif %}


{% if cookiecutter.scale_out -%}
@scheduled
{% endif -%}
@project(name="{{ cookiecutter.module_name }}")
class MonitorFlow(FlowSpec):
    config = Config("config", default="params.yaml", parser=parse_params)
    batch = Parameter("batch", default="", help="a CSV or Parquet batch to judge instead of the prediction log")
    model_version = Parameter(
        "model-version", default="", help="BentoML model tag judged (default: the log's newest row's; batch: champion)"
    )
    last_records = Parameter("last-records", type=int, default=0, help="window: the newest N rows (0: params.yaml)")
    last_hours = Parameter("last-hours", type=float, default=0.0, help="window: the last H hours (0: params.yaml)")
    report_only = Parameter("report-only", type=bool, default=False, help="exit 0 even on drift or degraded")
    expect = Parameter("expect", default="", help="a demo's verdict (drift): exit 0 on it, non-zero on any other")
{%- if cookiecutter.scale_out %}
    retrain_data_md5 = Parameter(
        "retrain-data-md5", default="", help="the new data version (md5, in the DVC remote) a retraining run trains on"
    )
{%- endif %}

    @property
    def settings(self) -> Params:
        return validate(self.config.to_dict())

    @expected
    @step
    def start(self):
        """The rows judged, the model that answered them, and its training split (scored by it) as the reference."""
        from {{ cookiecutter.module_name }}.monitoring import performance, reference, scoring, window
        from {{ cookiecutter.module_name }}.release.artifact import Predictor

        cfg = self.settings
        if self.batch:
            rows = window.read_batch(self.batch)
            self.model, self.others = self.model_version or reference.champion_model(cfg.packaging.model_name), {}
            self.source = f"batch {self.batch}"
        else:
            watched = cfg.monitoring.window
            last_records, last_hours = self.last_records or watched.last_records, self.last_hours or watched.last_hours
            log = window.window(window.read_log(cfg.monitoring.log_dir), last_records, last_hours)
            rows, self.model, self.others = window.served_by(log, self.model_version)
            self.source = f"prediction log {cfg.monitoring.log_dir} ({len(log)} rows in the window)"
        self.lineage = reference.find_lineage(self.model)
        train, self.reference_source = reference.training_split(self.lineage)
        predictor = Predictor(self.lineage.model_path)
        self.numeric, self.categorical = scoring.model_inputs(predictor)
        self.inputs = self.numeric + self.categorical
{%- if cookiecutter.task == "tabular_regression" %}
        self.predicted = scoring.prediction_columns()  # the predicted value
{%- else %}
        self.predicted = scoring.prediction_columns(predictor.encoder.classes)
{%- endif %}
        self.reference = scoring.with_predictions(predictor, train, self.inputs)
        self.current = scoring.with_predictions(predictor, rows, self.inputs) if self.batch else rows
        truth = performance.labelled(rows, self.lineage.target) if self.batch else rows.iloc[0:0]
        self.gate_checks, self.labelled_rows = [], len(truth)  # labelled rows: judged by the training gates too
        if self.labelled_rows:
            from {{ cookiecutter.module_name }}.gates.evidence import shown

            target = self.lineage.target
            verdicts, metrics, _ = performance.labelled_gates(predictor, truth, self.inputs, target, cfg)
            self.gate_checks = performance.as_checks(verdicts, len(truth))
            print(f"{len(truth)} labelled rows:", shown(metrics))
        if cfg.data.text_column:  # texts are judged through their statistics (length, unknown tokens)
            from {{ cookiecutter.module_name }}.monitoring import text

            texts, tokenizer = [cfg.data.text_column], predictor.encoder.tokenizer
            self.reference = text.with_statistics(self.reference, texts, tokenizer)
            self.current = text.with_statistics(self.current, texts, tokenizer)
            self.numeric, self.categorical = text.statistic_columns(texts), []
        print(f"judging {len(self.current)} rows of {self.source} answered by {self.model}")
        print(f"reference: its training split, {len(self.reference)} rows ({self.reference_source})")
        self.next(self.judge)

    @card(type="blank", id="verdict")
    @expected
    @step
    def judge(self):
        """Every check, the verdict, the reports and the MLflow monitoring run."""
        from {{ cookiecutter.module_name }}.lineage.run_record import PATHSPEC
        from {{ cookiecutter.module_name }}.monitoring import checks, report

        cfg = self.settings
        ignored = [*window_columns(), self.lineage.target{{ ", *cfg.data.sensitive_features" if cookiecutter.__fairness }}, *cfg.data.drop]
        ignored += [c for c in self.numeric + self.categorical if c not in self.inputs]  # derived: text statistics
        found = checks.schema_checks(list(self.current.columns), self.inputs, ignored)
        columns = checks.drift_columns(self.numeric, self.categorical, self.predicted)
        drift, quality, snapshot = checks.evidently_checks(
            self.reference, self.current, columns, self.numeric, self.categorical, cfg.monitoring
        )
        found += drift + quality + self.gate_checks
        self.verdict = report.verdict(found)
        self.checks = [c.as_dict() for c in found]
        self.drifted = checks.drifted(found)
        facts = {
            "model (BentoML)": self.model,
            "MLflow model version": self.lineage.mlflow_model_version,
            "judged": f"{len(self.current)} rows of {self.source}",
            "reference": f"training split, {len(self.reference)} rows, {self.lineage.data_path} md5 "
            f"{self.lineage.data_md5} ({self.reference_source})",
            "rows of other models in the window": self.others or "none",
            "features drifted": ", ".join(self.drifted) or "none",
            "labelled rows judged by the gates": self.labelled_rows,
        }
        print(report.summary(found, self.verdict))
        report.monitor_card(current.card["verdict"], found, self.verdict, facts)
        directory = Path("monitoring") / "reports" / current.run_id
        files = report.write_reports(directory, found, self.verdict, facts, snapshot)
        self.report_dir = str(directory)
        experiment = cfg.monitoring.experiment or f"{cfg.packaging.model_name}-monitoring"
        tags = self.lineage.tags() | {PATHSPEC: f"{current.flow_name}/{current.run_id}"}
        tags |= {"monitoring.source": "batch" if self.batch else "prediction_log", "monitoring.rows": len(self.current)}
        name = f"monitor-{current.run_id}"
        self.mlflow_run_id = report.log_to_mlflow(experiment, name, tags, found, self.verdict, files)
        print(f"report: {files['verdict.html']}; MLflow run {self.mlflow_run_id} in experiment {experiment}")
        self.next(self.end)

    @expected
    @step
    def end(self):
{%- if cookiecutter.scale_out %}
        """On Argo Workflows, a drift or degraded verdict first publishes monitoring.retrain_event; then it fails the
        run (non-zero exit), unless --report-only true."""
        from {{ cookiecutter.module_name }}.monitoring import retrain_event
        from {{ cookiecutter.module_name }}.monitoring.performance import failed_gates
        from {{ cookiecutter.module_name }}.monitoring.report import fail_on_verdict

        pathspec = f"{current.flow_name}/{current.run_id}"
        facts = retrain_event.payload(
            self.verdict, self.model, self.lineage.mlflow_model_version, pathspec, self.retrain_data_md5
        )
        event = self.settings.monitoring.retrain_event
        if said := retrain_event.request_retraining(event, facts, retrain_event.on_argo()):
            print(said)
{%- else %}
        """A drift or degraded verdict fails the run (non-zero exit), unless --report-only true."""
        from {{ cookiecutter.module_name }}.monitoring.performance import failed_gates
        from {{ cookiecutter.module_name }}.monitoring.report import fail_on_verdict
{%- endif %}

        degraded = failed_gates(self.gate_checks)
        print(fail_on_verdict(self.verdict, self.drifted, self.report_dir, self.report_only, degraded, self.expect))


def window_columns() -> list[str]:
    from {{ cookiecutter.module_name }}.monitoring.window import BOOKKEEPING

    return [*BOOKKEEPING, "{{ "value" if cookiecutter.task == "tabular_regression" else "label" }}"]


if __name__ == "__main__":
    MonitorFlow()

"""Training lifecycle: start (load, validate, split, encode) → train → evaluate (score, judge the gates) → package →
end{% if cookiecutter.sweep %}; with `training.sweep`, start → fan_out → train_candidate (one task per candidate) → select (the best on the
validation split) → evaluate{% endif %}{% if cookiecutter.scale_out %}; with `training.nodes` > 1, start → spread → train_node (one rank per node, Lightning
DDP) → join_nodes → evaluate{% endif %}.

    python flow.py run                                   # params.yaml and the data its .dvc pointer pins
    python flow.py run --data-rev v1.0                   # train on the data as of a git revision or tag
{%- if cookiecutter.scale_out %}
    python flow.py run --data-md5 MD5                    # cloud profile: that data version in the DVC remote
{%- endif %}
    python flow.py --config config other.yaml run        # another configuration file

Each step is a separate process that calls plain functions from src/{{ cookiecutter.module_name }}/; heavy libraries are
imported inside the steps that use them so the cheap steps stay cheap. A step is where the work changes its
resources or its audience: the data work is cheap and shares start's process, training asks for its own resources
(and fans out), the judgement has its own card, and packaging is the one step that publishes. Every run is one MLflow
run (lineage.py, run_record.py): params, metrics, git commit, data hash, Metaflow pathspec, environment, and the
registered model.
"""

import sys
from pathlib import Path

# src/ layout: importable here and inside Metaflow's code package when steps run remotely.
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
{%- if cookiecutter.scale_out %}
    environment,
    parallel,
{%- endif %}
    project,
    resources,
    step,
    timeout,
    user_step_decorator,
)
from metaflow.exception import MetaflowException  # noqa: E402

from {{ cookiecutter.module_name }}.config import (  # noqa: E402
    ConfigError,
    Params,
    parse,
    source_file,
    validate,
{%- if cookiecutter.sweep %}
    with_candidate,
{%- endif %}
)
from {{ cookiecutter.module_name }}.errors import ProjectError  # noqa: E402
from {{ cookiecutter.module_name }}.logs import configure  # noqa: E402

configure()  # the package's log lines (epochs, timings) on stdout, in every step's output

CONFIG_FILE = "config_file"  # added by parse_params: the file the config came from, named in later steps' messages
# The steps that talk to the stores (data, MLflow, BentoML) have a @timeout, so a hung connection fails the run instead
# of holding a worker. They have no @retry: their clients retry transient errors themselves, and a retried step would
# repeat a verdict (a failed gate, bad data) and write to the run's MLflow record again.


class Stopped(MetaflowException):
    """An expected failure (a ProjectError): Metaflow prints a MetaflowException's headline and message, with no
    traceback; any other exception is printed as an "Internal error" with its traceback."""

    def __init__(self, err: ProjectError):
        super().__init__(str(err))
        self.headline = err.headline


def parse_params(text: str) -> dict:
    """Validate the config file before any step runs, naming the file (Metaflow passes the parser only the text)."""
    source = source_file(sys.argv)
    try:
        return parse(text, source) | {CONFIG_FILE: source}
    except ConfigError as err:
        raise Stopped(err) from None


@user_step_decorator
def tracked(step_name, flow, inputs):
    """A step that raises marks the run's MLflow run FAILED, naming the step, so no run stays RUNNING; an expected
    failure then stops the run with its message alone, a bug with its traceback."""
    try:
        yield
    except Exception as err:
        run_id = getattr(flow, "mlflow_run_id", None)
        if run_id:
            from {{ cookiecutter.module_name }}.lineage import run_record

            if step_name == "evaluate":  # trained, but package (which logs the training) will not run
                run_record.log_training(run_id, flow.training, flow.weights_sha256, flow.encoder_state)

            figures = {k: getattr(flow, k, {}) for k in ("metrics", "verdicts", "report", "class_metrics")}
            run_record.record_evaluation(run_id, **figures)
            step = getattr(err, "step", step_name)  # GateFailed names the gate step, whose verdict it enforces
            run_record.fail(run_id, step, f"{type(err).__name__}: {err}")
        if isinstance(err, ProjectError):
            raise Stopped(err) from None
        raise


{%- if cookiecutter.scale_out %}


class cloud_profile(FlowMutator):
    """The cloud profile (cloud.py), off unless its variables are set: forward them to every step, and package what
    steps read besides code (params, data pointers, requirements, bentofile) and the git facts at launch."""

    def pre_mutate(self, mutable_flow):
        from {{ cookiecutter.module_name }}.scale.cloud import forwarded_env

        if forwarded := forwarded_env():
            for _, step_ in mutable_flow.steps:
                step_.add_decorator(environment, deco_kwargs={"vars": forwarded})

    def add_to_package(self):
        from metaflow.packaging_sys import ContentType

        from {{ cookiecutter.module_name }}.scale.cloud import package_files

        return [(path, name, ContentType.USER_CONTENT) for path, name in package_files()]  # beside flow.py
{%- endif %}
{%- if cookiecutter.monitoring and cookiecutter.scale_out %}


class retrain_trigger(FlowMutator):
    """monitoring.retrain_event set: deployed on Argo Workflows, the flow also starts when a monitor publishes that
    event, on the data version the event names (retrain_event.py). A run started by hand is unaffected."""

    def pre_mutate(self, mutable_flow):
        from metaflow import trigger

        from {{ cookiecutter.module_name }}.monitoring.retrain_event import trigger_event

        if event := dict(mutable_flow.configs)["config"]["monitoring"]["retrain_event"]:
            mutable_flow.add_decorator(trigger, deco_kwargs={"event": trigger_event(event)})
{%- endif %}


{% if cookiecutter.monitoring and cookiecutter.scale_out -%}
@retrain_trigger
{% endif -%}
{% if cookiecutter.scale_out -%}
@cloud_profile
{% endif -%}
@project(name="{{ cookiecutter.module_name }}")
class TrainingFlow(FlowSpec):
    config = Config("config", default="params.yaml", parser=parse_params)
    data_rev = Parameter("data-rev", default="", help="git revision or tag to read the data at (default: workspace)")
{%- if cookiecutter.scale_out %}
    data_md5 = Parameter("data-md5", default="", help="cloud profile: train on that md5 version in the DVC remote")
{%- endif %}
    allow_unpinned_data = Parameter(
        "allow-unpinned-data", type=bool, default=False, help="train on data that does not match its .dvc pointer"
    )
    publish = Parameter("publish", type=bool, default=True, help="false: gate but neither register nor package")
    skip_gates = Parameter(
        "skip-gates", default="", help="comma-separated gates to skip (logged): performance, {{ 'fairness, ' if cookiecutter.__fairness }}champion"
    )

    @property
    def settings(self) -> Params:
{%- if cookiecutter.sweep %}
        """params.yaml, validated; in a sweep, with the candidate's values: a train_candidate task's own, then (from
        select on) the winner's, so evaluate, gate and package use the settings the kept network was trained with."""
        params = validate({k: v for k, v in self.config.to_dict().items() if k != CONFIG_FILE})
        candidate = getattr(self, "candidate", None)
        return with_candidate(params, candidate["settings"]) if candidate else params
{%- else %}
        """params.yaml, validated."""
        return validate({k: v for k, v in self.config.to_dict().items() if k != CONFIG_FILE})
{%- endif %}

    @property
    def config_file(self) -> str:
        return self.config.to_dict().get(CONFIG_FILE, "params.yaml")

    @timeout(minutes=30)
    @tracked
    @step
    def start(self):
        """Open the MLflow run, load exactly the data the .dvc pointer pins, check it against the config, split it and
        encode it."""
        from {{ cookiecutter.module_name }}.gates.judge import parse_skip
        from {{ cookiecutter.module_name }}.lineage import run_record
        from {{ cookiecutter.module_name }}.lineage.git import git_facts
        from {{ cookiecutter.module_name }}.lineage.lineage import read_data
{%- if cookiecutter.snapshots %}
        from {{ cookiecutter.module_name }}.lineage.snapshots import canonical_reasons
{%- endif %}
        from {{ cookiecutter.module_name }}.pipeline.data import describe_schema, read_table, schema, split, validate_table
        from {{ cookiecutter.module_name }}.release.champion import pinned_champion

        cfg = self.settings
        self.git = git_facts()
        self.mlflow_run_id = run_record.open_run(
            cfg.model_dump(), cfg.packaging.model_name, current.flow_name, current.run_id, self.git
        )
        skipped = parse_skip(self.skip_gates)  # a mistyped name fails here (its MLflow run FAILED), not after training
        self.champion_pin = None  # the champion this run is judged against: the registry's as the run starts
        if cfg.gates.champion.enabled and "champion" not in skipped:
            pin = self.champion_pin = pinned_champion(cfg.packaging.model_name)
            print((pin.get("error") or f"judged against the champion, v{pin['version']}") if pin else "no champion yet")
{%- if cookiecutter.scale_out %}
        content, self.data = read_data(
            cfg.data.path, self.data_rev, self.allow_unpinned_data, self.config_file, md5=self.data_md5
        )
{%- else %}
        content, self.data = read_data(cfg.data.path, self.data_rev, self.allow_unpinned_data, self.config_file)
{%- endif %}
        if not self.data["pinned"]:
            print(f"WARNING: training on unpinned data {cfg.data.path} (--allow-unpinned-data)")
{%- if cookiecutter.snapshots %}
        # only a canonical run may stand for its commit in a snapshot
        base_model = getattr(cfg.model, "name_or_path", None)
        why_not = canonical_reasons(
            self.git, self.data, self.config_file, self.skip_gates, self.allow_unpinned_data, base_model
        )
        run_record.record_data(self.mlflow_run_id, self.data, why_not)
        if why_not:
            print(f"not a canonical run (a snapshot will not use it): {'; '.join(why_not)}")
{%- else %}
        run_record.record_data(self.mlflow_run_id, self.data)
{%- endif %}
        table = read_table(cfg.data.path, content, self.config_file)
        del content  # the file's bytes, parsed
        self.columns = validate_table(table, cfg.data, self.config_file)
        self.schema = schema(table, self.columns)  # the data contract, recorded in MLflow and in the model
        print(describe_schema(self.schema, cfg.data, self.columns.coerced))
        run_record.record_schema(self.mlflow_run_id, self.schema, self.columns.coerced)
        run_record.log_dataset(self.mlflow_run_id, table, self.data, cfg.data.target)  # shown in the MLflow UI
{%- if cookiecutter.mitigation %}
        if cfg.mitigation.method != "none":
            from {{ cookiecutter.module_name }}.gates.mitigation import require_binary
            from {{ cookiecutter.module_name }}.pipeline.data import classes_of

            require_binary(classes_of(table[cfg.data.target]))
{%- endif %}
        self.rows = len(table)  # for the model card
        print(f"loaded {self.rows} rows (md5 {self.data['md5']}, {self.data['rev']})")
        # Split and encode here, not in steps of their own: they are cheap, deterministic functions of the table, and a
        # step of their own would cost a process and another copy of the data in the datastore.
        # seeded{{ "" if cookiecutter.task == "tabular_regression" else ", stratified on the target by default" }}; sizes that leave a split too small stop here
        splits = split(table, cfg.split, cfg.data.target, cfg.seed, self.config_file)
        del table  # the splits hold its rows; the encoding needs the memory (the table is no artifact)
        print({name: len(frame) for name, frame in splits.items()})
        self.encode(splits)
{%- if cookiecutter.sweep and cookiecutter.scale_out %}
        training = cfg.training
        self.training_plan = "sweep" if training.sweep else "nodes" if training.nodes > 1 else "single"
        self.next({"single": self.train, "sweep": self.fan_out, "nodes": self.spread}, condition="training_plan")
{%- elif cookiecutter.sweep %}
        self.training_plan = "sweep" if cfg.training.sweep else "single"
        self.next({"single": self.train, "sweep": self.fan_out}, condition="training_plan")
{%- elif cookiecutter.scale_out %}
        self.training_plan = "nodes" if cfg.training.nodes > 1 else "single"
        self.next({"single": self.train, "nodes": self.spread}, condition="training_plan")
{%- else %}
        self.next(self.train)
{%- endif %}

    def encode(self, splits: dict):
        """The encoder fitted on the training split only; every split encoded with it. The test rows are artifacts of
        their own, apart from the rows training sees (`splits`, `arrays`: train and validation), so evaluate loads
        only the test rows and package only three of them, its input example."""
        from {{ cookiecutter.module_name }}.pipeline.data import model_inputs
        from {{ cookiecutter.module_name }}.pipeline.tasks import task

        cfg = self.settings
        encoder = task.fit_encoder(splits["train"], self.columns, cfg)
        self.encoder_state = encoder.state()
        target = cfg.data.target
        arrays = {name: (encoder.transform(df), encoder.encode_target(df[target])) for name, df in splits.items()}
        self.test_split, self.test_arrays = splits.pop("test"), arrays.pop("test")
        self.input_example = self.test_split[model_inputs(self.columns, cfg)].head(3)
        self.splits, self.arrays = splits, arrays
{%- if cookiecutter.scale_out %}

    def fit_network(self, group=None):
        """Seeded (deterministic on CPU) Lightning fit with the settings of this task; keeps the best epoch's weights
        and their hash (`group`: as one rank of a data-parallel training; only rank 0 keeps the weights)."""
{%- else %}

    def fit_network(self):
        """Seeded (deterministic on CPU) Lightning fit with the settings of this task; keeps the best epoch's weights
        and their hash."""
{%- endif %}
        from {{ cookiecutter.module_name }}.pipeline.tasks import task
        from {{ cookiecutter.module_name }}.pipeline.training import fit, seed_everything, summary, weights_to_bytes
        from {{ cookiecutter.module_name }}.release.packaging import weights_sha256

        cfg = self.settings
        seed_everything(cfg.seed)
        network = task.build_network(task.encoder_from_state(self.encoder_state), cfg.model)
{%- if cookiecutter.scale_out %}
        self.training = fit(network, self.arrays["train"], self.arrays["validation"], cfg.training, cfg.seed, group)
        print(summary(self.training), flush=True)
        weights = weights_to_bytes(network)
        self.weights_sha256 = weights_sha256(weights)
        if group is None or group.node_rank == 0:
            self.weights = weights
{%- else %}
        self.training = fit(network, self.arrays["train"], self.arrays["validation"], cfg.training, cfg.seed)
        print(summary(self.training), flush=True)
        self.weights = weights_to_bytes(network)
        self.weights_sha256 = weights_sha256(self.weights)
{%- endif %}

    @tracked
    @resources(cpu=2, memory=config.training.memory_mb, gpu=config.training.gpus)
    @step
    def train(self):
        """Fit the network with Lightning (seeded; deterministic on CPU), one line per epoch as it ends; keep the best
        epoch's weights (early stopping on `training.monitor`). The history and the epoch kept are logged to MLflow by
        package (or by the step that fails), so this step does not pay for importing MLflow."""
        self.fit_network()
        self.next(self.evaluate)
{%- if cookiecutter.sweep %}

    @step
    def fan_out(self):
        """training.sweep: one train_candidate task per candidate (locally in parallel, up to --max-workers)."""
        settings = self.settings.training.sweep.settings()
        self.candidates = [{"number": number, "settings": s} for number, s in enumerate(settings, 1)]
        print(f"sweep: {len(self.candidates)} candidates")
        self.next(self.train_candidate, foreach="candidates")

    @tracked
    @resources(cpu=2, memory=config.training.memory_mb, gpu=config.training.gpus)
    @step
    def train_candidate(self):
        """As train, with one candidate's settings; no MLflow here either (select records every candidate)."""
        self.candidate = self.input
        print(f"candidate {self.candidate['number']}: {self.candidate['settings']}", flush=True)
        self.fit_network()
        self.next(self.select)
{%- endif %}
{%- if cookiecutter.scale_out %}

    @step
    def spread(self):
        """training.nodes > 1: one train_node task per node, started together (gang-scheduled on a cluster)."""
        print(f"data-parallel training on {self.settings.training.nodes} nodes")
        self.next(self.train_node, num_parallel=self.settings.training.nodes)

    @tracked
    @resources(cpu=2, memory=config.training.memory_mb, gpu=config.training.gpus)
    @parallel
    @step
    def train_node(self):
        """One rank of a data-parallel training: Lightning DDP across the nodes (gloo on CPU, nccl on GPU), meeting at
        the main node's address from current.parallel. Each rank trains on its shard of the batches; DDP averages the
        gradients, so every rank ends with the same weights."""
        from {{ cookiecutter.module_name }}.pipeline.distributed import rendezvous

        group = rendezvous(current.parallel, current.run_id, self.settings.training.master_port)
        self.node_index = group.node_rank
        self.fit_network(group)
        self.next(self.join_nodes)

    @tracked
    @step
    def join_nodes(self, inputs):
        """Fail closed unless every rank ended with the same weights (sha256 of the tensors); rank 0's go on."""
        from {{ cookiecutter.module_name }}.pipeline.distributed import agreed_weights

        self.merge_artifacts(inputs, exclude=["node_index", "training", "weights", "weights_sha256"])
        self.node_weights = {task.node_index: task.weights_sha256 for task in inputs}  # recorded in the run
        self.weights_sha256 = agreed_weights(self.node_weights)
        main = next(task for task in inputs if task.node_index == 0)
        self.training, self.weights = main.training, main.weights
        agreed = f"{len(self.node_weights)} ranks ended with the same weights ({self.weights_sha256[:12]})"
        print(f"{agreed}; rank 0's go on")
        self.next(self.evaluate)
{%- endif %}
{%- if cookiecutter.sweep %}

    @timeout(minutes=15)
    @tracked
    @step
    def select(self, inputs):
        """Keep the candidate best on the validation split by `training.monitor` (ties: the earlier candidate); record
        every candidate as a child MLflow run and the choice in the flow's run. Only the winner goes on."""
        from {{ cookiecutter.module_name }}.pipeline.sweep import comparison, record_sweep, select_best, table_text

        self.merge_artifacts(inputs, exclude=["candidate", "training", "weights", "weights_sha256"])
        base, tasks = self.settings, sorted(inputs, key=lambda task: task.candidate["number"])
        results = [task.training for task in tasks]
        best = select_best(results, base.training.monitor)
        candidates = [task.candidate | {"weights_sha256": task.weights_sha256} for task in tasks]
        self.sweep_table = comparison(candidates, results, best, base.training.monitor)
        settings = [with_candidate(base, c["settings"]) for c in candidates]
        self.sweep_children = record_sweep(self.mlflow_run_id, self.sweep_table, results, settings)
        print(table_text(self.sweep_table, base.training.monitor))
        kept = tasks[best]
        self.candidate, self.training, self.weights_sha256 = kept.candidate, kept.training, kept.weights_sha256
        self.weights = kept.weights  # only the kept network's weights are loaded
        print(f"kept candidate {self.candidate['number']}: {self.candidate['settings']}")
        self.next(self.evaluate)
{%- endif %}

    @card(type="blank", id="gates")
    @tracked
    @step
    def evaluate(self):
{%- if cookiecutter.mitigation %}
        """Score the trained network on the held-out test split (through fairness thresholds fitted on scores of rows
        the scoring network did not train on, when mitigation is on) and the champion pinned in start beside it on
        the test rows it never trained on either;
{%- else %}
        """Score the trained network on the held-out test split and the champion pinned in start beside it on the test
        rows it never trained on either;
{%- endif %} judge performance{{ ', fairness' if cookiecutter.__fairness }} and the champion and report every check
        (card + MLflow). Scoring and judging share a process: the verdict needs the scores and nothing else. Enforced in
        package, so a failed gate still leaves its card and its record."""
        self.score()
        self.judge()
        self.next(self.package)

    def score(self):
        """evaluate's first half: the test split's predictions and metrics, and the champion's beside them."""
        from {{ cookiecutter.module_name }}.gates.evidence import scored, shown
{%- if cookiecutter.task == "tabular_regression" %}
        from {{ cookiecutter.module_name }}.pipeline.evaluation import predict_values, score
{%- else %}
        from {{ cookiecutter.module_name }}.pipeline.evaluation import decide, per_class_metrics, predict_proba, score
{%- endif %}
        from {{ cookiecutter.module_name }}.pipeline.tasks import task
        from {{ cookiecutter.module_name }}.pipeline.training import load_weights
        from {{ cookiecutter.module_name }}.release.champion import champion_metrics

        cfg = self.settings
        encoder = task.encoder_from_state(self.encoder_state)
        network = load_weights(task.build_network(encoder, cfg.model, pretrained=False), self.weights)
{%- if cookiecutter.task == "tabular_regression" %}
        test = self.test_split
        y_true = test[cfg.data.target].to_numpy(dtype="float64")  # in its units (test_arrays: standardised)
        self.predictions = {"y_true": y_true, "y_pred": predict_values(network, self.test_arrays[0], encoder)}
        self.classes, self.class_metrics = [], {}
        self.metrics = scored(self.predictions, score, cfg.gates, cfg.seed)
        print("test metrics:", shown(self.metrics))
{%- else %}
        (x_test, y_test), test = self.test_arrays, self.test_split
        proba = predict_proba(network, x_test)
{%- if cookiecutter.mitigation %}
        labels, self.thresholds, self.unmitigated = decide(proba, cfg.serving.threshold), None, None
        if cfg.mitigation.method != "none":
            from {{ cookiecutter.module_name }}.gates.mitigation import Thresholds, fit_outside_training
            from {{ cookiecutter.module_name }}.pipeline.data import model_inputs

            self.unmitigated = {"y_pred": labels, "proba": proba}
            print("before mitigation:", shown(score(self.unmitigated | {"y_true": y_test})))
            inputs = model_inputs(self.columns, cfg)
            self.thresholds = fit_outside_training(network, encoder, self.arrays, self.splits, cfg, inputs)
            labels = Thresholds(self.thresholds).decide(proba, test)
{%- else %}
        labels = decide(proba, cfg.serving.threshold)
{%- endif %}
        self.classes = encoder.classes
        self.predictions = {"y_true": y_test, "y_pred": labels, "proba": proba}
        self.metrics = scored(self.predictions, score, cfg.gates, cfg.seed)
        self.class_metrics = per_class_metrics(y_test, labels, self.classes)
        print("test metrics:", shown(self.metrics))
        if len(self.classes) > 2:
            print("per class:", {c: round(m["recall"], 4) for c, m in self.class_metrics.items()}, "(recall)")
{%- endif %}
        name = cfg.packaging.model_name
        pin, target = self.champion_pin, cfg.data.target
        self.champion = champion_metrics(name, pin, test, target, self.predictions, cfg.gates, cfg.seed)

    def judge(self):
        """evaluate's second half: the gates' verdicts on those scores, the card and the report."""
        from {{ cookiecutter.module_name }}.gates import reports
{%- if cookiecutter.__fairness %}
        from {{ cookiecutter.module_name }}.gates.fairness import group_tables
        from {{ cookiecutter.module_name }}.gates.judge import parse_skip, run_gates

        cfg = self.settings
        sensitive = self.test_split[cfg.data.sensitive_features]
        fairness = cfg.gates.fairness

        def tables_of(p):
            if not fairness.enabled:
                return {}
{%- if cookiecutter.task == "tabular_regression" %}
            return group_tables(self.predictions["y_true"], p["y_pred"], sensitive, fairness.intersections, cfg.gates)
{%- else %}
            y_true, primary = self.predictions["y_true"], cfg.gates.primary_metric
            return group_tables(
                y_true, p["y_pred"], p["proba"], sensitive, primary, fairness.intersections, self.classes, cfg.gates
            )
{%- endif %}

        tables = tables_of(self.predictions)
{%- if cookiecutter.mitigation %}
        before = tables_of(self.unmitigated) if self.unmitigated else None  # shown beside the verdict
        verdicts = run_gates(self.metrics, tables, self.champion, cfg.gates, parse_skip(self.skip_gates), before)
{%- else %}
        verdicts = run_gates(self.metrics, tables, self.champion, cfg.gates, parse_skip(self.skip_gates))
{%- endif %}
        self.verdicts = [v.as_dict() for v in verdicts]
        self.group_tables = tables
        print("\n".join(v.summary() for v in verdicts))
        figures = reports.charts(tables, cfg.gates.primary_metric, cfg.gates.fairness)
        reports.fill_card(current.card["gates"], self.verdicts, tables, figures)
        self.report = {"report.html": reports.html_report(self.verdicts, tables, figures)} | figures
{%- else %}
        from {{ cookiecutter.module_name }}.gates.judge import parse_skip, run_gates

        cfg = self.settings
        verdicts = run_gates(self.metrics, self.champion, cfg.gates, parse_skip(self.skip_gates))
        self.verdicts = [v.as_dict() for v in verdicts]
        print("\n".join(v.summary() for v in verdicts))
        reports.fill_card(current.card["gates"], self.verdicts)
        self.report = {"report.html": reports.html_report(self.verdicts)}
{%- endif %}

    @timeout(minutes=60)
    @tracked
    @step
    def package(self):
        """Fail closed on a failed gate; else register in MLflow, save to BentoML with the lineage, build the Bento."""
        from {{ cookiecutter.module_name }} import __doc__ as description
        from {{ cookiecutter.module_name }}.gates import reports
        from {{ cookiecutter.module_name }}.gates.judge import enforce
        from {{ cookiecutter.module_name }}.lineage import run_record, tracking
        from {{ cookiecutter.module_name }}.pipeline.tasks import task
        from {{ cookiecutter.module_name }}.release.artifact import ModelSpec
        from {{ cookiecutter.module_name }}.release.packaging import gate_outcome, publish_model

        cfg = self.settings
        run_record.log_training(self.mlflow_run_id, self.training, self.weights_sha256, self.encoder_state)
        run_record.record_evaluation(self.mlflow_run_id, self.metrics, self.verdicts, self.report, self.class_metrics)
        enforce(self.verdicts)
{%- if cookiecutter.mitigation %}
        mitigation = {}
        if self.thresholds:  # the sensitive features are inputs too, limited to the groups the thresholds know
            from {{ cookiecutter.module_name }}.gates.mitigation import model_spec

            mitigation = model_spec(self.thresholds, cfg)
        spec = ModelSpec(
            task=task.NAME,
            encoder=self.encoder_state,
            network=cfg.model,
            serving=cfg.serving,
            mitigation=mitigation or None,
            data_schema=self.schema,
        )
{%- else %}
        spec = ModelSpec(
            task=task.NAME, encoder=self.encoder_state, network=cfg.model, serving=cfg.serving, data_schema=self.schema
        )
{%- endif %}
{%- if cookiecutter.task == "tabular_regression" %}
        decision = {"target": cfg.data.target}
{%- else %}
        decision = {"classes": self.classes, "threshold": cfg.serving.threshold}
{%- endif %}
        card_text = reports.model_card(
            description,
            self.data,
            self.rows,
            self.metrics,
{%- if cookiecutter.__fairness %}
            self.group_tables,
{%- endif %}
            self.verdicts,
{%- if cookiecutter.mitigation %}
            mitigation,
{%- endif %}
            decision,
            self.class_metrics,
            self.training,
        )
        self.published = {}
        if self.publish:
            self.published = publish_model(
                cfg.packaging.model_name,
                weights=self.weights,
                spec=spec,
{%- if cookiecutter.mitigation %}
                extra=self.thresholds,
{%- endif %}
                example=self.input_example,
                lineage=run_record.labels(self.mlflow_run_id, current.pathspec, self.git["commit"], self.data["md5"]),
                metadata={"metrics": self.metrics, "accelerator": self.training["accelerator"]},
                model_card=card_text,
                promote=cfg.packaging.promote,
                build=cfg.packaging.build_bento,
                gates=gate_outcome(self.verdicts),
{%- if cookiecutter.monitoring %}
                require_shadow=cfg.packaging.require_shadow,
{%- endif %}
                data_pinned=self.data["pinned"],
            )
        if self.published:
            print(
                "model {model_tag}; bento {bento_tag}; registry version {mlflow_model_version}".format(**self.published)
            )
            held = self.published["held"]
            if held:  # the rule `make promote` applies too (release/promotion.py)
                reasons = "; ".join(held)
                print(f"v{self.published['mlflow_model_version']} is candidate only, never champion: {reasons}")
{%- if cookiecutter.monitoring %}
            elif cfg.packaging.promote and not self.published["champion"]:
                print(
                    "packaging.require_shadow: v{mlflow_model_version} is candidate; the champion stays until its "
                    "shadow report passes (make serve SHADOW=candidate, make shadow-report, make promote)".format(
                        **self.published
                    )
                )
{%- endif %}
        else:
            print("--publish false: nothing registered or packaged")
        tracking.finish(self.mlflow_run_id)
        self.next(self.end)

    @step
    def end(self):
        print(f"done: {current.pathspec} (MLflow run {self.mlflow_run_id})")


if __name__ == "__main__":
    TrainingFlow()

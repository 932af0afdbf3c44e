"""Training lifecycle: load → split → preprocess → train → evaluate → gate → package.

    python flow.py run                                   # params.yaml and the data its .dvc pointer pins
    python flow.py run --data-rev v1.0                   # train on the data as of a git revision or tag
    python flow.py --config config other.yaml run        # another configuration file

Each step is a separate process that calls plain functions from src/{{ cookiecutter.module_name }}/; heavy libraries are
imported inside the steps that use them so the cheap steps stay cheap. Every run is one MLflow run (lineage.py,
tracking.py): params, metrics, git commit, data hash, Metaflow pathspec, environment, and the registered model.
"""

import sys
from pathlib import Path

# src/ layout: importable here and inside Metaflow's code package when steps run remotely.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from metaflow import Config, FlowSpec, Parameter, current, project, resources, step, user_step_decorator  # noqa: E402
from metaflow.exception import MetaflowException  # noqa: E402

from {{ cookiecutter.module_name }}.config import ConfigError, Params, parse, validate  # noqa: E402


def parse_params(text: str) -> dict:
    """Validate params.yaml before any step runs; Metaflow prints a MetaflowException without a traceback."""
    try:
        return parse(text)
    except ConfigError as err:
        raise MetaflowException(str(err)) from None


@user_step_decorator
def tracked(step_name, flow, inputs):
    """A step that raises marks the run's MLflow run FAILED, naming the step, so no run stays RUNNING."""
    try:
        yield
    except Exception as err:
        run_id = getattr(flow, "mlflow_run_id", None)
        if run_id:
            from {{ cookiecutter.module_name }}.tracking import finish, record_evaluation

            record_evaluation(run_id, getattr(flow, "metrics", {}), getattr(flow, "verdicts", []))
            finish(run_id, "FAILED", failed_step=step_name, error=f"{type(err).__name__}: {err}"[:5000])
        raise


@project(name="{{ cookiecutter.module_name }}")
class TrainingFlow(FlowSpec):
    config = Config("config", default="params.yaml", parser=parse_params)
    data_rev = Parameter("data-rev", default="", help="git revision or tag to read the data at (default: workspace)")
    allow_unpinned_data = Parameter(
        "allow-unpinned-data", type=bool, default=False, help="train on data that does not match its .dvc pointer"
    )
    publish = Parameter("publish", type=bool, default=True, help="false: gate but neither register nor package")

    @property
    def settings(self) -> Params:
        return validate(self.config.to_dict())

    @tracked
    @step
    def start(self):
        """Open the MLflow run, then load exactly the data the .dvc pointer pins and check it against the config."""
        from {{ cookiecutter.module_name }} import tracking
        from {{ cookiecutter.module_name }}.data import read_table, validate_table
        from {{ cookiecutter.module_name }}.lineage import git_facts, read_data

        cfg = self.settings
        self.git = git_facts()
        self.mlflow_run_id = tracking.open_run(
            cfg.model_dump(), cfg.packaging.model_name, current.flow_name, current.run_id, self.git
        )
        content, self.data = read_data(cfg.data.path, rev=self.data_rev, allow_unpinned=self.allow_unpinned_data)
        tracking.log(self.mlflow_run_id, tags={f"data.{k}": v for k, v in self.data.items()})
        if not self.data["pinned"]:
            print(f"WARNING: training on unpinned data {cfg.data.path} (--allow-unpinned-data)")
        self.table = read_table(cfg.data.path, content)
        self.columns = validate_table(self.table, cfg.data)
        print(f"loaded {len(self.table)} rows (md5 {self.data['md5']}, {self.data['rev']})")
        self.next(self.split)

    @tracked
    @step
    def split(self):
        """Seeded train / validation / test split, stratified on the target by default."""
        from {{ cookiecutter.module_name }}.data import split

        self.splits = split(self.table, self.settings.split, self.settings.data.target, self.settings.seed)
        print({name: len(frame) for name, frame in self.splits.items()})
        self.next(self.preprocess)

    @tracked
    @step
    def preprocess(self):
        """Fit the encoder on the training split only; encode every split with it."""
        from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder

        target = self.settings.data.target
        encoder = TabularEncoder.fit(self.splits["train"], self.columns, target)
        self.encoder_state = encoder.state()
        self.arrays = {
            name: (encoder.transform(df), encoder.encode_target(df[target])) for name, df in self.splits.items()
        }
        self.next(self.train)

    @tracked
    @resources(cpu=2, memory=4096, gpu=config.training.gpus)
    @step
    def train(self):
        """Fit the network with Lightning (seeded; deterministic on CPU); log the per-epoch history."""
        from {{ cookiecutter.module_name }} import tracking
        from {{ cookiecutter.module_name }}.packaging import weights_sha256
        from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder, build_network
        from {{ cookiecutter.module_name }}.training import fit, seed_everything, weights_to_bytes

        cfg = self.settings
        seed_everything(cfg.seed)
        network = build_network(TabularEncoder.from_state(self.encoder_state), **cfg.model.model_dump())
        self.training = fit(network, self.arrays["train"], self.arrays["validation"], cfg.training, cfg.seed)
        self.weights = weights_to_bytes(network)
        self.weights_sha256 = weights_sha256(self.weights)
        tracking.log_training(self.mlflow_run_id, self.training, self.weights_sha256)
        self.next(self.evaluate)

    @tracked
    @step
    def evaluate(self):
        """Score the trained network on the held-out test split."""
        from {{ cookiecutter.module_name }}.evaluation import classification_metrics, predict_proba
        from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder, build_network
        from {{ cookiecutter.module_name }}.training import load_weights

        network = build_network(TabularEncoder.from_state(self.encoder_state), **self.settings.model.model_dump())
        x_test, y_test = self.arrays["test"]
        self.metrics = classification_metrics(y_test, predict_proba(load_weights(network, self.weights), x_test))
        print("test metrics:", {k: round(v, 4) for k, v in self.metrics.items()})
        self.next(self.gate)

    @tracked
    @step
    def gate(self):
        """Fail closed: a model that misses a threshold stops the run here, before anything is packaged."""
        from {{ cookiecutter.module_name }}.gates import GateFailed, performance_gate

        verdict = performance_gate(self.metrics, self.settings.gates.performance)
        self.verdicts = [verdict.as_dict()]  # logged to MLflow by package, or by @tracked when this step fails
        print(verdict.summary())
        if not verdict.passed:
            raise GateFailed(verdict.summary())
        self.next(self.package)

    @tracked
    @step
    def package(self):
        """Register the model in MLflow, save it to the BentoML store labelled with its lineage, build the Bento."""
        from {{ cookiecutter.module_name }} import tracking
        from {{ cookiecutter.module_name }}.packaging import publish_model

        cfg = self.settings
        tracking.record_evaluation(self.mlflow_run_id, self.metrics, self.verdicts)
        self.published = {}
        if self.publish:
            self.published = publish_model(
                cfg.packaging.model_name,
                weights=self.weights,
                spec={
                    "task": "tabular",
                    "encoder": self.encoder_state,
                    "network": cfg.model.model_dump(),
                    "max_batch_size": cfg.serving.max_batch_size,
                },
                example=self.splits["test"][self.columns.features].head(3),
                lineage={
                    "mlflow_run_id": self.mlflow_run_id,
                    "metaflow_pathspec": current.pathspec,
                    "git_commit": self.git["commit"],
                    "data_md5": self.data["md5"],
                },
                metadata={"metrics": self.metrics, "accelerator": self.training["accelerator"]},
                build=cfg.packaging.build_bento,
            )
        if self.published:
            print(
                "model {model_tag}; bento {bento_tag}; registry version {mlflow_model_version}".format(**self.published)
            )
        else:
            print("--publish false: nothing registered or packaged")
        tracking.finish(self.mlflow_run_id)
        self.next(self.end)

    @step
    def end(self):
        print(f"done: {current.pathspec} (MLflow run {self.mlflow_run_id})")


if __name__ == "__main__":
    TrainingFlow()

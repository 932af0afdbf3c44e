"""Training lifecycle: load → split → preprocess → train → evaluate → gate → package.

    python flow.py run                                   # params.yaml as committed
    python flow.py --config config other.yaml run       # another configuration file

Each step is a separate process that calls plain functions from src/{{ cookiecutter.module_name }}/; heavy libraries are
imported inside the steps that use them so the cheap steps stay cheap.
"""

import sys
from pathlib import Path

# src/ layout: importable here and inside Metaflow's code package when steps run remotely.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from metaflow import Config, FlowSpec, current, project, resources, step  # noqa: E402
from metaflow.exception import MetaflowException  # noqa: E402

from {{ cookiecutter.module_name }}.config import ConfigError, Params, parse, validate  # noqa: E402


def parse_params(text: str) -> dict:
    """Validate params.yaml before any step runs; Metaflow prints a MetaflowException without a traceback."""
    try:
        return parse(text)
    except ConfigError as err:
        raise MetaflowException(str(err)) from None


@project(name="{{ cookiecutter.module_name }}")
class TrainingFlow(FlowSpec):
    config = Config("config", default="params.yaml", parser=parse_params)

    @property
    def settings(self) -> Params:
        return validate(self.config.to_dict())

    @step
    def start(self):
        """Load the table named in params.yaml and check it against the configuration."""
        from {{ cookiecutter.module_name }}.data import read_table, validate_table

        table = read_table(self.settings.data.path)
        self.columns = validate_table(table, self.settings.data)
        self.table = table
        print(f"loaded {len(table)} rows; features: {self.columns.features}")
        self.next(self.split)

    @step
    def split(self):
        """Seeded train / validation / test split, stratified on the target by default."""
        from {{ cookiecutter.module_name }}.data import split

        self.splits = split(self.table, self.settings.split, self.settings.data.target, self.settings.seed)
        print({name: len(frame) for name, frame in self.splits.items()})
        self.next(self.preprocess)

    @step
    def preprocess(self):
        """Fit the encoder on the training split only; encode every split with it."""
        from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder

        target = self.settings.data.target
        encoder = TabularEncoder.fit(self.splits["train"], self.columns, target)
        self.encoder_state = encoder.state()
        self.arrays = {
            name: (encoder.transform(frame), encoder.encode_target(frame[target]))
            for name, frame in self.splits.items()
        }
        self.next(self.train)

    @resources(cpu=2, memory=4096, gpu=config.training.gpus)
    @step
    def train(self):
        """Fit the network with Lightning (seeded; deterministic on CPU)."""
        from {{ cookiecutter.module_name }}.tasks.tabular import TabularEncoder, build_network
        from {{ cookiecutter.module_name }}.training import fit, weights_to_bytes

        cfg = self.settings
        network = build_network(TabularEncoder.from_state(self.encoder_state), **cfg.model.model_dump())
        self.training = fit(network, self.arrays["train"], self.arrays["validation"], cfg.training, cfg.seed)
        self.weights = weights_to_bytes(network)
        self.next(self.evaluate)

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

    @step
    def gate(self):
        """Fail closed: a model that misses a threshold stops the run here, before anything is packaged."""
        from {{ cookiecutter.module_name }}.gates import GateFailed, performance_gate

        verdict = performance_gate(self.metrics, self.settings.gates.performance)
        print(verdict.summary())
        if not verdict.passed:
            raise GateFailed(verdict.summary())
        self.verdicts = [verdict.as_dict()]
        self.next(self.package)

    @step
    def package(self):
        """Save model + encoder to the BentoML store, labelled with this run, and build the Bento."""
        from {{ cookiecutter.module_name }}.packaging import build_bento, save_model

        cfg = self.settings
        self.model_tag = save_model(
            cfg.packaging.model_name,
            weights=self.weights,
            spec={
                "task": "tabular",
                "encoder": self.encoder_state,
                "network": cfg.model.model_dump(),
                "max_batch_size": cfg.serving.max_batch_size,
            },
            labels={
                "metaflow_flow": current.flow_name,
                "metaflow_run_id": current.run_id,
                "metaflow_pathspec": current.pathspec,
            },
            metadata={"metrics": self.metrics, "training": {k: v for k, v in self.training.items() if k != "history"}},
        )
        self.bento_tag = build_bento(self.model_tag) if cfg.packaging.build_bento else None
        print(f"model {self.model_tag}; bento {self.bento_tag}")
        self.next(self.end)

    @step
    def end(self):
        print(f"done: {current.pathspec} -> {self.model_tag}")


if __name__ == "__main__":
    TrainingFlow()

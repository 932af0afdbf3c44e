"""How often the fairness and champion verdicts flip from one random split to the next, decided on point estimates
(`gates.decide_on: point`) and on bootstrap intervals (`decide_on: interval`).

    python benchmarks/verdict_flips.py                                  # the demo data of a default bake
    python benchmarks/verdict_flips.py --data titanic.csv --target survived --sensitive gender
    python benchmarks/verdict_flips.py --project DIR --seeds 10 --epochs 15   # an already baked tabular project

For each seed: the project's own functions, in one process (as benchmarks/plain_run.py of a bake calls them), split
the table with that seed, fit the encoder, train the challenger with that seed and score it on the test rows. Both
verdicts are then judged twice on the same answers, tables and intervals, once per `decide_on`:
- fairness: `fairness_gate` on `group_tables` of the challenger's test answers (the bake's `gates.fairness` bounds);
- champion: "is challenger B not worse than champion A". A is a second network trained on the same split, the same
  encoder and the same training rows, with another training seed (seed + 1000); B is the seed's challenger. Both are
  scored on the same test rows, and `champion_gate` judges B's primary metric minus A's against `champion.tolerance`,
  with the interval of the paired bootstrap of that difference (`paired_difference`). A and B differ only in their
  initial weights, dropout masks and batch order, so "B is not worse than A" is true by construction: any failure
  is the split's and the training's noise, not a worse model.

A gate's verdict on a seed is "passed"; "failed" when at least one check failed outright (its point value, or its
whole interval, on the wrong side of the bound); else "not judged" (the gate fails only for checks that straddle
their bound or lack the evidence: with `undecided: fail` it fails, with `undecided: report` it would pass). Flips are
the share of seeds whose verdict differs from the most common one over the seeds: `flips` counts "not judged" as a
verdict of its own; `flips pass/fail` counts what the gate enforces with `undecided: fail` ("not judged" = failed).

The gates' settings are the bake's params.yaml (bounds, confidence, resamples); `--epochs` caps training.max_epochs
(early stopping by patience still applies). Nothing is logged to MLflow; nothing is timed.
"""

import argparse
import collections
import contextlib
import importlib
import io
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
CHAMPION_SEED = 1000  # the champion A of a seed is trained with seed + this, on the same split as the challenger
OUTCOMES = ("passed", "failed", "not judged")


def outcome(verdict) -> str:
    """passed | failed (a check failed outright) | not judged (failing only for undecided or unjudged checks)."""
    if verdict.passed:
        return "passed"
    return "failed" if any(check.state == "failed" for check in verdict.checks) else "not judged"


def initials(name: str) -> str:
    """ "equalized odds difference [sex]" -> "EOD [sex]" """
    label, _, table = name.partition(" [")
    return "".join(word[0].upper() for word in label.split()) + (f" [{table}" if table else "")


def figure(value, low, high) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" + (f" [{low:.3f}, {high:.3f}]" if low is not None else "")


def flips(outcomes: list[str]) -> float:
    """The share of `outcomes` that differ from the most common one."""
    return 1 - collections.Counter(outcomes).most_common(1)[0][1] / len(outcomes)


def measure(project: Path, seeds: list[int], epochs: int | None, data: dict, quiet: bool = True) -> dict:
    """In `project` (a baked tabular classification project): each seed's verdicts per gate and per decide_on."""
    module = next(p.parent.name for p in (project / "src").glob("*/config.py"))
    sys.path.insert(0, str(project / "src"))
    os.chdir(project)  # params.yaml's relative data path

    def load(name):
        return importlib.import_module(f"{module}.{name}")

    config, evidence, fairness, judge = (load(m) for m in ("config", "gates.evidence", "gates.fairness", "gates.judge"))
    pipeline_data, evaluation, training = (load(f"pipeline.{m}") for m in ("data", "evaluation", "training"))
    task = load("pipeline.tasks").task
    logging.getLogger(module).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*LeafSpec.*")  # Lightning's own deprecation, once per fit

    cfg = config.load("params.yaml")
    cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=data)})
    if epochs:
        cfg = cfg.model_copy(update={"training": cfg.training.model_copy(update={"max_epochs": epochs})})
    rules = {mode: cfg.gates.model_copy(update={"decide_on": mode}) for mode in ("point", "interval")}
    table = pipeline_data.read_table(cfg.data.path)
    columns = pipeline_data.validate_table(table, cfg.data)
    primary = cfg.gates.primary_metric

    def train(arrays, encoder, seed):
        training.seed_everything(seed)
        network = task.build_network(encoder, cfg.model)
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():  # the epoch lines
            fitted = training.fit(network, arrays["train"], arrays["validation"], cfg.training, seed)
        proba = evaluation.predict_proba(network, arrays["test"][0])
        answers = {"y_true": arrays["test"][1], "y_pred": evaluation.decide(proba, cfg.serving.threshold)}
        return answers | {"proba": proba}, fitted["epochs_run"]

    runs = []
    for seed in seeds:
        start = time.perf_counter()
        splits = pipeline_data.split(table, cfg.split, cfg.data.target, seed)
        encoder = task.fit_encoder(splits["train"], columns, cfg)
        arrays = {k: (encoder.transform(df), encoder.encode_target(df[cfg.data.target])) for k, df in splits.items()}
        ours, epochs_b = train(arrays, encoder, seed)
        theirs, epochs_a = train(arrays, encoder, seed + CHAMPION_SEED)
        sensitive = splits["test"][cfg.data.sensitive_features]
        intersections, classes = cfg.gates.fairness.intersections, encoder.classes
        tables = fairness.group_tables(
            ours["y_true"], ours["y_pred"], ours["proba"], sensitive, primary, intersections, classes, cfg.gates
        )
        metrics = evidence.scored(ours, evaluation.score, cfg.gates, seed)
        champion = {
            "version": "A",
            "metrics": evaluation.score(theirs),
            "challenger_metrics": evaluation.score(ours),
            "difference": evidence.paired_difference(ours, theirs, evaluation.score, primary, cfg.gates, seed),
            "rows": len(ours["y_true"]),
            "left_out": 0,
        }
        verdicts = {
            mode: {
                "fairness": fairness.fairness_gate(tables, cfg.gates.fairness, primary, rule=rule),
                "champion": judge.champion_gate(metrics, champion, rule),
            }
            for mode, rule in rules.items()
        }
        difference = champion["challenger_metrics"][primary] - champion["metrics"][primary]
        figures = [(initials(c.name), c.value, c.low, c.high) for c in verdicts["interval"]["fairness"].checks]
        runs.append(
            {
                "seed": seed,
                "test_rows": len(ours["y_true"]),
                "epochs": (epochs_b, epochs_a),
                "difference": (difference, *champion["difference"]),
                "fairness": figures,
                "outcomes": {mode: {g: outcome(v) for g, v in gates.items()} for mode, gates in verdicts.items()},
                "seconds": time.perf_counter() - start,
            }
        )
        print(f"  seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return {"cfg": cfg, "runs": runs}


def report(result: dict, label: str) -> str:
    """Markdown: the counts and flip rates per gate and decide_on, then each seed's verdicts."""
    cfg, runs = result["cfg"], result["runs"]
    gates, primary = cfg.gates, cfg.gates.primary_metric
    lines = [
        f"**{label}**: {runs[0]['test_rows']} test rows per split, {len(runs)} seeds; "
        f"training.max_epochs {cfg.training.max_epochs} (patience {cfg.training.patience}); "
        f"confidence {gates.confidence}, {gates.resamples} resamples; fairness bounds: demographic parity difference "
        f"<= {gates.fairness.max_demographic_parity_difference}, equalized odds difference "
        f"<= {gates.fairness.max_equalized_odds_difference}, lowest group {primary} "
        f">= {gates.fairness.min_group_primary} on {cfg.data.sensitive_features}; champion: {primary} difference "
        f">= -{gates.champion.tolerance}",
        "",
        "| gate | decide_on | passed | failed | not judged | flips | flips pass/fail |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for gate in ("fairness", "champion"):
        for mode in ("point", "interval"):
            seen = [run["outcomes"][mode][gate] for run in runs]
            counts = collections.Counter(seen)
            enforced = ["passed" if s == "passed" else "failed" for s in seen]
            lines.append(
                f"| {gate} | {mode} | {' | '.join(str(counts[o]) for o in OUTCOMES)} "
                f"| {flips(seen):.0%} | {flips(enforced):.0%} |"
            )
    lines += [
        "",
        "| seed | fairness point | fairness interval | fairness figures [interval] | champion point "
        f"| champion interval | {primary} B - A [interval] |",
        "| ---: | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        fair, champ = ([run["outcomes"][m][gate] for m in ("point", "interval")] for gate in ("fairness", "champion"))
        shown = "; ".join(f"{name} {figure(*numbers)}" for name, *numbers in run["fairness"])
        difference, low, high = run["difference"]
        lines.append(
            f"| {run['seed']} | {' | '.join(fair)} | {shown} | {' | '.join(champ)} "
            f"| {difference:+.4f} [{low:+.4f}, {high:+.4f}] |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a baked tabular classification project (default: bake one)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--epochs", type=int, help="cap training.max_epochs (default: params.yaml's)")
    parser.add_argument("--data", type=Path, help="a CSV to judge instead of the bake's data.path")
    parser.add_argument("--target", help="with --data: its target column (binary)")
    parser.add_argument("--sensitive", nargs="+", help="with --data: its sensitive column(s)")
    parser.add_argument("--drop", nargs="*", default=[], help="with --data: columns the model must not see")
    parser.add_argument("--label", help="the table's name in the output (default: the data file's)")
    args = parser.parse_args()
    if args.data and not (args.target and args.sensitive):
        parser.error("--data needs --target and --sensitive")
    project = args.project.resolve() if args.project else None
    if project is None:
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=tempfile.mkdtemp(prefix="bench-flips-")))
    data = {}
    if args.data:
        data = {
            "path": str(args.data.resolve()),
            "target": args.target,
            "sensitive_features": args.sensitive,
            "drop": args.drop,
            "features": [],
            "categorical": [],
            "positive_label": None,
        }
    result = measure(project, list(range(args.seeds)), args.epochs, data)
    label = args.label or (args.data.name if args.data else f"{project.name}'s demo data")
    print(report(result, label))


if __name__ == "__main__":
    main()

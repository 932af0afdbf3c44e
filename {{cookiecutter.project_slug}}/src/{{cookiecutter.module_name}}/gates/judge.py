"""Gates turn metrics into a verdict that lists every check with its value and threshold. They fail closed."""

from ..config import GatesConfig, PerformanceGate
from ..errors import ProjectError, UsageError
from .evidence import interval
{%- if cookiecutter.__fairness %}
from .fairness import fairness_gate
{%- endif %}
from .verdict import LOWER_IS_BETTER, Check, Verdict


class GateFailed(ProjectError, RuntimeError):
    """A gate failed: raised before anything is registered, packaged or promoted."""

    step = "evaluate"  # the step whose verdict failed, for the MLflow run's failed_step tag


def performance_gate(metrics: dict[str, float], cfg: PerformanceGate, gates: GatesConfig | None = None) -> Verdict:
    """Bounds on the test metrics (`metrics`: each with its interval beside it and `rows`, evidence.scored), decided
    by the rule in `gates` (GatesConfig; None: on the point values). On fewer than `min_rows` rows nothing is judged."""
    rows, by_interval = metrics.get("rows"), gates is not None and gates.decide_on == "interval"
    reason = f"{rows} rows < min_rows {cfg.min_rows}" if rows is not None and rows < cfg.min_rows else ""

    def check(name: str, bound: float, op: str) -> Check:
        value = None if reason else metrics.get(name)
        return Check(name, value, bound, op, reason, *interval(metrics, name), rows, by_interval)

    checks = [check(name, bound, ">=") for name, bound in cfg.min.items()]
    checks += [check(name, bound, "<=") for name, bound in cfg.max.items()]
    return Verdict("performance", checks, fail_undecided=gates is None or gates.undecided == "fail")


def champion_gate(metrics: dict[str, float], champion: dict | None, gates: GatesConfig) -> Verdict:
    """The challenger may be worse than the registry's champion on the primary metric by at most `tolerance`, both
    scored on the test rows the champion never trained on (champion.py): judged on the paired difference (challenger
    minus champion, row by row the same resamples) and its interval, on at least `champion.min_rows` rows."""
    if champion is None:
        return Verdict("champion", [], ["no champion yet: the first model is judged on the absolute thresholds"])
    primary, tolerance = gates.primary_metric, gates.champion.tolerance
    name = f"{primary} difference vs champion v{champion['version']}"
    if "error" in champion:  # strict: a champion that cannot be compared blocks, it does not wave the model through
        return Verdict("champion", [Check(name, None, 0.0, ">=", champion["error"])])
    best, ours = champion["metrics"][primary], champion.get("challenger_metrics", metrics)[primary]
    rows, (low, high) = champion.get("rows"), champion.get("difference", (None, None))
    too_few = rows is not None and rows < gates.champion.min_rows
    reason = f"{rows} rows < champion.min_rows {gates.champion.min_rows}" if too_few else ""
    lower = primary in LOWER_IS_BETTER
    bound, op = (tolerance, "<=") if lower else (-tolerance, ">=")
    by_interval = gates.decide_on == "interval"
    check = Check(name, None if too_few else ours - best, bound, op, reason, low, high, rows, by_interval)
    notes = []
    if "note" in champion:  # where the rows came from, said by the caller
        notes.append(champion["note"])
    elif "rows" in champion:
        notes.append(
            f"compared on {champion['rows']} test rows neither model trained on "
            f"({champion['left_out']} left out: in the champion's training or validation split)"
        )
    notes.append(f"{primary}: {ours:.4f} against the champion's {best:.4f}")
    return Verdict("champion", [check], notes, fail_undecided=gates.undecided == "fail")


{% if cookiecutter.__fairness -%}
GATES = ("performance", "fairness", "champion")
{%- else -%}
GATES = ("performance", "champion")
{%- endif %}


{% if cookiecutter.mitigation -%}
def run_gates(
    metrics: dict, tables: dict, champion: dict | None, cfg, skip: set[str], before: dict | None = None
) -> list[Verdict]:
    """Every gate in order; a skipped gate is recorded as skipped, never silently absent. `before`: group tables
    without fairness mitigation, when it is on."""
    judges = {
        "performance": lambda: performance_gate(metrics, cfg.performance, cfg),
        "fairness": lambda: fairness_gate(tables, cfg.fairness, cfg.primary_metric, before, rule=cfg),
{%- elif cookiecutter.__fairness -%}
def run_gates(metrics: dict, tables: dict, champion: dict | None, cfg, skip: set[str]) -> list[Verdict]:
    """Every gate in order; a skipped gate is recorded as skipped, never silently absent."""
    judges = {
        "performance": lambda: performance_gate(metrics, cfg.performance, cfg),
        "fairness": lambda: fairness_gate(tables, cfg.fairness, cfg.primary_metric, rule=cfg),
{%- else -%}
def run_gates(metrics: dict, champion: dict | None, cfg, skip: set[str]) -> list[Verdict]:
    """Every gate in order; a skipped gate is recorded as skipped, never silently absent."""
    judges = {
        "performance": lambda: performance_gate(metrics, cfg.performance, cfg),
{%- endif %}
        "champion": lambda: (
            champion_gate(metrics, champion, cfg)
            if cfg.champion.enabled
            else Verdict("champion", [], ["disabled in params.yaml (gates.champion.enabled)"], disabled=True)
        ),
    }
    return [Verdict(g, [], [f"skipped by --skip-gates {g}"], skipped=True) if g in skip else judges[g]() for g in GATES]


def parse_skip(value: str) -> set[str]:
    names = {name.strip() for name in value.split(",") if name.strip()}
    if unknown := names - set(GATES):
        raise UsageError(f"--skip-gates: unknown gate(s) {sorted(unknown)}; gates are {list(GATES)}")
    return names


def enforce(verdicts: list[dict]) -> None:
    """Fail closed: raise GateFailed listing every failed check, before anything is registered or packaged."""
    failed = [f"{v['gate']}: {line}" for v in verdicts for line in v["failures"]]
    if failed:
        raise GateFailed("gates FAILED, nothing packaged or promoted:\n" + "\n".join(f"  {f}" for f in failed))

"""Gates turn metrics into a verdict that lists every check with its value and threshold. They fail closed."""

import math
from dataclasses import asdict, dataclass, field

from .config import PerformanceGate
from .errors import ProjectError, UsageError


class GateFailed(ProjectError, RuntimeError):
    """A gate failed: raised before anything is registered, packaged or promoted."""

    step = "gate"  # the step whose verdict failed, for the MLflow run's failed_step tag


@dataclass(frozen=True)
class Check:
    """One bound on one figure. A figure that could not be computed (None or NaN) is "not judged", never passed."""

    name: str
    value: float | None
    threshold: float
    op: str  # ">=" or "<="
    reason: str = ""  # why it could not be judged

    @property
    def judged(self) -> bool:
        return self.value is not None and not math.isnan(self.value)

    @property
    def passed(self) -> bool:
        if not self.judged:
            return False
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    @property
    def state(self) -> str:
        return "not judged" if not self.judged else "passed" if self.passed else "failed"

    def describe(self) -> str:
        if not self.judged:
            return f"{self.name}: not judged ({self.reason or 'no value'}; needs {self.op} {self.threshold})"
        margin = self.value - self.threshold
        return (
            f"{self.name} = {self.value:.4f}, needs {self.op} {self.threshold} (off by {abs(margin):.4f})"
            if not self.passed
            else f"{self.name} = {self.value:.4f} {self.op} {self.threshold}"
        )


MARKS = {"passed": "ok", "failed": "FAIL", "not judged": "not judged"}


@dataclass(frozen=True)
class Verdict:
    """A gate's checks and what they add up to. `strict`: a check that was not judged fails the gate (performance,
    champion); otherwise it is shown, and with `require_judgement` the gate fails only when no check was judged."""

    gate: str
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # what a reviewer should know that is not a failure
    skipped: bool = False  # by --skip-gates
    disabled: bool = False  # turned off in params.yaml
    strict: bool = True
    require_judgement: bool = False

    @property
    def judged(self) -> list[Check]:
        return [c for c in self.checks if c.judged]

    @property
    def failures(self) -> list[str]:
        """Why the gate fails, one line each: empty when it passes."""
        if self.skipped or self.disabled:
            return []
        lines = [c.describe() for c in self.checks if c.state == "failed" or (self.strict and not c.judged)]
        if self.require_judgement and self.checks and not self.judged:
            lines.append(f"none of its {len(self.checks)} checks could be judged (require_judgement)")
        return lines

    @property
    def passed(self) -> bool:
        return not self.failures

    def headline(self) -> str:
        if self.skipped or self.disabled:
            return "SKIPPED" if self.skipped else "OFF"
        unjudged = len(self.checks) - len(self.judged)
        count = f"{len(self.judged)} judged" + (f", {unjudged} not judged" if unjudged else "")
        return f"{'PASSED' if self.passed else 'FAILED'} ({count if self.checks else 'no checks'})"

    def summary(self) -> str:
        lines = [f"  [{MARKS[c.state]}] {c.describe()}" for c in self.checks]
        return "\n".join([f"{self.gate} gate {self.headline()}", *lines, *(f"  note: {n}" for n in self.notes)])

    def as_dict(self) -> dict:
        checks = [asdict(c) | {"state": c.state, "passed": c.passed, "detail": c.describe()} for c in self.checks]
        return {
            "gate": self.gate,
            "passed": self.passed,
            "skipped": self.skipped,
            "disabled": self.disabled,
            "headline": self.headline(),
            "checks": checks,
            "notes": self.notes,
            "failures": self.failures,
        }


def performance_gate(metrics: dict[str, float], cfg: PerformanceGate) -> Verdict:
    checks = [Check(name, metrics.get(name), bound, ">=") for name, bound in cfg.min.items()]
    checks += [Check(name, metrics.get(name), bound, "<=") for name, bound in cfg.max.items()]
    return Verdict("performance", checks)


LOWER_IS_BETTER = {"log_loss"}


def champion_gate(metrics: dict[str, float], champion: dict | None, primary: str, tolerance: float) -> Verdict:
    """The challenger may be worse than the registry's champion on the primary metric by at most `tolerance`."""
    if champion is None:
        return Verdict("champion", [], ["no champion yet: the first model is judged on the absolute thresholds"])
    name = f"{primary} vs champion v{champion['version']}"
    if "error" in champion:  # strict: a champion that cannot be compared blocks, it does not wave the model through
        return Verdict("champion", [Check(name, None, 0.0, ">=", champion["error"])])
    best = champion["metrics"][primary]
    if primary in LOWER_IS_BETTER:
        return Verdict("champion", [Check(name, metrics[primary], round(best + tolerance, 6), "<=")])
    return Verdict("champion", [Check(name, metrics[primary], round(best - tolerance, 6), ">=")])


GATES = ("performance", "fairness", "champion")


def run_gates(
    metrics: dict, tables: dict, champion: dict | None, cfg, skip: set[str], before: dict | None = None
) -> list[Verdict]:
    """Every gate in order; a skipped gate is recorded as skipped, never silently absent. `before`: group tables
    without fairness mitigation, when it is on."""
    from .fairness import fairness_gate

    judges = {
        "performance": lambda: performance_gate(metrics, cfg.performance),
        "fairness": lambda: fairness_gate(tables, cfg.fairness, cfg.primary_metric, before),
        "champion": lambda: (
            champion_gate(metrics, champion, cfg.primary_metric, cfg.champion.tolerance)
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

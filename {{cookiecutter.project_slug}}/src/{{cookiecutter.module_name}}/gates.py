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
    name: str
    value: float | None
    threshold: float
    op: str  # ">=" or "<="

    @property
    def passed(self) -> bool:
        if self.value is None or math.isnan(self.value):
            return False  # a value nobody reported, or one that is undefined, cannot pass
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    def describe(self) -> str:
        if self.value is None:
            return f"{self.name}: not reported (needs {self.op} {self.threshold})"
        margin = self.value - self.threshold
        return (
            f"{self.name} = {self.value:.4f}, needs {self.op} {self.threshold} (off by {abs(margin):.4f})"
            if not self.passed
            else f"{self.name} = {self.value:.4f} {self.op} {self.threshold}"
        )


@dataclass(frozen=True)
class Verdict:
    gate: str
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # what a reviewer should know that is not a failure
    skipped: bool = False

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        head = f"{self.gate} gate {'SKIPPED' if self.skipped else 'PASSED' if self.passed else 'FAILED'}"
        lines = [f"  [{'ok' if c.passed else 'FAIL'}] {c.describe()}" for c in self.checks]
        return "\n".join([head, *lines, *(f"  note: {n}" for n in self.notes)])

    def as_dict(self) -> dict:
        checks = [asdict(c) | {"passed": c.passed, "detail": c.describe()} for c in self.checks]
        return {
            "gate": self.gate,
            "passed": self.passed,
            "skipped": self.skipped,
            "checks": checks,
            "notes": self.notes,
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
    if "error" in champion:
        return Verdict(
            "champion", [Check(name, None, 0.0, ">=")], [f"champion could not score this data: {champion['error']}"]
        )
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
            else Verdict("champion", [], ["disabled in params.yaml (gates.champion.enabled)"])
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
    failed = [f"{v['gate']}: {c['detail']}" for v in verdicts for c in v["checks"] if not c["passed"]]
    if failed:
        raise GateFailed("gates FAILED, nothing packaged or promoted:\n" + "\n".join(f"  {f}" for f in failed))

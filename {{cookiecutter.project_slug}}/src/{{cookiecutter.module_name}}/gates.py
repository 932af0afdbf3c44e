"""Gates turn metrics into a verdict that lists every check with its value and threshold. They fail closed."""

from dataclasses import asdict, dataclass

from .config import PerformanceGate


class GateFailed(RuntimeError):
    """Raised by the flow when a verdict fails: nothing after the gate (packaging, promotion) runs."""


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    threshold: float
    op: str  # ">=" or "<="

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False  # a metric nobody reported cannot pass
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

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        head = f"{self.gate} gate {'PASSED' if self.passed else 'FAILED'}"
        return "\n".join([head, *(f"  [{'ok' if c.passed else 'FAIL'}] {c.describe()}" for c in self.checks)])

    def as_dict(self) -> dict:
        return {
            "gate": self.gate,
            "passed": self.passed,
            "checks": [asdict(c) | {"passed": c.passed} for c in self.checks],
        }


def performance_gate(metrics: dict[str, float], cfg: PerformanceGate) -> Verdict:
    checks = [Check(name, metrics.get(name), bound, ">=") for name, bound in cfg.min.items()]
    checks += [Check(name, metrics.get(name), bound, "<=") for name, bound in cfg.max.items()]
    return Verdict("performance", checks)

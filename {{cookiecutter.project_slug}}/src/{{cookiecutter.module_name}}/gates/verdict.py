"""The gates' shared vocabulary: a Check (one bound on one figure) and a Verdict (a gate's checks and what they add up
to). Plain data, imported by judge.py and fairness.py alike, so neither imports the other."""

import math
from dataclasses import asdict, dataclass, field

LOWER_IS_BETTER = {{ '{"rmse", "mae"}' if cookiecutter.task == "tabular_regression" else '{"log_loss"}' }}


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

"""The gates' shared vocabulary: a Check (one bound on one figure) and a Verdict (a gate's checks and what they add up
to). Plain data, imported by judge.py{{ " and fairness.py alike, so neither imports the other" if cookiecutter.__fairness }}."""

import math
from dataclasses import asdict, dataclass, field

LOWER_IS_BETTER = {{ '{"rmse", "mae"}' if cookiecutter.task == "tabular_regression" else '{"log_loss"}' }}


@dataclass(frozen=True)
class Check:
    """One bound on one figure, with the evidence it rests on: its interval and its rows. A figure that could not be
    computed (None or NaN) is "not judged", never passed. Decided `by_interval` (gates.decide_on), a check passes only
    when its whole interval meets the bound and fails only when none of it does; an interval that straddles the bound
    is "not judged" too, and `undecided`."""

    name: str
    value: float | None
    threshold: float
    op: str  # ">=" or "<="
    reason: str = ""  # why it could not be judged
    low: float | None = None  # the value's interval (gates.confidence), where it has one
    high: float | None = None
    rows: int | None = None  # the rows the value rests on
    by_interval: bool = False

    def _meets(self, x: float) -> bool:
        return x >= self.threshold if self.op == ">=" else x <= self.threshold

    @property
    def judged(self) -> bool:
        figures = [self.value, *([self.low, self.high] if self.by_interval else [])]
        return all(x is not None and not math.isnan(x) for x in figures) and not self.undecided

    @property
    def undecided(self) -> bool:
        """The interval straddles the bound: too little evidence to decide either way."""
        bounds = [self.low, self.high]
        if not self.by_interval or any(x is None or math.isnan(x) for x in [self.value, *bounds]):
            return False
        return self._meets(self.low) != self._meets(self.high)

    @property
    def passed(self) -> bool:
        return self.judged and self._meets(self.low if self.by_interval else self.value)

    @property
    def state(self) -> str:
        return "not judged" if not self.judged else "passed" if self.passed else "failed"

    def evidence(self) -> str:
        interval = f" [{self.low:.4f}, {self.high:.4f}]" if self.low is not None and not math.isnan(self.low) else ""
        return f"{_figure(self.value)}{interval}" + (f" on {self.rows} rows" if self.rows is not None else "")

    def describe(self) -> str:
        if self.undecided:
            return f"{self.name} = {self.evidence()}: not judged, its interval straddles {self.op} {self.threshold}"
        if not self.judged:
            computed = self.value is not None and not math.isnan(self.value)
            why = self.reason or ("no interval" if computed else "no value")
            return f"{self.name}: not judged ({why}; needs {self.op} {self.threshold})"
        if self.passed:
            return f"{self.name} = {self.evidence()} {self.op} {self.threshold}"
        nearest = (self.high if self.op == ">=" else self.low) if self.by_interval else self.value
        margin = abs(nearest - self.threshold)
        return f"{self.name} = {self.evidence()}, needs {self.op} {self.threshold} (off by {_figure(margin)})"


def _figure(x: float) -> str:
    """A count as a count (602), any other figure to 4 decimals."""
    return str(x) if isinstance(x, int) else f"{x:.4f}"


MARKS = {"passed": "ok", "failed": "FAIL", "not judged": "not judged"}


@dataclass(frozen=True)
class Verdict:
    """A gate's checks and what they add up to. `strict`: a check that was not judged fails the gate (performance,
    champion); otherwise it is shown, and with `require_judgement` the gate fails only when no check was judged. An
    undecided check (its interval straddles the bound) fails any gate unless `fail_undecided` is off
    (gates.undecided: report)."""

    gate: str
    checks: list[Check]
    notes: list[str] = field(default_factory=list)  # what a reviewer should know that is not a failure
    skipped: bool = False  # by --skip-gates
    disabled: bool = False  # turned off in params.yaml
    strict: bool = True
    require_judgement: bool = False
    fail_undecided: bool = True

    @property
    def judged(self) -> list[Check]:
        return [c for c in self.checks if c.judged]

    @property
    def failures(self) -> list[str]:
        """Why the gate fails, one line each: empty when it passes."""
        if self.skipped or self.disabled:
            return []
        lines = [
            c.describe()
            for c in self.checks
            if c.state == "failed" or (self.fail_undecided if c.undecided else self.strict and not c.judged)
        ]
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

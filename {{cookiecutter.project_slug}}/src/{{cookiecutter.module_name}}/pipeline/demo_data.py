{% if cookiecutter.task == "tabular_regression" -%}
"""Deterministic demo data: a credit table whose target is the credit limit granted (thousands), with a sensitive
attribute and missing values.
{%- else -%}
"""Deterministic demo data: a credit-approval table with a binary target (or three named classes with --classes 3), a
sensitive attribute and missing values.
{%- endif %}

Standard library only, so the template's post-generation hook can run it before any dependency is installed:
    python src/{{ cookiecutter.module_name }}/pipeline/demo_data.py --rows 5000 --out data/{{ cookiecutter.module_name }}.csv
"""

import argparse
import csv
import math
import random
from pathlib import Path

KNOWN_GROUPS = {"sex": ["female", "male"], "gender": ["female", "male", "non_binary"]}
EMPLOYMENT = {"employed": 0.6, "self_employed": 0.2, "unemployed": -1.2, "student": -0.6, "retired": 0.1}
EDUCATION = {"high_school": -0.3, "bachelor": 0.2, "master": 0.4, "doctorate": 0.5}
REGIONS = ["north", "south", "east", "west"]
TIERS = ["denied", "review", "approved"]  # --classes 3: string labels, cut from the same latent score
# --shift: the drift demo's batch (make drift-demo). Incomes fall by 40% and the unemployed's share of the employment
{%- if cookiecutter.task == "tabular_regression" %}
# mix rises from 10% to 31%; every other feature keeps its distribution. Limits follow from the same score, so they
# fall. Same random draws as without --shift: only these two features differ.
{%- else %}
# mix rises from 10% to 31%; every other feature keeps its distribution. Labels follow from the same score, so fewer
# applicants are approved. Same random draws as without --shift: only these two features differ.
{%- endif %}
INCOME_SHIFT = 0.6
EMPLOYMENT_WEIGHTS = {False: [55, 15, 10, 10, 10], True: [55, 15, 40, 10, 10]}


def _maybe_missing(rng: random.Random, value, rate: float):
    return "" if rng.random() < rate else value


{% if cookiecutter.__fairness -%}
def make_row(
    rng: random.Random, target: str, sensitive: list[str], bias: float, classes: int = 2, shift: bool = False
) -> dict:
{%- else -%}
def make_row(rng: random.Random, target: str, sensitive: list[str], classes: int = 2, shift: bool = False) -> dict:
{%- endif %}
    age = rng.randint(18, 75)
    income = round(math.exp(rng.gauss(3.7, 0.5)) * (INCOME_SHIFT if shift else 1.0), 1)  # thousands per year
    debt_ratio = round(min(max(rng.betavariate(2, 5), 0.0), 1.0), 3)
    history = min(age - 18, max(0, int(rng.gauss((age - 18) * 0.6, 3))))
    late = min(10, int(rng.expovariate(1.2)))
    employment = rng.choices(list(EMPLOYMENT), weights=EMPLOYMENT_WEIGHTS[shift])[0]
    education = rng.choice(list(EDUCATION))
    groups = {name: rng.choice(KNOWN_GROUPS.get(name, ["group_a", "group_b", "group_c"])) for name in sensitive}
    score = (
        1.6 * math.log(income / 40)
        - 4.0 * (debt_ratio - 0.3)
        + 0.08 * history
        - 0.7 * late
        + EMPLOYMENT[employment]
        + EDUCATION[education]
        - 1.0
    )
{%- if cookiecutter.__fairness %}
    first = sensitive[0] if sensitive else ""  # no sensitive column: no group to penalise
    if bias and first and groups[first] == KNOWN_GROUPS.get(first, ["group_a"])[0]:
        score -= bias  # injected unfairness: the first group of the first sensitive feature is penalised
{%- endif %}
{%- if cookiecutter.task == "tabular_regression" %}
    if classes == 0:  # the credit limit: rises with the same score, never below 0.5
        label = round(max(0.5, 12.0 + 5.0 * score + rng.gauss(0, 2.5)), 2)
    elif classes == 2:
{%- else %}
    if classes == 2:
{%- endif %}
        label = int(rng.random() < 1 / (1 + math.exp(-2.0 * score)))
    else:
        noisy = score + rng.gauss(0, 0.6)
        label = TIERS[(noisy > -0.3) + (noisy > 1.2)]
    return {
        "age": age,
        "income": _maybe_missing(rng, income, 0.03),
        "debt_ratio": debt_ratio,
        "credit_history_years": history,
        "late_payments": late,
        "employment": _maybe_missing(rng, employment, 0.03),
        "education": _maybe_missing(rng, education, 0.02),
        "region": rng.choice(REGIONS),
        **groups,
        target: label,
    }


def generate(
    path: Path,
    rows: int,
    target: str,
    sensitive: list[str],
    seed: int = 42,
{%- if cookiecutter.__fairness %}
    bias: float = 0.0,
{%- endif %}
    classes: int = {{ 0 if cookiecutter.task == "tabular_regression" else 2 }},
    shift: bool = False,
) -> Path:
    rng = random.Random(seed)
    records = [make_row(rng, target, sensitive, {{ "bias, " if cookiecutter.__fairness }}classes, shift) for _ in range(rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("data/{{ cookiecutter.module_name }}.csv"))
    parser.add_argument("--target", default="{{ cookiecutter.target_column }}")
    parser.add_argument("--sensitive", default="{{ cookiecutter.sensitive_features }}", help="comma-separated")
    parser.add_argument("--seed", type=int, default=42)
{%- if cookiecutter.__fairness %}
    parser.add_argument("--bias", type=float, default=0.0, help="penalty for one group (tests the fairness gate)")
{%- endif %}
{%- if cookiecutter.task == "tabular_regression" %}
    parser.add_argument("--classes", type=int, choices=[0, 2, 3], default=0, help="0: the credit limit; 2 or 3: labels")
{%- else %}
    parser.add_argument("--classes", type=int, choices=[2, 3], default=2, help="3: denied / review / approved")
{%- endif %}
    parser.add_argument("--shift", action="store_true", help="the drift demo's shifted batch (see INCOME_SHIFT)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    sensitive = [s.strip() for s in args.sensitive.split(",") if s.strip()]
    print(generate(args.out, args.rows, args.target, sensitive, args.seed, {{ "args.bias, " if cookiecutter.__fairness }}args.classes, args.shift))


if __name__ == "__main__":
    main()

"""Deterministic demo data for text classification: short product reviews with a sentiment label (0/1, or negative /
neutral / positive with --classes 3) and group columns.

Standard library only, so the template's post-generation hook can run it before any dependency is installed:
    python src/{{ cookiecutter.module_name }}/pipeline/demo_data.py --rows 3000 --out data/{{ cookiecutter.module_name }}.csv
"""

import argparse
import csv
import random
from pathlib import Path

KNOWN_GROUPS = {"sex": ["female", "male"], "gender": ["female", "male", "non_binary"]}
PRODUCTS = ["headphones", "kettle", "backpack", "phone case", "desk lamp", "blender", "keyboard", "jacket"]
GOOD = ["great", "excellent", "reliable", "sturdy", "comfortable", "fantastic", "well made", "worth the price"]
BAD = ["terrible", "flimsy", "broken", "disappointing", "noisy", "useless", "overpriced", "poorly made"]
OPENERS = ["I bought this {p} last month.", "Got the {p} as a gift.", "Ordered the {p} for work.", "The {p} arrived."]
GOOD_CLOSERS = ["Would buy again.", "Highly recommend it.", "Five stars from me.", "Very happy overall."]
BAD_CLOSERS = ["Returning it.", "Would not recommend.", "One star.", "Asked for a refund."]
MEH = ["okay", "average", "ordinary", "acceptable", "so so", "middling", "passable", "unremarkable"]
MEH_CLOSERS = ["It does the job.", "Three stars.", "Nothing special.", "Neither good nor bad."]
SENTIMENTS = ["negative", "neutral", "positive"]  # --classes 3
# --shift: the drift demo's batch (make drift-demo). Reviews of a new product line, written on phones: each ends with a
# sentence about the delivery and an emoji, which the tokenizer does not know. The texts get longer (in words and
# characters) and a share of their tokens unknown; sentiment and labels follow the same rule as without --shift.
SHIFT_PRODUCTS = ["smartwatch", "air fryer", "e-reader", "robot vacuum"]
DELIVERY = ["Delivery took two weeks.", "The courier left it outside.", "Shipping was quick.", "The box was dented."]
EMOJI = ["\U0001f44d", "\U0001f621", "\U0001f4e6", "\u2b50"]  # thumbs up, angry face, package, star


def make_row(
    rng: random.Random, target: str, text: str, sensitive: list[str], bias: float, classes: int = 2, shift: bool = False
) -> dict:
    row = _row(rng, target, text, sensitive, bias, classes)
    if shift:
        product = rng.choice(SHIFT_PRODUCTS)
        review = row[text].replace(next(p for p in PRODUCTS if p in row[text]), product, 1)
        row[text] = f"{review} {rng.choice(DELIVERY)} {rng.choice(EMOJI)}"
    return row


def _row(rng: random.Random, target: str, text: str, sensitive: list[str], bias: float, classes: int) -> dict:
    if classes == 3 and rng.random() < 0.33:
        return _neutral_row(rng, target, text, sensitive)
    positive = rng.random() < 0.55
    groups = {name: rng.choice(KNOWN_GROUPS.get(name, ["group_a", "group_b", "group_c"])) for name in sensitive}
    first = sensitive[0] if sensitive else ""  # no sensitive column: no group to penalise
    penalised = bool(first) and groups[first] == KNOWN_GROUPS.get(first, ["group_a"])[0]
    if bias and positive and penalised and rng.random() < bias / 4:
        positive = False  # injected unfairness: labels flipped against one group
    words, closers = (GOOD, GOOD_CLOSERS) if positive else (BAD, BAD_CLOSERS)
    if rng.random() < 0.12:  # ambiguous reviews keep the task from being trivial
        words = GOOD if words is BAD else BAD
    product = rng.choice(PRODUCTS)
    body = f"It is {rng.choice(words)} and {rng.choice(words + ['okay', 'fine'])}."
    review = " ".join([rng.choice(OPENERS).format(p=product), body, rng.choice(closers)])
    label = int(positive) if rng.random() > 0.08 else int(not positive)  # label noise, as in real annotations
    return {text: review, **groups, target: label if classes == 2 else SENTIMENTS[2 * label]}


def _neutral_row(rng: random.Random, target: str, text: str, sensitive: list[str]) -> dict:
    groups = {name: rng.choice(KNOWN_GROUPS.get(name, ["group_a", "group_b", "group_c"])) for name in sensitive}
    body = f"It is {rng.choice(MEH)} and {rng.choice(MEH + ['okay', 'fine'])}."
    review = " ".join([rng.choice(OPENERS).format(p=rng.choice(PRODUCTS)), body, rng.choice(MEH_CLOSERS)])
    return {text: review, **groups, target: "neutral"}


def generate(
    path: Path,
    rows: int,
    target: str,
    sensitive: list[str],
    seed: int = 42,
    bias: float = 0.0,
    text: str = "text",
    classes: int = 2,
    shift: bool = False,
) -> Path:
    rng = random.Random(seed)
    records = [make_row(rng, target, text, sensitive, bias, classes, shift) for _ in range(rows)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the first paragraph: whole sentences
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("data/{{ cookiecutter.module_name }}.csv"))
    parser.add_argument("--target", default="{{ cookiecutter.target_column }}")
    parser.add_argument("--text", default="text", help="name of the text column")
    parser.add_argument("--sensitive", default="{{ cookiecutter.sensitive_features }}", help="comma-separated")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bias", type=float, default=0.0, help="flip labels against one group (fairness tests)")
    parser.add_argument("--classes", type=int, choices=[2, 3], default=2, help="3: negative / neutral / positive")
    parser.add_argument("--shift", action="store_true", help="the drift demo's shifted batch (see SHIFT_PRODUCTS)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be positive")
    sensitive = [s.strip() for s in args.sensitive.split(",") if s.strip()]
    made = generate(
        args.out, args.rows, args.target, sensitive, args.seed, args.bias, args.text, args.classes, args.shift
    )
    print(made)


if __name__ == "__main__":
    main()

{% if cookiecutter.task == "tabular_regression" -%}
"""The model's inputs and its answers, as the prediction log holds them: `value`, the predicted value."""
{%- else -%}
"""The model's inputs and its answers, as the prediction log holds them: `label` and `probability_<class>`."""
{%- endif %}

import pandas as pd

from ..release.prediction_log import field_types


def model_inputs(predictor) -> tuple[list[str], list[str]]:
    """(numeric, categorical) input fields of the served model, from its request contract (as the log types them)."""
    kinds = field_types(predictor.record.model_json_schema())
    return [c for c, k in kinds.items() if k == "numerical"], [c for c, k in kinds.items() if k == "categorical"]


{% if cookiecutter.task == "tabular_regression" -%}
def prediction_columns() -> list[str]:
    """The answer judged for drift: the predicted value, a numeric column."""
    return ["value"]


def with_predictions(predictor, frame: pd.DataFrame, inputs: list[str]) -> pd.DataFrame:
    """`frame` with the model's answer added as the log writes it, `value` (a frame lacking an input is left
    unscored)."""
    if any(c not in frame for c in inputs):
        return frame
    values = predictor.predict_values(frame[inputs].reset_index(drop=True))
    kept = frame.drop(columns=["value"], errors="ignore")  # e.g. a target named `value`: the answer replaces it
    return pd.concat([kept.reset_index(drop=True), pd.DataFrame({"value": values})], axis=1)
{%- else -%}
def prediction_columns(classes: list) -> list[str]:
    """The answers judged for drift: the label, and the positive class's probability (binary; it is the last
    class) or every class's probability (multi-class)."""
    names = [f"probability_{c}" for c in classes]
    return ["label", *(names[-1:] if len(names) == 2 else names)]


def with_predictions(predictor, frame: pd.DataFrame, inputs: list[str]) -> pd.DataFrame:
    """`frame` with the model's answers added as the log writes them (a frame lacking an input is left unscored)."""
    if any(c not in frame for c in inputs):
        return frame
    labels, proba = predictor.decide(frame[inputs].reset_index(drop=True))
    classes = predictor.encoder.classes
    answers = {"label": [classes[i] for i in labels]}
    answers |= {f"probability_{c}": proba[:, i] for i, c in enumerate(classes)}
    kept = frame.drop(columns=[c for c in answers if c in frame])  # e.g. a target named `label`: the answer replaces it
    return pd.concat([kept.reset_index(drop=True), pd.DataFrame(answers)], axis=1)
{%- endif %}

"""Monitoring: what the served model sees, judged against the data it was trained on (monitor_flow.py).

window.py      the rows judged: the prediction log's newest rows, or a batch file scored by the model
reference.py   the served model's training split, found through its lineage (BentoML labels -> MLflow run -> DVC)
text.py        text inputs as statistics: length in characters and words, the tokenizer's unknown-token share
checks.py      drift, prediction drift and data quality (one Evidently run) and the schema: a DriftCheck per statistic
performance.py labelled rows judged by the training flow's own performance{{ " and fairness gates" if cookiecutter.__fairness else " gate" }}
report.py      the verdict (ok / warn / drift / degraded), the card, the HTML report and the MLflow monitoring run
shadow.py      a challenger scoring the champion's traffic off the request path; shadow_report.py judges it
retrain.py     a labelled batch as a new DVC version, and a training run on it{% if cookiecutter.scale_out %}; retrain_event.py: the Argo trigger{% endif %}
"""

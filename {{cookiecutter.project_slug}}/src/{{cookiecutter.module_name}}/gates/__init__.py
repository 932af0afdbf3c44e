"""Gates: a trained model judged (performance{{ ', fairness' if cookiecutter.__fairness }}, champion) into verdicts that fail closed, and reports."""

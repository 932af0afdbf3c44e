"""Gates: a trained model judged (performance, fairness, champion) into verdicts that fail closed, and reports."""

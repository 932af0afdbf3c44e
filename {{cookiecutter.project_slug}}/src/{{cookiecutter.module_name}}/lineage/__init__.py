"""Lineage: data versions (lineage.py: .dvc pointers, md5s, reads), git (git.py: the one wrapper), the one MLflow
client{{ ", snapshots" if cookiecutter.snapshots }} and the provenance chain; used by every stage."""

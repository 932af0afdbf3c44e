"""Lineage: git and DVC facts, the one MLflow client, snapshots and the provenance chain; used by every stage."""

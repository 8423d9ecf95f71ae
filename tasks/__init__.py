"""Thin Prefect tasks over deml/: one side effect each, retried only when it may help."""

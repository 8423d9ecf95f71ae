"""Prefect flows, one per role, plus the demo: they take parameters and call tasks in order."""

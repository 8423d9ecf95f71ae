"""Scoring untrusted models: `sandbox.Sandbox` (the client) sends each model to a fork server
(`server`) that runs it in a fresh, limited child process (`child`), over framed pipes
(`frames`, `connection`); spares are warmed on models of our own (`warmup`).

May import: deml.model, deml.exceptions, deml._paths. NOTE: the server and its children run
in a `python -I` process with an empty environment: keep what they import small.
"""

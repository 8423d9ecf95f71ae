"""Scoring untrusted models: `sandbox.Sandbox` (the client) sends each model to a fork server
(`server`) that runs it in a fresh, limited child process (`child`), over framed pipes
(`frames`, `connection`); spares are warmed on models of our own (`warmup`); each child gives
up its user, the filesystem, the network and most system calls before it reads a model
(`confine`).

May import: deml.model, deml.exceptions, deml._paths. NOTE: the server and its children run
in a `python -I` process with an empty environment: keep what they import small.
"""

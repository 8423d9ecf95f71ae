"""The web dashboard: competitions, live leaderboards and each address's history, read from
the chain through the binding (`deml dashboard`; see "The dashboard" in README.md)."""

from deml.dashboard.app import create_app

__all__ = ["create_app"]

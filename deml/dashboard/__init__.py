"""The web dashboard: competitions, live leaderboards and each address's history, read from
the chain through the binding (`deml dashboard`; see "The dashboard" in README.md).

May import: deml.roles.standing (its rules), deml.contracts, deml.chain and below; never
deml.cli. It only reads: it holds no key and sends no transaction.
"""

from deml.dashboard.app import create_app

__all__ = ["create_app"]

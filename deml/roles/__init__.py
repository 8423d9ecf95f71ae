"""What each role does, as plain functions over the bindings: the host, the competitor, the
miner, the settlement anyone may run, the standing (leaderboard, slashes, payouts: the one
place these rules live), MLflow tracking and a host's competition terms.

May import: deml.contracts, deml.chain, deml.storage, deml.dataset, deml.model,
deml.scoring and below; never deml.cli or deml.dashboard.
"""

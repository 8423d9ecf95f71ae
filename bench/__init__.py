"""Benchmarks run by `deml bench …`; their results go to bench/results/."""

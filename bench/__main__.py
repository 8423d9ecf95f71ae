"""`python -m bench gas|codec|scoring|readme`: the benchmarks without the `deml` command."""

from bench.cli import bench_app

bench_app(prog_name="python -m bench")

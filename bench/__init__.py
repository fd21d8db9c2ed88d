"""Benchmarks: `python -m bench` runs them all (`make bench`); never part of `make test`."""

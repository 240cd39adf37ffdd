"""Benchmarks of sectorstats (``make bench``): see bench/run.py. Programs, not tests: nothing here asserts a time."""

"""Benchmarks: each prints a table of figure, value, target and ratio."""

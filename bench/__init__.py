"""Benchmarks (not tests): ``python bench/engine.py --help``."""

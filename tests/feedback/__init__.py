"""Tests of the domain package ``feedback``."""

"""Feedback workflows, built on the durable engine in :mod:`workflows.engine`."""

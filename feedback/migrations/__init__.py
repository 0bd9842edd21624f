"""Alembic migrations of the domain tables; run them with :mod:`feedback.migrate`."""

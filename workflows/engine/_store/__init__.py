"""The engine's persistence: tables, queries by concern, and dialect differences.

``Database`` owns connections and retries; ``runs``, ``history``, ``hooks`` and
``leases`` hold the queries of one concern each; ``batch`` groups the hot-path writes
of many runs into one transaction (group commit).
"""

from .batch import Batcher
from .database import Database, is_transient
from .writes import Write, WriteOutcome

__all__ = ["Batcher", "Database", "Write", "WriteOutcome", "is_transient"]

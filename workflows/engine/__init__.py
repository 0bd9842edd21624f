"""A durable workflow engine on SQLite or PostgreSQL.

Workflows are ``async def`` functions whose steps are checkpointed: a run survives
crashes and restarts, retries failed steps with back-off, sleeps for hours and waits
days for a hook, holding no memory while it waits. See ``Engine`` to run them.
"""

from ._api import Hook, create_hook, now, sleep, start_child, uuid
from ._definitions import Registry, step, workflow
from ._engine import Engine, Transaction
from ._errors import (
    BranchError,
    DatabaseUnavailable,
    DefinitionError,
    EngineError,
    FatalError,
    HookConflict,
    HookNotFound,
    HookTimeout,
    InvalidRunState,
    NonDeterminismError,
    OutsideWorkflowError,
    RetryableError,
    RunCancelled,
    RunCrashLooped,
    RunNotFound,
    SerializationError,
    StepRetriesExhausted,
    StoredError,
    WorkflowNotRegistered,
    WorkflowTimedOut,
)
from ._handle import RunHandle
from ._options import EngineOptions
from ._records import EventRecord, HookRecord, RunCounts, RunRecord, RunStatus, StepRecord
from ._retry import RetryPolicy
from ._worker import Worker

__all__ = [
    "BranchError",
    "DatabaseUnavailable",
    "DefinitionError",
    "Engine",
    "EngineError",
    "EngineOptions",
    "EventRecord",
    "FatalError",
    "Hook",
    "HookConflict",
    "HookNotFound",
    "HookRecord",
    "HookTimeout",
    "InvalidRunState",
    "NonDeterminismError",
    "OutsideWorkflowError",
    "Registry",
    "RetryPolicy",
    "RetryableError",
    "RunCancelled",
    "RunCounts",
    "RunCrashLooped",
    "RunHandle",
    "RunNotFound",
    "RunRecord",
    "RunStatus",
    "SerializationError",
    "StepRecord",
    "StepRetriesExhausted",
    "StoredError",
    "Transaction",
    "Worker",
    "WorkflowNotRegistered",
    "WorkflowTimedOut",
    "create_hook",
    "now",
    "sleep",
    "start_child",
    "step",
    "uuid",
    "workflow",
]

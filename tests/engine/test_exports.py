"""The engine's public face is exactly the documented names."""

import workflows.engine as engine

FIXED = {
    "workflow",
    "step",
    "sleep",
    "now",
    "uuid",
    "create_hook",
    "Hook",
    "start_child",
    "Engine",
    "RunHandle",
    "FatalError",
    "RetryableError",
    "StepRetriesExhausted",
    "NonDeterminismError",
    "RunCancelled",
    "HookNotFound",
    "HookConflict",
    "HookTimeout",
}


def test_all_is_sorted_and_complete() -> None:
    assert engine.__all__ == sorted(engine.__all__)
    public = {name for name in vars(engine) if not name.startswith("_")} - {"testing"}
    assert set(engine.__all__) == public


def test_the_fixed_api_names_exist() -> None:
    assert set(engine.__all__) >= FIXED


def test_errors_share_one_base_and_signals_do_not() -> None:
    from workflows.engine import _errors

    for name in engine.__all__:
        obj = getattr(engine, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, engine.EngineError), name
    assert not issubclass(_errors._Signal, Exception)

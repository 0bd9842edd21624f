"""Notifications split long lists of run ids without cutting one."""

from workflows.engine._store.dialect import _chunks


def test_long_id_lists_are_split_between_whole_ids() -> None:
    ids = [f"{i:032x}" for i in range(1000)]
    chunks = _chunks(ids, 7900)
    assert all(len(chunk) <= 7900 for chunk in chunks)
    assert [run_id for chunk in chunks for run_id in chunk.split(",")] == ids


def test_a_short_list_is_one_notification() -> None:
    assert _chunks(["a", "b"], 7900) == ["a,b"]

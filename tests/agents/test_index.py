"""The request index: best-of-texts scores, incremental updates, persistence, embedder checks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from agents.embedders.fake import FakeEmbedder
from agents.errors import EmbedderConfigError
from agents.index import IndexArrays, VectorIndex

DIM = 8


def unit(*values: float) -> npt.NDArray[np.float32]:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def axis(i: int) -> npt.NDArray[np.float32]:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[i] = 1.0
    return vector


def brute_force(
    rows: dict[str, list[npt.NDArray[np.float32]]], query: npt.NDArray[np.float32], k: int
) -> list[tuple[str, float]]:
    scores = {r: max(float(v @ query) for v in vs) for r, vs in rows.items()}
    return sorted(scores.items(), key=lambda item: -item[1])[:k]


def test_a_request_scores_by_its_best_text() -> None:
    index = VectorIndex("test", DIM)
    index.add("r1", [axis(0), axis(1)], texts=["title one", "feedback one"])
    index.add("r2", [unit(1, 1)], texts=["title two"])
    hits = index.search(axis(1), k=5)
    assert [h.request_id for h in hits] == ["r1", "r2"]
    assert hits[0].score == pytest.approx(1.0)
    assert hits[0].text == "feedback one"  # the row that matched
    assert hits[1].score == pytest.approx(np.sqrt(0.5))
    assert index.text_of("r1") == "title one"  # the request's own text: its first row


def test_add_more_texts_to_an_existing_request() -> None:
    index = VectorIndex("test", DIM)
    index.add("r1", axis(0))
    index.add("r2", axis(2))
    assert index.search(axis(3), k=1)[0].score == pytest.approx(0.0)
    index.add("r1", axis(3), text_ids=["feedback:9"])  # newly linked feedback
    best = index.search(axis(3), k=1)[0]
    assert (best.request_id, best.text_id) == ("r1", "feedback:9")
    assert index.rows == 3 and len(index) == 2


def test_update_replaces_every_row_of_a_request() -> None:
    index = VectorIndex("test", DIM)
    index.add("r1", [axis(0), axis(1)])
    index.add("r2", axis(5))
    index.update("r1", axis(2), texts=["new title"])
    assert index.rows == 2
    assert index.search(axis(0), k=1)[0].score == pytest.approx(0.0)
    assert index.search(axis(2), k=1)[0].request_id == "r1"
    assert index.text_of("r1") == "new title"


def test_remove_forgets_a_request_and_keeps_the_others() -> None:
    index = VectorIndex("test", DIM)
    for i in range(4):
        index.add(f"r{i}", [axis(i), axis(i + 4)])
    index.remove("r1")
    assert "r1" not in index and len(index) == 3 and index.rows == 6
    assert [h.request_id for h in index.search(axis(1), k=5)] != []
    assert "r1" not in [h.request_id for h in index.search(axis(1), k=5)]
    assert index.search(axis(6), k=1)[0].request_id == "r2"
    index.add("r1", axis(1))  # the slot is reused cleanly
    assert index.search(axis(1), k=1)[0].request_id == "r1"
    assert index.search(axis(5), k=1)[0].score == pytest.approx(0.0)  # old row truly gone
    assert index.rows == 7


def test_search_matches_brute_force_through_random_updates() -> None:
    rng = np.random.default_rng(7)
    index = VectorIndex("test", DIM)
    truth: dict[str, list[npt.NDArray[np.float32]]] = {}

    def random_rows(count: int) -> list[npt.NDArray[np.float32]]:
        rows = rng.normal(size=(count, DIM)).astype(np.float32)
        return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))

    for step in range(300):
        request_id = f"r{rng.integers(40)}"
        action = rng.choice(["add", "update", "remove"], p=[0.6, 0.2, 0.2])
        if action == "add" or request_id not in truth:
            rows = random_rows(int(rng.integers(1, 4)))
            index.add(request_id, rows)
            truth.setdefault(request_id, []).extend(rows)
        elif action == "update":
            truth[request_id] = random_rows(int(rng.integers(1, 4)))
            index.update(request_id, truth[request_id])
        else:
            index.remove(request_id)
            del truth[request_id]
        if step % 25 == 0 and truth:
            query = random_rows(1)[0]
            got = [(h.request_id, h.score) for h in index.search(query, k=5)]
            want = brute_force(truth, query, 5)
            assert [r for r, _ in got] == [r for r, _ in want]
            assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


def test_search_many_equals_search() -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex("test", DIM)
    for i in range(30):
        index.add(f"r{i}", rng.normal(size=(2, DIM)))
    queries = rng.normal(size=(300, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    together = index.search_many(queries, k=3)
    for i in (0, 255, 256, 299):  # across the internal chunk boundary too
        alone = index.search(queries[i], k=3)
        assert [h.request_id for h in together[i]] == [h.request_id for h in alone]
        assert [h.score for h in together[i]] == pytest.approx([h.score for h in alone], abs=1e-6)


def test_small_and_empty_indexes() -> None:
    index = VectorIndex("test", DIM)
    assert index.search(axis(0)) == []
    index.add("r1", axis(0))
    assert len(index.search(axis(0), k=10)) == 1


def test_export_and_import_round_trip() -> None:
    index = VectorIndex("fake:hashed-words-8", DIM)
    index.add("r1", [axis(0), axis(1)], texts=["one", "one more"], text_ids=["a", "b"])
    index.add("r2", axis(2), texts=["two"])
    index.add("r1", axis(3), texts=["late"], text_ids=["c"])
    index.remove("r2")
    index.add("r3", axis(4), texts=["three"])
    arrays = index.export()
    assert arrays.request_ids.tolist() == ["r1", "r1", "r1", "r3"]
    assert arrays.text_ids.tolist() == ["a", "b", "c", "r3#0"]
    assert arrays.vectors.dtype == np.float32 and arrays.vectors.shape == (4, DIM)
    assert repr(arrays) == "IndexArrays(embedder='fake:hashed-words-8', dim=8, rows=4, requests=2)"
    restored = VectorIndex.from_arrays(arrays, embedder=FakeEmbedder(dim=DIM))
    for i in range(5):
        assert restored.search(axis(i)) == index.search(axis(i))
    assert restored.text_of("r1") == "one"


def test_the_index_refuses_another_embedders_vectors() -> None:
    arrays = VectorIndex("openai:text-embedding-3-small:1536", 1536).export()
    with pytest.raises(EmbedderConfigError, match="re-embed the requests"):
        VectorIndex.from_arrays(arrays, embedder=FakeEmbedder(dim=256))
    index = VectorIndex.for_embedder(FakeEmbedder(dim=DIM))
    with pytest.raises(EmbedderConfigError, match="fake:hashed-words-8"):
        index.check_embedder("local:all-MiniLM-L6-v2-int8", 384)
    with pytest.raises(ValueError, match=r"shape \(k, 8\)"):
        index.add("r1", np.ones(384))


def test_inconsistent_arrays_are_refused() -> None:
    arrays = IndexArrays(
        "x",
        DIM,
        np.array(["r1"]),
        np.array(["a", "b"]),
        np.array(["t"]),
        np.ones((1, DIM), dtype=np.float32),
    )
    with pytest.raises(ValueError, match="differ in size"):
        VectorIndex.from_arrays(arrays)


def test_bad_input_is_explained() -> None:
    index = VectorIndex("test", DIM)
    with pytest.raises(KeyError, match="'nope' is not in the index"):
        index.remove("nope")
    with pytest.raises(KeyError, match="add\\(\\) it first"):
        index.update("nope", axis(0))
    with pytest.raises(ValueError, match="finite and non-zero"):
        index.add("r1", np.zeros(DIM))
    index.add("r1", axis(0), text_ids=["a"])
    with pytest.raises(ValueError, match="already has rows"):
        index.add("r1", axis(1), text_ids=["a"])
    with pytest.raises(ValueError, match="1 vectors, 2 text_ids"):
        index.add("r2", axis(1), text_ids=["x", "y"])
    assert index.rows == 1  # failed calls change nothing


def test_vectors_are_normalised_on_the_way_in() -> None:
    index = VectorIndex("test", DIM)
    index.add("r1", axis(0) * 5)
    assert index.search(axis(0))[0].score == pytest.approx(1.0)
    assert repr(index) == "VectorIndex(embedder='test', dim=8, requests=1, rows=1)"

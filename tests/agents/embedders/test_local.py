"""The offline MiniLM embedder: faithful to the original model, normalised, well-behaved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from agents.embedders.local import LocalEmbedder, map_onnxruntime_errors
from agents.errors import EmbedderConfigError, EmbedderError

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


async def test_int8_model_agrees_with_the_original_model(embedder: LocalEmbedder) -> None:
    reference = np.load(REFERENCE)
    texts = reference["texts"].tolist()
    expected = reference["embeddings"].astype(np.float32)
    assert len(texts) >= 200 and max(len(t) for t in texts) > 1500  # includes truncated texts
    got = await embedder.embed(texts)
    cosine = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.mean() >= 0.98
    assert cosine.min() >= 0.95


async def test_rows_are_unit_float32_in_input_order(embedder: LocalEmbedder) -> None:
    texts = ["a much longer sentence about a card payment that was declined", "refund", "hi"]
    vectors = await embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1, 1, 1], abs=1e-5)
    alone = np.concatenate([await embedder.embed([t]) for t in texts])
    # Dynamic int8 quantization scales activations per batch, so a text's vector moves a
    # little with its batch mates; it must still be its own nearest neighbour, in place.
    similarity = alone @ vectors.T
    assert similarity.argmax(axis=1).tolist() == [0, 1, 2]
    assert np.diag(similarity).min() > 0.97


async def test_meaning_not_just_words(embedder: LocalEmbedder) -> None:
    refund, money_back, card = await embedder.embed(
        [
            "I want a refund for this purchase",
            "Please give me my money back",
            "When will my new card arrive?",
        ]
    )
    assert float(refund @ money_back) > float(refund @ card) + 0.2


async def test_empty_input(embedder: LocalEmbedder) -> None:
    empty = await embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


async def test_non_text_is_refused(embedder: LocalEmbedder) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        await embedder.embed(["fine", 3])  # type: ignore[list-item]


async def test_loads_lazily_and_once() -> None:
    embedder = LocalEmbedder(threads=1)
    assert "not loaded" in repr(embedder)
    await embedder.load()
    assert "loaded" in repr(embedder) and "not loaded" not in repr(embedder)


async def test_missing_model_names_the_file_and_the_fix(tmp_path: Path) -> None:
    embedder = LocalEmbedder(tmp_path)
    with pytest.raises(EmbedderConfigError, match=r"model\.onnx is missing.*export_minilm\.py"):
        await embedder.embed(["hello"])


async def test_git_lfs_pointer_instead_of_the_model(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_text("version https://git-lfs.github.com/spec/v1\n")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(EmbedderConfigError, match="not a valid ONNX model"):
        await LocalEmbedder(tmp_path).embed(["hello"])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(EmbedderConfigError, match="batch_size"):
        LocalEmbedder(batch_size=0)
    with pytest.raises(EmbedderConfigError, match="threads"):
        LocalEmbedder(threads=0)


@pytest.mark.parametrize(
    ("foreign", "ours", "message"),
    [
        (ort_errors.NoSuchFile, EmbedderConfigError, "missing"),
        (ort_errors.NoModel, EmbedderConfigError, "missing"),
        (ort_errors.NotFound, EmbedderConfigError, "missing"),
        (ort_errors.InvalidProtobuf, EmbedderConfigError, "not a valid ONNX model"),
        (ort_errors.InvalidGraph, EmbedderConfigError, "not a valid ONNX model"),
        (ort_errors.NotImplemented, EmbedderConfigError, "not a valid ONNX model"),
        (ort_errors.ModelRequiresCompilation, EmbedderConfigError, "not a valid ONNX model"),
        (ort_errors.Fail, EmbedderError, "failed"),
        (ort_errors.InvalidArgument, EmbedderError, "failed"),
        (ort_errors.RuntimeException, EmbedderError, "failed"),
        (ort_errors.EPFail, EmbedderError, "failed"),
        (ort_errors.EngineError, EmbedderError, "failed"),
        (ort_errors.DeviceReset, EmbedderError, "failed"),
        (ort_errors.ModelLoadCanceled, EmbedderError, "failed"),
    ],
)
def test_onnxruntime_errors_are_mapped(
    foreign: type[Exception], ours: type[Exception], message: str
) -> None:
    with pytest.raises(ours, match=message) as caught, map_onnxruntime_errors(Path("m.onnx")):
        raise foreign("boom")
    assert isinstance(caught.value.__cause__, foreign)


def test_every_onnxruntime_error_class_is_mapped() -> None:
    public = {
        name
        for name in dir(ort_errors)
        if isinstance(getattr(ort_errors, name), type)
        and issubclass(getattr(ort_errors, name), Exception)
    }
    unmapped = []
    for name in sorted(public - {"ModelLoaded"}):  # a status, not a failure
        try:
            with map_onnxruntime_errors(Path("m.onnx")):
                raise getattr(ort_errors, name)("boom")
        except EmbedderError:
            continue
        except Exception:
            unmapped.append(name)
    assert unmapped == []

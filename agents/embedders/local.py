"""The offline default embedder: all-MiniLM-L6-v2, int8 ONNX, on onnxruntime.

Texts are tokenized with ``tokenizers`` (truncated at 256 tokens, as the original
sentence-transformers model does), grouped by length so each batch pads little, run
through the int8 encoder, mean-pooled over real tokens and L2-normalised in numpy. No
torch at run time; ``scripts/export_minilm.py`` regenerates the model files.

Dynamic int8 quantization scales activations per batch, so a text's vector moves a
little with the texts embedded alongside it (cosine >= 0.98 to itself alone, about the
size of the quantization error against the fp32 model); ``batch_size=1`` makes every
vector independent of its batch at about half the throughput.

The model loads on the first :meth:`LocalEmbedder.embed` (or :meth:`LocalEmbedder.load`),
in a worker thread, so building an embedder costs nothing and a cold start (build, load,
first embedding) takes a fraction of a second. This is the only module that imports
onnxruntime; its errors are mapped to :mod:`agents.errors` by :func:`map_onnxruntime_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agents.errors import EmbedderConfigError, EmbedderError
from agents.thresholds import Thresholds

__all__ = ["LOCAL_THRESHOLDS", "MODEL_DIR", "LocalEmbedder", "map_onnxruntime_errors"]

MODEL_DIR = Path(__file__).resolve().parent / "models" / "all-MiniLM-L6-v2"
"""The folder holding ``model.onnx`` and ``tokenizer.json``."""

MAX_TOKENS = 256
"""Longer texts are truncated, as sentence-transformers does for this model."""

INLINE_CHARS = 512
"""A single text up to this length is embedded on the event loop (1-3 ms), not in a thread."""

LOCAL_THRESHOLDS = Thresholds(link=0.87, ask=0.585, margin=0.02)
"""From ``feedback-bot calibrate`` with the specifics guard on the dev files: Banking77 k5
and k1 (conversational) and GitBugs Hadoop and SeaMonkey duplicates (technical). Link
precision >= 0.95 at 95 % confidence on the Banking77 files (the bug-tracker files have
too few labelled matches to prove it, and hold the 2 % false-link cap), at most 20 % of
matchable feedback filed as new on average (method in :mod:`agents.calibration`;
figures in the model's README and the project README)."""

_REGENERATE = (
    "reinstall feedback-bot, or regenerate the files with scripts/export_minilm.py "
    "(see agents/embedders/models/all-MiniLM-L6-v2/README.md)"
)

Matrix = npt.NDArray[np.float32]


@contextlib.contextmanager
def map_onnxruntime_errors(model_path: Path) -> Iterator[None]:
    """Translate onnxruntime's exceptions into :mod:`agents.errors` ones.

    Args:
        model_path: The model file, named in the messages.

    Raises:
        EmbedderConfigError: The model file is missing or not a valid model.
        EmbedderError: Inference failed.
    """
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

    missing = (ort_errors.NoSuchFile, ort_errors.NoModel, ort_errors.NotFound, FileNotFoundError)
    invalid = (
        ort_errors.InvalidProtobuf,
        ort_errors.InvalidGraph,
        ort_errors.NotImplemented,
        ort_errors.ModelRequiresCompilation,
    )
    failed = (
        ort_errors.Fail,
        ort_errors.InvalidArgument,
        ort_errors.RuntimeException,
        ort_errors.EPFail,
        ort_errors.EngineError,
        ort_errors.DeviceReset,
        ort_errors.ModelLoadCanceled,
    )
    try:
        yield
    except missing as exc:
        raise EmbedderConfigError(
            f"the local model file {model_path} is missing: {_REGENERATE}"
        ) from exc
    except invalid as exc:
        raise EmbedderConfigError(
            f"{model_path} is not a valid ONNX model for this onnxruntime (a Git LFS "
            f"pointer or a truncated download?): {_REGENERATE}"
        ) from exc
    except failed as exc:
        raise EmbedderError(f"the local model {model_path.name} failed: {exc}") from exc


@dataclass(frozen=True)
class _Runtime:
    session: Any
    tokenizer: Any


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions), int8 ONNX, fully offline.

    Args:
        model_dir: Folder with ``model.onnx`` and ``tokenizer.json`` (default: the
            packaged model).
        threads: onnxruntime intra-op threads (default: the CPU count, at most 4).
        batch_size: Texts per inference call.
    """

    name = "local:all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if batch_size < 1:
            raise EmbedderConfigError(f"batch_size must be at least 1, got {batch_size}")
        if threads is not None and threads < 1:
            raise EmbedderConfigError(f"threads must be at least 1, got {threads}")
        self.model_dir = Path(model_dir) if model_dir is not None else MODEL_DIR
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.batch_size = batch_size
        self.thresholds: Thresholds | None = LOCAL_THRESHOLDS
        self._runtime: _Runtime | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "loaded" if self._runtime is not None else "not loaded"
        return f"LocalEmbedder(model_dir={str(self.model_dir)!r}, threads={self.threads}, {state})"

    async def load(self) -> None:
        """Load the model now instead of on the first :meth:`embed` (e.g. at start-up).

        Raises:
            EmbedderConfigError: The model files are missing or invalid.
        """
        await asyncio.to_thread(self._ensure_runtime)

    async def embed(self, texts: Sequence[str]) -> Matrix:
        """Embed texts into L2-normalised rows.

        Args:
            texts: The texts; may be empty. Texts over 256 tokens are truncated.

        Returns:
            A float32 array of shape ``(len(texts), 384)``.

        Raises:
            TypeError: An item is not a string.
            EmbedderConfigError: The model files are missing or invalid.
            EmbedderError: Inference failed.
        """
        batch = _check_texts(texts)
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._runtime is None:
            await self.load()
        if len(batch) == 1 and len(batch[0]) <= INLINE_CHARS:
            # One short message takes 1-3 ms; a hop to a worker thread would add 0.5-1 ms
            # on 2 busy cores, so it runs on the loop. Anything larger goes to a thread.
            return self._embed_now(batch)
        return await asyncio.to_thread(self._embed_now, batch)

    def _embed_now(self, texts: list[str]) -> Matrix:
        runtime = self._ensure_runtime()
        encodings = runtime.tokenizer.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            ids, mask = _pad([encodings[i].ids for i in rows])
            with map_onnxruntime_errors(self.model_dir / "model.onnx"):
                (tokens,) = runtime.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[rows] = mean_pool(tokens, mask)
        return out

    def _ensure_runtime(self) -> _Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:
            if self._runtime is None:
                self._runtime = self._open()
            return self._runtime

    def _open(self) -> _Runtime:
        model_path = self.model_dir / "model.onnx"
        tokenizer_path = self.model_dir / "tokenizer.json"
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise EmbedderConfigError(f"the local model file {path} is missing: {_REGENERATE}")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # Spinning threads shave a millisecond off a lone query but burn the cores the
        # event loop and the database need between queries.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        with map_onnxruntime_errors(model_path):
            session = ort.InferenceSession(
                str(model_path), options, providers=["CPUExecutionProvider"]
            )
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # tokenizers raises plain Exception on bad files
            raise EmbedderConfigError(
                f"{tokenizer_path} is not a valid tokenizer file: {_REGENERATE}"
            ) from exc
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()
        return _Runtime(session=session, tokenizer=tokenizer)


def _check_texts(texts: Sequence[str]) -> list[str]:
    batch = list(texts)
    for i, text in enumerate(batch):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")
    return batch


def _pad(sequences: Sequence[Sequence[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Right-pad token ids with 0 ([PAD]) to the longest; returns ``(ids, attention_mask)``."""
    width = max(len(s) for s in sequences)
    ids = np.zeros((len(sequences), width), dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def mean_pool(tokens: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> Matrix:
    """Average token embeddings over real tokens and L2-normalise each row.

    Args:
        tokens: Token embeddings, shape ``(batch, tokens, dim)``.
        mask: 1 for real tokens, 0 for padding, shape ``(batch, tokens)``.

    Returns:
        Unit rows, shape ``(batch, dim)``, float32.
    """
    weights = mask.astype(np.float32)[:, :, None]
    summed = (tokens * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: Matrix = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit

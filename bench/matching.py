#!/usr/bin/env python3
"""Benchmark the matching layer: embedders and the request index.

For each embedder (``local``; ``openai`` against the local fake OpenAI server this
script starts; ``fake``) it measures:

- cold start: a fresh Python process imports ``agents``, builds the embedder and embeds
  one message (interpreter start-up excluded);
- throughput: texts per second embedding 1,024 development texts in one call;
- embed + search: latency of ``Matcher.decide`` for one message (embed it, search an index
  of 10,000 requests, apply the thresholds and the specifics guard), p50 and p90 over 200
  messages.

Every figure is the median of ``--repeat`` runs. Targets for ``local``: p50 <= 5 ms for
embed + search, cold start <= 1 s. The index holds synthetic unit vectors (one per
request, each with a development text for the guard to read); search cost does not
depend on what the vectors mean.

    python bench/matching.py [--repeat 5] [--requests 10000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.embedders import Embedder, get_embedder  # noqa: E402
from agents.index import VectorIndex  # noqa: E402
from agents.matcher import Matcher  # noqa: E402

DEV_FILE = ROOT / "tests" / "agents" / "data" / "banking77-k5-s0.json.gz"
FAKE_KEY = "sk-bench"
TARGETS = {"local": {"p50_ms": 5.0, "cold_s": 1.0}}

COLD_CHILD = """
import asyncio, sys, time
started = time.perf_counter()
from agents.embedders import get_embedder
async def main():
    options = {} if sys.argv[1] != "openai" else {"api_key": sys.argv[3], "base_url": sys.argv[2]}
    embedder = get_embedder(sys.argv[1], **options)
    await embedder.embed(["My card payment was declined twice, why?"])
    if hasattr(embedder, "aclose"):
        await embedder.aclose()
asyncio.run(main())
print(time.perf_counter() - started)
"""


@dataclass(frozen=True)
class Figures:
    """Medians for one embedder."""

    name: str
    cold_s: float
    texts_per_s: float
    p50_ms: float
    p90_ms: float


def dev_texts(count: int) -> list[str]:
    with gzip.open(DEV_FILE, "rt", encoding="utf-8") as handle:
        doc = json.load(handle)
    texts = [q["text"] for q in doc["queries"]]
    return (texts * (count // len(texts) + 1))[:count]


def cold_start(kind: str, base_url: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", COLD_CHILD, kind, base_url, FAKE_KEY],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return float(done.stdout.strip().splitlines()[-1])


async def throughput(embedder: Embedder, texts: Sequence[str]) -> float:
    started = time.perf_counter()
    await embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def synthetic_index(embedder: Embedder, requests: int) -> VectorIndex:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(requests, embedder.dim)).astype(np.float32)
    texts = dev_texts(requests)
    index = VectorIndex.for_embedder(embedder)
    for i, vector in enumerate(vectors):
        index.add(f"r{i}", vector, texts=[texts[i]])
    return index


async def decide_latency(matcher: Matcher, messages: Sequence[str]) -> tuple[float, float]:
    await matcher.decide(messages[0])  # warm
    samples = []
    for text in messages:
        started = time.perf_counter()
        await matcher.decide(text)
        samples.append(time.perf_counter() - started)
    p50, p90 = np.percentile(samples, [50, 90])
    return float(p50) * 1e3, float(p90) * 1e3


async def measure(kind: str, base_url: str, args: argparse.Namespace) -> Figures:
    options: dict[str, Any] = {}
    if kind == "openai":
        options = {"api_key": FAKE_KEY, "base_url": base_url, "dimensions": 384}
    embedder = get_embedder(kind, **options)
    texts = dev_texts(args.texts)
    messages = dev_texts(args.messages)
    # the embedder's own thresholds (openai has none: the local ones will do for timing)
    thresholds = embedder.thresholds or get_embedder("local").thresholds
    matcher = Matcher(embedder, synthetic_index(embedder, args.requests), thresholds=thresholds)
    runs: dict[str, list[float]] = {"cold": [], "tput": [], "p50": [], "p90": []}
    try:
        for _ in range(args.repeat):
            runs["cold"].append(cold_start(kind, base_url))
            runs["tput"].append(await throughput(embedder, texts))
            p50, p90 = await decide_latency(matcher, messages)
            runs["p50"].append(p50)
            runs["p90"].append(p90)
    finally:
        if hasattr(embedder, "aclose"):
            await embedder.aclose()
    median = {key: statistics.median(values) for key, values in runs.items()}
    return Figures(kind, median["cold"], median["tput"], median["p50"], median["p90"])


def report(figures: Sequence[Figures], args: argparse.Namespace) -> str:
    header = ("embedder", "cold start", "texts/s", "embed+search p50", "p90", "targets")
    rows = [header]
    for f in figures:
        target = TARGETS.get(f.name)
        verdict = (
            "-"
            if target is None
            else (
                "met" if f.p50_ms <= target["p50_ms"] and f.cold_s <= target["cold_s"] else "MISSED"
            )
        )
        rows.append(
            (
                f.name,
                f"{f.cold_s * 1e3:.0f} ms",
                f"{f.texts_per_s:,.0f}",
                f"{f.p50_ms:.2f} ms",
                f"{f.p90_ms:.2f} ms",
                verdict,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = (
        f"\nmedians of {args.repeat} runs; index of {args.requests:,} requests; "
        f"throughput over {args.texts:,} texts; latency over {args.messages} messages; "
        f"{os.cpu_count()} CPUs.\nopenai runs against the local fake server "
        f"(hashing embeddings, 384 dims): it measures our client path, not OpenAI.\n"
        f"local targets: embed+search p50 <= 5 ms, cold start <= 1 s."
    )
    return "\n".join(lines) + "\n" + notes


async def run(args: argparse.Namespace) -> int:
    from tests.fakes.openai_server import FakeOpenAIServer

    figures = []
    async with FakeOpenAIServer(api_key=FAKE_KEY) as server:
        for kind in args.embedders.split(","):
            print(f"measuring {kind} ...", file=sys.stderr, flush=True)
            figures.append(await measure(kind, server.base_url, args))
    print(report(figures, args))
    local = next((f for f in figures if f.name == "local"), None)
    if local is not None and (local.p50_ms > 5.0 or local.cold_s > 1.0):
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedders", default="local,openai,fake")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests in the index")
    parser.add_argument("--texts", type=int, default=1024, help="texts for throughput")
    parser.add_argument("--messages", type=int, default=200, help="messages for latency")
    parser.add_argument("--quick", action="store_true", help="1 run, fewer texts")
    args, unknown = parser.parse_known_args(argv)  # dev.py passes engine options to both
    if unknown:
        print(f"bench/matching.py: ignoring {' '.join(unknown)}", file=sys.stderr)
    if args.quick:
        args.repeat, args.texts, args.messages = 1, 256, 50
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())

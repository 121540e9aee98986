#!/usr/bin/env python3
"""Benchmark the in-process Transformers backend on this machine's CPU with the tiny test models.

Needs torch and transformers: run it with the Transformers tier's environment
(``scripts/transformers-tier.sh`` builds it; its python is printed by ``--which``), e.g.

    $(ls -d ~/.cache/mistral-lsp-ci/transformers-tier/venv-*)/bin/python scripts/bench_backend.py

For each tiny random model (built from configs as the tests build them: ``MistralForCausalLM``
and Mistral-Small-3.2's ``Mistral3ForConditionalGeneration``, hidden 64, one layer, the real
131072-token vocabulary) it measures:

1. the load time (the backend's own, torch already imported);
2. tokens per second of a greedy prefilled completion (free text) and of an answer under the
   review's JSON schema (every token masked by llguidance), ``--tokens`` each, best of ``--runs``;
3. how long a completion waits for the device while a review generates: its time to the end
   of a 4-token answer, the review giving the device up at its next token.

Usage: scripts/bench_backend.py [--tokens 128] [--runs 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsp_server.model.backends.transformers import TransformersBackend  # noqa: E402
from lsp_server.model.client import ChatOptions  # noqa: E402
from lsp_server.model.findings import response_format  # noqa: E402
from tests.tiny_models import build_text_model, build_vision_model  # noqa: E402

PREFILLED = [
    {"role": "system", "content": "You complete code."},
    {"role": "user", "content": "Complete the function.\n\ndef mean(values):\n    <CURSOR>"},
    {"role": "assistant", "content": "```python\ndef mean(values):\n    "},
]
REVIEW = [{"role": "system", "content": "You review code."},
          {"role": "user", "content": "Review this code and answer with the findings JSON:\ndef f(a):\n    return a / 0"}]


async def rate(backend: TransformersBackend, runs: int, ask: Any) -> float:
    best = 0.0
    for _ in range(runs):
        before_tokens, before_s = backend.stats.tokens, backend.stats.device_seconds
        await ask()
        tokens = backend.stats.tokens - before_tokens
        seconds = backend.stats.device_seconds - before_s
        best = max(best, tokens / seconds if seconds else 0.0)
    return best


async def measure(folder: Path, tokens: int, runs: int) -> dict[str, Any]:
    backend = TransformersBackend(str(folder), device="cpu", dtype="float32")
    try:
        await backend.models()
        out: dict[str, Any] = {"model": type(backend.runtime.model).__name__, "load_s": round(backend.load_seconds, 2),
                               "threads": backend.runtime.describe()["cpuThreads"]}

        async def completion() -> None:
            async with backend.stream_chat(PREFILLED, ChatOptions(max_tokens=tokens, temperature=0.0, prefill=True,
                                                                  timeout_s=600)) as deltas:
                async for _ in deltas:
                    pass

        async def review() -> None:
            await backend.chat(REVIEW, ChatOptions(max_tokens=tokens, temperature=0.0, timeout_s=600),
                               response_format=response_format())

        out["free_text_tokens_per_s"] = round(await rate(backend, runs, completion), 1)
        out["json_schema_tokens_per_s"] = round(await rate(backend, runs, review), 1)
        long_review = asyncio.create_task(backend.chat(
            REVIEW, ChatOptions(max_tokens=10 * tokens, temperature=1.0, seed=1, timeout_s=600)))
        while not backend.busy:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        async with backend.stream_chat(PREFILLED, ChatOptions(max_tokens=4, temperature=0.0, prefill=True)) as deltas:
            async for _ in deltas:
                pass
        out["completion_during_review_ms"] = round((time.perf_counter() - started) * 1000)
        out["review_still_running"] = not long_review.done()
        long_review.cancel()
        try:
            await long_review
        except asyncio.CancelledError:
            pass
        return out
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {"cores": len(os.sched_getaffinity(0)), "load_average": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in (("text", build_text_model), ("mistral3", build_vision_model)):
            folder = build(Path(tmp) / name)
            results[name] = asyncio.run(measure(folder, args.tokens, args.runs))
            print(name, json.dumps(results[name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

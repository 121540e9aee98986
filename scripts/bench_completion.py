#!/usr/bin/env python3
"""Benchmark the server's own completion latency and a keystroke burst.

Runs the real server (``python -m lsp_server serve``) under a real LSP client
against the vLLM stand-in from tests/standin, and prints:

1. latency: for a 2,000-line and an 8,500-line Python file, a one-character edit
   (didChange) followed by an invoked inlineCompletion, repeated; time from sending
   the request to its answer (p50/p95), with the stand-in (in its own process)
   answering at once (0 ms model latency), and the server's peak RSS;
2. burst: 20 keystrokes 30 ms apart, each with an automatic inlineCompletion, with
   the stand-in answering in 50 ms: time from the last keystroke to the last answer,
   and how many requests reached the model.

Usage: scripts/bench_completion.py [--iterations N] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, client_capabilities  # noqa: E402

from tests.standin import Reply, StandIn  # noqa: E402

FUNCTION = '''

def process_{n}(records: list[dict], limit: int = {n}) -> dict[str, int]:
    """Count records by kind, at most ``limit`` of them ({n})."""
    counts: dict[str, int] = {{}}
    for index, record in enumerate(records):
        if index >= limit:
            break
        kind = record.get("kind", "unknown")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


class Handler{n}(BaseHandler):
    """Handles batch {n}."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen = 0

    def handle(self, item: dict) -> bool:
        self.seen += 1
        total = process_{n}([item])
        return bool(total)
'''


def python_file(lines: int) -> str:
    header = "import os\nimport sys\nfrom collections import defaultdict\n\n\nclass BaseHandler:\n    pass\n"
    parts = [header]
    n = 0
    while sum(p.count("\n") for p in parts) < lines:
        parts.append(FUNCTION.format(n=n))
        n += 1
    text = "".join(parts)
    return "\n".join(text.split("\n")[:lines]) + "\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def start(standin: StandIn | ExternalStandIn, cache: Path, debounce_ms: int = 75):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update(
        MISTRAL_LSP_ENDPOINT=standin.base_url,
        MISTRAL_LSP_CACHE_DIR=str(cache),
        MISTRAL_LSP_LOG_LEVEL="warning",
        MISTRAL_LSP_DEBOUNCE_MS=str(debounce_ms),
        PYTHONPATH=str(ROOT),
    )
    config = ClientServerConfig(server_command=[sys.executable, "-m", "lsp_server", "serve"], server_env=env)
    client = await config.start()
    caps = client_capabilities("visual-studio-code@v1.65.2")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    await client.initialize_session(types.InitializeParams(capabilities=caps, root_uri=cache.as_uri()))
    return client


def change(uri: str, version: int, line: int, character: int, text: str) -> types.DidChangeTextDocumentParams:
    at = types.Position(line=line, character=character)
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)],
    )


def request(uri: str, line: int, character: int, invoked: bool) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


class ExternalStandIn:
    """The stand-in in its own process, so its work does not share this process's GIL."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> ExternalStandIn:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.standin", "--port", "0", "--text", self._text],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self._proc.stdout is not None
        self.base_url = self._proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)


async def latency(cache: Path, lines: int, iterations: int) -> dict[str, float | int | None]:
    with ExternalStandIn("pass") as standin:
        return await _latency(standin, cache, lines, iterations)


async def _latency(standin: ExternalStandIn, cache: Path, lines: int, iterations: int) -> dict[str, float | int | None]:
    client = await start(standin, cache)
    try:
        text = python_file(lines)
        uri = (cache / f"bench_{lines}.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        rows = text.split("\n")
        # edit inside a function body in the middle of the file
        target = next(i for i in range(len(rows) // 2, len(rows)) if rows[i].strip().startswith("self.seen += 1"))
        column = len(rows[target])
        times: list[float] = []
        version = 1
        for i in range(iterations + 10):
            version += 1
            client.text_document_did_change(change(uri, version, target, column, " "))
            column += 1
            started = time.perf_counter()
            await client.text_document_inline_completion_async(request(uri, target, column, invoked=True))
            if i >= 10:  # warm-up: imports, first parse of caches, tokenizer thread start
                times.append((time.perf_counter() - started) * 1000)
        pid = client._server.pid if client._server else None  # noqa: SLF001 - the server process
        rss = peak_rss_mb(pid) if pid else None
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[])
        )
    finally:
        await client.shutdown_session()
    return {
        "lines": lines,
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "peak_rss_mb": round(rss, 1) if rss else None,
        "model_calls": status.get("modelCalls"),
        "tokenizer": status.get("tokenizer"),
    }


async def burst(standin: StandIn, cache: Path) -> dict[str, float | int]:
    standin.reset()
    standin.default = Reply(text="eta", first_token_delay=0.05)
    client = await start(standin, cache)
    try:
        uri = (cache / "burst.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id="python", version=1, text=python_file(2000))
            )
        )
        rows = python_file(2000).split("\n")
        target = next(i for i, r in enumerate(rows) if r.strip() == "self.seen += 1")
        client.text_document_did_change(change(uri, 2, target + 1, 0, "        \n"))
        typed = "results = alphas + b"
        before = len(standin.generation_requests())
        pending = []
        for i, ch in enumerate(typed):
            client.text_document_did_change(change(uri, 3 + i, target + 1, 8 + i, ch))
            last_key = time.perf_counter()
            pending.append(
                asyncio.ensure_future(
                    client.text_document_inline_completion_async(request(uri, target + 1, 9 + i, invoked=False))
                )
            )
            if i < len(typed) - 1:
                await asyncio.sleep(0.03)
        answers = await asyncio.gather(*pending)
        done = time.perf_counter()
        reached = len(standin.generation_requests()) - before
        final = answers[-1].items[0].insert_text if answers[-1].items else ""
    finally:
        await client.shutdown_session()
    return {
        "keystrokes": len(typed),
        "answered": len(answers),
        "last_key_to_answer_ms": round((done - last_key) * 1000, 1),
        "model_requests": reached,
        "final_answer": final,
    }


async def main_async(args: argparse.Namespace) -> dict:
    with StandIn() as standin, tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        results = {
            "latency": [await latency(cache, n, args.iterations) for n in (2000, 8500)],
            "burst": await burst(standin, cache),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print(f"{'file':>12} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'peak RSS MB':>12}")
    for row in results["latency"]:
        print(
            f"{row['lines']:>7} lines {row['requests']:>9} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['max_ms']:>8} {row['peak_rss_mb']:>12}"
        )
    b = results["burst"]
    print(
        f"burst: {b['keystrokes']} keystrokes 30 ms apart, {b['answered']} answered, "
        f"{b['model_requests']} reached the model, last keystroke -> final answer "
        f"{b['last_key_to_answer_ms']} ms (model 50 ms), final answer {b['final_answer']!r}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

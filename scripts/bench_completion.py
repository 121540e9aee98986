#!/usr/bin/env python3
"""Benchmark the server's own completion latency and a keystroke burst.

Runs the real server (``python -m lsp_server serve``) under a real LSP client
against the vLLM stand-in from tests/standin, and prints:

1. latency: for a 2,000-line and an 8,500-line Python file, a one-character edit
   (didChange) followed by an invoked inlineCompletion, repeated; time from sending
   the request to its answer (p50/p95), with the stand-in (in its own process)
   answering at once (0 ms model latency), and the server's peak RSS. The timed
   requests start once the server has settled: its tokenizer loaded (a 1-3 s
   background thread that holds the GIL for up to ~100 ms at a time) and the review
   of the opened file finished. ``--cold`` times them right after start instead;
2. burst: 20 keystrokes 30 ms apart, each with an automatic inlineCompletion, with
   the stand-in answering in 50 ms: time from the last keystroke to the last answer,
   and how many requests reached the model;
3. indexing: a generated 2,000-file workspace (8 languages, a few 5,000-line files);
   completions on a 2,000-line file are timed (as in 1) while the symbol index is
   built in the background (from the moment the tokenizer has loaded, so only the
   index competes), then the server is restarted on the same cache and the
   restart's index build must parse no file (nothing changed).

Usage: scripts/bench_completion.py [--iterations N] [--cold] [--no-index] [--json FILE]
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


async def start(standin: StandIn | ExternalStandIn, cache: Path, debounce_ms: int = 75, root: Path | None = None,
                server_command: list[str] | None = None, **extra_env: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update(
        MISTRAL_LSP_ENDPOINT=standin.base_url,
        MISTRAL_LSP_CACHE_DIR=str(cache),
        MISTRAL_LSP_LOG_LEVEL="warning",
        MISTRAL_LSP_DEBOUNCE_MS=str(debounce_ms),
        PYTHONPATH=str(ROOT),
        **extra_env,
    )
    command = server_command or [sys.executable, "-m", "lsp_server", "serve"]
    config = ClientServerConfig(server_command=command, server_env=env)
    client = await config.start()
    caps = client_capabilities("visual-studio-code@v1.65.2")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    folder = (root or cache).as_uri()
    await client.initialize_session(types.InitializeParams(
        capabilities=caps, root_uri=folder, workspace_folders=[types.WorkspaceFolder(uri=folder, name="ws")]))
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


async def latency(cache: Path, lines: int, iterations: int, cold: bool = False) -> dict[str, float | int | None]:
    with ExternalStandIn("+ 1") as standin:
        return await _latency(standin, cache, lines, iterations, cold)


async def status_of(client) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="mistral-lsp.status", arguments=[])
    )


async def settle(client, timeout_s: float = 30.0) -> float:
    """Wait until the server's start-up work is over: the tokenizer loaded (until then
    token counts are estimates, and the loading thread competes for the GIL) and no
    review running (the opened file's) and the symbol index built. Returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        status = await status_of(client)
        index = status.get("index") or {}
        indexed = index.get("ready") or not index.get("roots")
        if status.get("tokenizer") == "exact" and not (status.get("review") or {}).get("running") and indexed:
            return time.perf_counter() - started
        await asyncio.sleep(0.1)
    print(f"warning: the server did not settle in {timeout_s:.0f} s; timing anyway", file=sys.stderr)
    return time.perf_counter() - started


async def _latency(
    standin: ExternalStandIn, cache: Path, lines: int, iterations: int, cold: bool
) -> dict[str, float | int | None]:
    client = await start(standin, cache)
    try:
        text = python_file(lines)
        uri = (cache / f"bench_{lines}.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        settled_s = None if cold else await settle(client)
        rows = text.split("\n")
        # edit inside a function body in the middle of the file
        target = next(i for i in range(len(rows) // 2, len(rows)) if rows[i].strip().startswith("self.seen += 1"))
        column = len(rows[target])
        times: list[float] = []
        shown = 0
        version = 1
        for i in range(iterations + 10):
            version += 1
            client.text_document_did_change(change(uri, version, target, column, " "))
            column += 1
            started = time.perf_counter()
            answer = await client.text_document_inline_completion_async(request(uri, target, column, invoked=True))
            if i >= 10:  # warm-up: first use of caches and code paths (and, --cold, imports)
                times.append((time.perf_counter() - started) * 1000)
                shown += bool(answer and answer.items)
        pid = client._server.pid if client._server else None  # noqa: SLF001 - the server process
        rss = peak_rss_mb(pid) if pid else None
        status = await status_of(client)
    finally:
        await client.shutdown_session()
    return {
        "lines": lines,
        "requests": len(times),
        "answered": shown,  # requests whose suggestion survived cleaning and validation
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
        "peak_rss_mb": round(rss, 1) if rss else None,
        "model_calls": status.get("modelCalls"),
        "tokenizer": status.get("tokenizer"),
        "settled_after_s": round(settled_s, 2) if settled_s is not None else None,
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


_TREE_KINDS = {
    ".py": ("import os\n\n", "def f{i}_{k}(items, limit={k}):\n    \"\"\"Sum items {k}.\"\"\"\n    total = 0\n"
            "    for x in items[:limit]:\n        total += x\n    return total\n\n\n"),
    ".js": ("", "/** f{k} */\nexport function f{i}_{k}(a, b) {{\n  const x = a * {k};\n  return x + b;\n}}\n\n"),
    ".ts": ("", "export class K{i}_{k} {{\n  run(a: number): number {{\n    return a * {k};\n  }}\n}}\n\n"),
    ".go": ("package pkg\n\n", "// F{i}_{k} does things.\nfunc F{i}_{k}(a int) int {{\n\treturn a * {k}\n}}\n\n"),
    ".rs": ("", "/// f{k}\npub fn f{i}_{k}(a: i32) -> i32 {{\n    a * {k}\n}}\n\n"),
    ".java": ("", "class J{i}_{k} {{\n    int m(int a) {{ return a * {k}; }}\n}}\n\n"),
    ".c": ("#include <stdio.h>\n\n", "int f{i}_{k}(int a) {{\n    return a * {k};\n}}\n\n"),
    ".cpp": ("", "int g{i}_{k}(int a) {{\n    return a + {k};\n}}\n\n"),
}


def generate_tree(root: Path, files: int) -> int:
    """A workspace of ``files`` files in 8 languages, 3-60 definitions each, every 200th
    file a big one (~5,000 lines). Returns the bytes written."""
    kinds = list(_TREE_KINDS)
    total = 0
    for i in range(files):
        suffix = kinds[i % len(kinds)]
        head, unit = _TREE_KINDS[suffix]
        count = 800 if i % 200 == 0 else (3, 8, 15, 30, 60)[i % 5]
        text = head + "".join(unit.format(i=i, k=k) for k in range(count))
        folder = root / f"pkg{i % 40}" / f"sub{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{i}{suffix}").write_text(text)
        total += len(text)
    return total


async def indexing(iterations: int, files: int) -> dict[str, object]:
    """Completion latency while the index of a ``files``-file workspace is built, then a restart."""
    with ExternalStandIn("+ 1") as standin, tempfile.TemporaryDirectory() as tmp:
        root, cache = Path(tmp) / "ws", Path(tmp) / "cache"
        size = generate_tree(root, files)
        (root / "main.py").write_text(python_file(2000))
        client = await start(standin, cache, root=root, MISTRAL_LSP_REVIEW_TRIGGERS="manual")
        started = time.perf_counter()
        try:
            uri = (root / "main.py").as_uri()
            text = python_file(2000)
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
            )
            rows = text.split("\n")
            target = next(i for i in range(len(rows) // 2, len(rows)) if rows[i].strip().startswith("self.seen += 1"))
            column, version, times = len(rows[target]), 1, []
            # the tokenizer's start-up load is not the index's doing: wait for it (the build goes on)
            while (await status_of(client)).get("tokenizer") != "exact" and time.perf_counter() - started < 30:
                await asyncio.sleep(0.05)
            building_at_start = not (await status_of(client))["index"]["ready"]
            while len(times) < iterations:
                if len(times) % 10 == 0 and (await status_of(client))["index"]["ready"]:
                    break
                version += 1
                client.text_document_did_change(change(uri, version, target, column, " "))
                column += 1
                t0 = time.perf_counter()
                await client.text_document_inline_completion_async(request(uri, target, column, invoked=True))
                times.append((time.perf_counter() - t0) * 1000)
            while not (status := await status_of(client))["index"]["ready"]:
                await asyncio.sleep(0.05)
            cold_wall = time.perf_counter() - started
            cold = status["index"]
        finally:
            await client.shutdown_session()
        client = await start(standin, cache, root=root, MISTRAL_LSP_REVIEW_TRIGGERS="manual")
        started = time.perf_counter()
        try:
            while not (status := await status_of(client))["index"]["ready"]:
                await asyncio.sleep(0.02)
            warm_wall = time.perf_counter() - started
            warm = status["index"]
        finally:
            await client.shutdown_session()
    return {
        "files": cold["files"], "symbols": cold["symbols"], "bytes": size,
        "cold": {"build_s": cold["buildSeconds"], "wall_s": round(cold_wall, 2), "parsed": cold["parsed"]},
        "during_build": {"requests": len(times), "build_running_at_start": building_at_start, "p50_ms": round(statistics.median(times), 2) if times else None,
                         "p95_ms": round(percentile(times, 0.95), 2) if times else None,
                         "max_ms": round(max(times), 2) if times else None},
        "restart": {"build_s": warm["buildSeconds"], "wall_s": round(warm_wall, 2), "parsed": warm["parsed"],
                    "reused": warm["reused"]},
    }


async def main_async(args: argparse.Namespace) -> dict:
    with StandIn() as standin, tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        results = {
            "latency": [await latency(cache, n, args.iterations, args.cold) for n in (2000, 8500)],
            "burst": await burst(standin, cache),
        }
    if not args.no_index:
        results["indexing"] = await indexing(args.iterations, args.index_files)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument(
        "--cold", action="store_true",
        help="time the latency requests right after start-up, while the tokenizer still loads",
    )
    parser.add_argument("--no-index", action="store_true", help="skip the indexing phase")
    parser.add_argument("--index-files", type=int, default=2000, help="files in the indexed workspace")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print(f"{'file':>12} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'peak RSS MB':>12}  timed")
    for row in results["latency"]:
        when = "cold" if row["settled_after_s"] is None else f"settled after {row['settled_after_s']} s"
        print(
            f"{row['lines']:>7} lines {row['requests']:>9} {row['p50_ms']:>8} {row['p95_ms']:>8} "
            f"{row['max_ms']:>8} {row['peak_rss_mb']:>12}  {when}"
        )
    b = results["burst"]
    print(
        f"burst: {b['keystrokes']} keystrokes 30 ms apart, {b['answered']} answered, "
        f"{b['model_requests']} reached the model, last keystroke -> final answer "
        f"{b['last_key_to_answer_ms']} ms (model 50 ms), final answer {b['final_answer']!r}"
    )
    ok = True
    if "indexing" in results:
        ix = results["indexing"]
        during, restart = ix["during_build"], ix["restart"]
        print(f"indexing: {ix['files']} files ({ix['bytes'] / 1e6:.1f} MB), {ix['symbols']} symbols; cold build "
              f"{ix['cold']['build_s']} s ({ix['cold']['parsed']} parsed); completions on a 2,000-line file "
              f"meanwhile: {during['requests']} requests, p50 {during['p50_ms']} ms, p95 {during['p95_ms']} ms, "
              f"max {during['max_ms']} ms")
        print(f"restart: index ready in {restart['wall_s']} s, {restart['parsed']} files parsed, "
              f"{restart['reused']} reused (target: 0 parsed)")
        ok = restart["parsed"] == 0
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

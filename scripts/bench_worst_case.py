#!/usr/bin/env python3
"""Worst-case inputs: how long each step takes and how long it holds the event loop.

Two parts, both running the server's own code:

1. steps (in this process): for each pathological input (tests/worst_inputs.py: unclosed
   brackets, deep nesting of every kind, unterminated strings and comments, ERROR-only
   files, a 1 MB line, a near-4 MB file, 1 MB of calls nested 500,000 deep) in each grammar, an editor document as the
   server keeps it (``DocumentStore`` with the server's ``SyntaxBudget``) goes through:
   ``open`` + the background parse and outline (``settle``), completion planning at the
   end and in the middle (``plan_completion``), validating an insertion
   (``would_add_errors``), a burst of 20 keystrokes each followed by planning, the review
   planner (``ReviewEngine.plan_async``), the symbol index extractor (paced like the
   server's index; not on files over the index's 512 KB limit, which the server does not
   index) and closing the document (``close``: freeing its tree and outline, which are
   of a 512 KB window for larger files, ``syntax.tree_window``). A probe task on the
   same event loop wakes every millisecond and records how
   late it is: the longest stall per step, and the longest garbage collection in it.
2. server (``--server``): the real server process (``python -m lsp_server serve``, run
   through ``scripts/loop_watch.py``, which records its own long loop callbacks) with
   the vLLM stand-in, the document opened over LSP, then a ``mistral-lsp.status``
   request every 10 ms while a didChange burst with automatic completions and an
   invoked completion are served (timed once the server has settled: its tokenizer
   loaded, which holds the GIL for seconds at start-up); the slowest status answer is
   the longest the server was unresponsive.

Usage: scripts/bench_worst_case.py [--quick] [--server] [--languages python,go]
       [--cases unclosed_parens,long_line] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(SCRIPTS))

from lsp_server.cache import FindingsCache  # noqa: E402
from lsp_server.config import DEFAULT_SECRET_GLOBS, Settings  # noqa: E402
from lsp_server.core.heap import freeze_startup_objects  # noqa: E402
from lsp_server.core.secrets import SecretFilter  # noqa: E402
from lsp_server.core.text import split_lines  # noqa: E402
from lsp_server.engines.completion_plan import plan_completion  # noqa: E402
from lsp_server.engines.documents import DocumentStore  # noqa: E402
from lsp_server.engines.review import ReviewEngine  # noqa: E402
from lsp_server.index.extract import SymbolExtractor, warm_languages  # noqa: E402
from lsp_server.index.knowledge import INDEX_MAX_FILE_BYTES  # noqa: E402
from lsp_server.index.pacing import Pacer, drive  # noqa: E402
from lsp_server.model.client import ModelClient  # noqa: E402
from lsp_server.model.health import ModelHealth  # noqa: E402
from lsp_server.model.tokens import estimate_tokens  # noqa: E402
from lsp_server.syntax.budget import SyntaxBudget  # noqa: E402
from lsp_server.syntax.languages import SPECS, LanguageRegistry  # noqa: E402
from lsp_server.syntax.validate import would_add_errors  # noqa: E402
from tests.worst_inputs import GENERATORS, LANGUAGES, balanced_calls, big_file, unclosed  # noqa: E402

EXTENSIONS = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go", "rust": "rs",
              "java": "java", "c": "c", "cpp": "cpp"}
EXTRA_ENV: dict[str, str] = {}  # for diagnosis, e.g. PYTHONASYNCIODEBUG=1
ON_SETTLED: Callable[[object], Awaitable[None]] | None = None  # for diagnosis: attach a profiler here
STEPS = ("open", "settle", "plan@end", "plan@mid", "validate", "keys", "review", "index", "close")


class LagProbe:
    """A task that sleeps 1 ms at a time and records how late it wakes up: ``worst`` in
    wall-clock time, ``worst_cpu`` in this thread's CPU time between two wake-ups (what
    the loop's own work took; on a loaded machine the wall-clock figure also counts the
    time the OS ran other processes)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_cpu = 0.0
        self.worst_gc = 0.0  # the longest garbage collection (which holds the loop too)
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    def _on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.worst_gc = max(self.worst_gc, time.perf_counter() - self._gc_started)

    async def _run(self) -> None:
        while True:
            started, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - started - 0.001)
            self.worst_cpu = max(self.worst_cpu, time.thread_time() - cpu)

    def watch_gc(self) -> None:
        """Record collections in ``worst_gc`` (``start`` does this too)."""
        gc.callbacks.append(self._on_gc)

    def unwatch_gc(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        self.watch_gc()

    async def stop(self) -> None:
        self.unwatch_gc()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def measure(self, step: Callable[[], Awaitable[object]]) -> tuple[float, float, float, object]:
        """(seconds, longest stall in seconds: wall clock and CPU, result) of one step."""
        await asyncio.sleep(0.003)  # let the probe run once: its own wait starts now
        self.worst = self.worst_cpu = self.worst_gc = 0.0
        started = time.perf_counter()
        result = await step()
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.003)  # a stall at the very end shows up on the probe's next wake-up
        return elapsed, self.worst, self.worst_cpu, result


def inputs(quick: bool, cases: set[str] | None, languages: list[str]) -> list[tuple[str, str, str]]:
    """(case label, language, text) for every input of the steps part."""
    found = []
    scale = 0.1 if quick else 1.0
    for name, (make, size) in GENERATORS.items():
        if cases is not None and name not in cases:
            continue
        for language in languages:
            found.append((f"{name}({int(size * scale)})", language, make(language, int(size * scale))))
    for n in (10_000, 30_000, 100_000):
        if (cases is None or "unclosed_parens_n" in cases) and not quick:
            found.append((f"unclosed_parens({n})", "python", unclosed("python", n)))
    if cases is None or "big_file" in cases:
        for language in ("python", "typescript", "c"):
            if language in languages:
                size = 400_000 if quick else 3_900_000
                found.append((f"big_file({size // 1000} KB)", language, big_file(language, size)))
        if "python" in languages:
            size = 500_000 if quick else 5_000_000
            found.append((f"big_file({size // 1000} KB, over max)", "python", big_file("python", size)))
    if cases is None or "dense_file" in cases:  # the most nodes per byte measured: calls nested 500,000 deep
        for language in ("python", "go"):
            if language in languages:
                depth = 50_000 if quick else 500_000
                found.append((f"dense_file({depth * 2 // 1000} KB)", language, balanced_calls(language, depth)))
    return found


async def run_steps(label: str, language: str, text: str, probe: LagProbe, tmp: Path,
                    registry: LanguageRegistry, engine: ReviewEngine) -> dict[str, object]:
    settings = engine.settings
    store = DocumentStore(registry, max_parse_bytes=settings.max_file_bytes, budget=SyntaxBudget())
    secrets = SecretFilter(DEFAULT_SECRET_GLOBS)
    uri = (tmp / f"case.{EXTENSIONS[language]}").as_uri()
    row: dict[str, object] = {"case": label, "language": language, "bytes": len(text.encode("utf-8"))}

    def record(step: str, elapsed: float, stall: float, cpu: float) -> None:
        row[step] = {"ms": round(elapsed * 1000, 1), "stall_ms": round(stall * 1000, 1),
                     "cpu_stall_ms": round(cpu * 1000, 1), "gc_ms": round(probe.worst_gc * 1000, 1)}

    async def do_open() -> object:
        return store.open(uri, language, 1, text)

    elapsed, stall, cpu, doc = await probe.measure(do_open)
    record("open", elapsed, stall, cpu)
    syntax = doc.syntax

    async def settled() -> object:
        while syntax.parsing or not syntax.outline.complete:
            await asyncio.sleep(0.005)
        return None

    elapsed, stall, cpu, _ = await probe.measure(settled)
    record("settle", elapsed, stall, cpu)
    row["too_large"] = doc.too_large

    def plan_at(cursor: int) -> Callable[[], Awaitable[object]]:
        async def step() -> object:
            return plan_completion(doc, cursor, budget_tokens=4096, count_tokens=estimate_tokens, secrets=secrets,
                                   system_prompt=None)
        return step

    size = len(syntax.buffer.data)
    middle = _char_boundary(syntax.buffer.data, size // 2)
    for step, cursor in (("plan@end", size), ("plan@mid", middle)):
        elapsed, stall, cpu, _ = await probe.measure(plan_at(cursor))
        record(step, elapsed, stall, cpu)

    async def validate() -> object:
        return would_add_errors(syntax, middle, "result = compute(value, [1, 2])\n")

    elapsed, stall, cpu, _ = await probe.measure(validate)
    record("validate", elapsed, stall, cpu)

    async def keys() -> object:
        row_, column = syntax.buffer.position_at(middle, "utf-16")
        for index in range(20):
            store.change(uri, 2 + index, [((row_, column + index), (row_, column + index), "x")], "utf-16")
            cursor = syntax.buffer.offset_at(row_, column + index + 1, "utf-16")
            plan_completion(doc, cursor, budget_tokens=4096, count_tokens=estimate_tokens, secrets=secrets,
                            system_prompt=None)
            await asyncio.sleep(0.01)
        return None

    elapsed, stall, cpu, _ = await probe.measure(keys)
    record("keys", elapsed, stall, cpu)

    async def review() -> object:
        return await engine.plan_async(syntax, doc.path, version=doc.version, uri=uri)

    elapsed, stall, cpu, plan = await probe.measure(review)
    record("review", elapsed, stall, cpu)
    row["review_units"] = len(plan.units) if plan is not None else None

    extractor = SymbolExtractor(registry)  # its queries were compiled by warm_languages

    async def index() -> object:
        if doc.too_large or row["bytes"] > INDEX_MAX_FILE_BYTES:  # the server does not index it either
            return None
        return await drive(extractor.steps(text, SPECS[language], doc.path, Pacer()), Pacer())

    elapsed, stall, cpu, symbols = await probe.measure(index)
    record("index", elapsed, stall, cpu)
    row["symbols"] = len(symbols.rows) if symbols is not None else None
    plan = symbols = doc = syntax = None  # (the closures' cells too): the store holds the last references

    async def close() -> object:
        store.close(uri)
        await asyncio.sleep(0)  # the cancelled settle task lets go of the document
        return None

    elapsed, stall, cpu, _ = await probe.measure(close)
    record("close", elapsed, stall, cpu)
    await store.aclose()
    return row


def _char_boundary(data: bytes, offset: int) -> int:
    while 0 < offset < len(data) and (data[offset] & 0xC0) == 0x80:
        offset -= 1
    return offset


async def steps_part(args: argparse.Namespace) -> list[dict[str, object]]:
    probe = LagProbe()
    probe.start()
    rows = []
    cases = set(args.cases.split(",")) if args.cases else None
    languages = args.languages.split(",") if args.languages else list(LANGUAGES)
    registry = LanguageRegistry()  # one per server: grammars load and queries compile once,
    warm_languages(registry)  # at start-up, as the server does (Services.start_warm_up)
    settings = Settings()
    engine = ReviewEngine(settings, ModelClient(settings.endpoint, settings.model, None), ModelHealth(),
                          FindingsCache(None), registry=registry)
    freeze_startup_objects()  # as the server does once start-up is over (core/heap.py)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label, language, text in inputs(args.quick, cases, languages):
                row = await run_steps(label, language, text, probe, Path(tmp), registry, engine)
                rows.append(row)
                print(_row_text(row), flush=True)
    finally:
        await probe.stop()
    return rows


def _row_text(row: dict[str, object]) -> str:
    cells = []
    for step in STEPS:
        value = row.get(step)
        if isinstance(value, dict):
            cells.append(f"{step} {value['ms']:.0f}/{value['stall_ms']:.0f}/{value['cpu_stall_ms']:.0f}")
    return f"{row['case']:<34} {row['language']:<10} {row['bytes']:>9}  " + "  ".join(cells)


# -- part 2: the real server -------------------------------------------------------------------
def server_inputs(quick: bool) -> list[tuple[str, str, str]]:
    from tests.worst_inputs import error_soup, long_line, nested_literal, unclosed_comment

    sizes = (10_000, 30_000) if quick else (10_000, 30_000, 100_000)
    found = [(f"unclosed_parens({n})", "python", unclosed("python", n)) for n in sizes]
    scale = 10 if quick else 1
    found += [
        ("big_file(5 MB, over max)", "python", big_file("python", 5_000_000 // scale)),
        ("big_file(3.9 MB)", "python", big_file("python", 3_900_000 // scale)),
        ("long_line(1 MB)", "javascript", long_line("javascript", 1_000_000 // scale)),
        ("nested_literal(20000)", "typescript", nested_literal("typescript", 20_000 // scale)),
        ("unclosed_comment(50000)", "c", unclosed_comment("c", 50_000 // scale)),
        ("error_soup(20000)", "rust", error_soup("rust", 20_000 // scale)),
    ]
    return found


def _frame(method: str, params: dict[str, object]) -> bytes:
    """One LSP notification, framed, as a client writes it."""
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params}).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def server_case(label: str, language: str, text: str) -> dict[str, object]:
    from bench_completion import ExternalStandIn, change, request, settle, start, status_of

    with ExternalStandIn("value") as standin, tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        watch_file = cache / "loop-watch.jsonl"  # the server's own long callbacks (scripts/loop_watch.py)
        client = await start(standin, cache, server_command=[sys.executable, str(SCRIPTS / "loop_watch.py"), "serve"],
                             MISTRAL_LSP_REVIEW_TRIGGERS="manual", LOOP_WATCH_FILE=str(watch_file), **EXTRA_ENV)
        try:
            await settle(client)  # start-up over: the tokenizer's load holds the GIL for seconds
            if ON_SETTLED is not None:
                await ON_SETTLED(client)
            uri = (cache / f"case.{EXTENSIONS[language]}").as_uri()
            rtts: list[float] = []
            stop = asyncio.Event()

            async def pinger() -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    await status_of(client)
                    rtts.append(time.perf_counter() - started)
                    await asyncio.sleep(0.01)

            ping = asyncio.ensure_future(pinger())
            await asyncio.sleep(0.2)
            baseline = list(rtts)
            # encoded before the clock starts: the server's stall, not this client's encoding of 5 MB
            frame = _frame("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": language, "version": 1, "text": text}})
            opened, window_start = time.perf_counter(), time.monotonic()
            client.protocol.writer.write(frame)
            await status_of(client)
            open_s = time.perf_counter() - opened
            lines = split_lines(text)  # the rows the server counts
            row_, column = len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2
            if not lines[-1] and len(lines) > 1:
                row_ = max(0, len(lines) - 2)
                column = len(lines[row_].encode("utf-16-le")) // 2
            pending = []
            for index in range(20):
                client.text_document_did_change(change(uri, 2 + index, row_, column + index, "x"))
                pending.append(asyncio.ensure_future(client.text_document_inline_completion_async(
                    request(uri, row_, column + index + 1, invoked=False))))
                await asyncio.sleep(0.02)
            await asyncio.gather(*pending)
            started = time.perf_counter()
            answer = await asyncio.wait_for(client.text_document_inline_completion_async(
                request(uri, row_, column + 20, invoked=True)), 60)
            invoked_s = time.perf_counter() - started
            await asyncio.sleep(0.3)
            stop.set()
            await ping
            window_end = time.monotonic()
            during = rtts[len(baseline):]
        finally:
            await client.shutdown_session()
        watched = _watched(watch_file, window_start, window_end)
    return {
        "case": label, "language": language, "bytes": len(text.encode("utf-8")),
        "open_to_first_status_ms": round(open_s * 1000, 1),
        "invoked_completion_ms": round(invoked_s * 1000, 1),
        "answered": bool(answer and answer.items),
        "status_requests": len(during),
        "status_p50_ms": round(statistics.median(during) * 1000, 1) if during else None,
        "status_max_ms": round(max(during) * 1000, 1) if during else None,
        "baseline_max_ms": round(max(baseline) * 1000, 1) if baseline else None,
        **watched,
    }


def _watched(path: Path, start: float, end: float) -> dict[str, object]:
    """The server's longest event-loop callback and garbage collection between ``start`` and
    ``end`` (``time.monotonic``), from ``scripts/loop_watch.py``'s file."""
    callbacks: list[dict[str, object]] = []
    collections: list[dict[str, object]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        item = json.loads(line)
        if start <= item["at"] <= end + 1.0:  # a callback is written when it ends
            (collections if item["what"].startswith("garbage collection") else callbacks).append(item)
    longest = max(callbacks, key=lambda item: item["ms"], default=None)
    return {
        "server_loop_max_ms": longest["ms"] if longest else 0.0,
        "server_loop_max_cpu_ms": longest["cpu_ms"] if longest else 0.0,
        "server_loop_max_what": longest["what"][:120] if longest else "",
        "server_gc_max_ms": max((item["ms"] for item in collections), default=0.0),
    }


async def server_part(args: argparse.Namespace) -> list[dict[str, object]]:
    rows = []
    inputs = server_inputs(args.quick)
    # this client's own garbage collections delay the answers it reads: keep them short (what
    # part 1 left is frozen), and report the longest one per case next to the answer times
    gc.collect()
    gc.freeze()
    client_gc = LagProbe()  # its collection watch only: the probe task is not started
    client_gc.watch_gc()
    try:
        for label, language, text in inputs:
            client_gc.worst_gc = 0.0
            row = await server_case(label, language, text)
            row["client_gc_max_ms"] = round(client_gc.worst_gc * 1000, 1)
            rows.append(row)
            answered = "answered" if row["answered"] else "empty"
            print(f"{row['case']:<30} {row['language']:<10} {row['bytes']:>9}"
                  f"  open->status {row['open_to_first_status_ms']} ms"
                  f"  invoked completion {row['invoked_completion_ms']} ms ({answered})"
                  f"  status p50 {row['status_p50_ms']} ms, max {row['status_max_ms']} ms over {row['status_requests']}"
                  f" requests (idle max {row['baseline_max_ms']} ms; this client's longest collection"
                  f" {row['client_gc_max_ms']} ms); the server's longest loop callback {row['server_loop_max_ms']} ms"
                  f" ({row['server_loop_max_cpu_ms']} ms CPU: {row['server_loop_max_what']}), its longest collection"
                  f" {row['server_gc_max_ms']} ms", flush=True)
    finally:
        client_gc.unwatch_gc()
        gc.unfreeze()
    return rows


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    results: dict[str, object] = {}
    if not args.server_only:
        print("steps: ms / longest event-loop stall (wall clock) ms / longest stall (CPU time) ms;"
              " gc_ms below: the longest garbage collection in the step (part of a stall)")
        results["steps"] = await steps_part(args)
        for key in ("stall_ms", "cpu_stall_ms", "gc_ms"):
            worst = {step: max((row[step][key] for row in results["steps"] if isinstance(row.get(step), dict)),
                               default=None) for step in STEPS}
            results[f"worst_{key}"] = worst
            print(f"longest {key} per step over all inputs: " + ", ".join(f"{k} {v}" for k, v in worst.items()))
    if args.server or args.server_only:
        print("server: status requests every 10 ms during open, a 20-keystroke burst and an invoked completion")
        results["server"] = await server_part(args)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes (a smoke run)")
    parser.add_argument("--server", action="store_true", help="also run part 2 (the real server process)")
    parser.add_argument("--server-only", action="store_true", help="run only part 2")
    parser.add_argument("--languages", help="comma-separated grammars (default: all)")
    parser.add_argument("--cases", help="comma-separated inputs (tests/worst_inputs.py names, big_file, "
                                        "unclosed_parens_n, dense_file)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

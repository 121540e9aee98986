#!/usr/bin/env python3
"""Run the language server with a watch on its event loop (for scripts/bench_worst_case.py).

Every event-loop callback (a task step, a timer, an I/O callback) that holds the loop for
``LOOP_WATCH_MS`` or more, and every garbage collection as long, is appended to the file
named by ``LOOP_WATCH_FILE`` as one JSON line: ``{"at": time.monotonic(), "ms": wall,
"cpu_ms": this thread's CPU, "what": ...}``. ``time.monotonic`` is the system's clock, so
the benchmark can keep the lines of its own measuring window. The server is started
exactly as ``python -m lsp_server serve`` would start it.

Usage: python scripts/loop_watch.py serve [server options]   (with LOOP_WATCH_FILE set)
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import runpy
import sys
import threading
import time
from typing import Any


class LoopWatch:
    """Writes the long callbacks and collections of this process to a file."""

    def __init__(self, path: str, threshold_s: float) -> None:
        self._out = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - open for the process's life
        self._threshold = threshold_s
        self._lock = threading.Lock()
        self._gc_started = 0.0

    def install(self) -> None:
        watch, run = self, asyncio.events.Handle._run

        def timed(handle: asyncio.events.Handle) -> None:
            started, cpu = time.perf_counter(), time.thread_time()
            run(handle)
            took = time.perf_counter() - started
            if took >= watch._threshold:
                owner = getattr(handle._callback, "__self__", None)  # a task step: name the task
                watch.write(took, time.thread_time() - cpu, repr(owner if owner is not None else handle))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif (took := time.perf_counter() - self._gc_started) >= self._threshold:
            self.write(took, took, f"garbage collection, generation {info['generation']}, "
                                   f"thread {threading.current_thread().name}")

    def write(self, took: float, cpu: float, what: str) -> None:
        line = json.dumps({"at": time.monotonic(), "ms": round(took * 1000, 1), "cpu_ms": round(cpu * 1000, 1),
                           "what": what[:300]})
        with self._lock:
            self._out.write(line + "\n")


def main() -> None:
    path = os.environ.get("LOOP_WATCH_FILE")
    if path:
        LoopWatch(path, float(os.environ.get("LOOP_WATCH_MS", "10")) / 1000).install()
    sys.argv = ["lsp_server", *sys.argv[1:]]
    runpy.run_module("lsp_server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

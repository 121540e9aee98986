#!/usr/bin/env python3
"""Benchmark the completion cleaner in-process: the cost of cleaning one streamed answer.

Each answer is fed to a ``StreamCleaner`` in 4-character deltas (about one token each) until
it says stop, then ``result()`` is taken: exactly what the completion engine does per request.
Printed per answer shape: the minimum (the figure to compare on a loaded machine), median and
p95 time of a whole answer, and the median time per delta. Also the cleaner context the plan computes per request (the indentation unit of 200
lines around the cursor). Pure CPU work, so it is far less noisy than the end-to-end
``bench_completion.py`` on a shared machine; run it with ``PYTHONPATH`` pointing at another
checkout to compare two versions (fields an older ``CleanContext`` lacks are left out).

Usage: scripts/bench_cleaning.py [--rounds N]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsp_server.engines.completion_plan import detect_indent_unit  # noqa: E402
from lsp_server.model.cleaning import CleanContext, StreamCleaner  # noqa: E402

PY_BODY = "\n".join(f"    value_{i} = compute(value_{i - 1}, {i})" for i in range(1, 30))
SHAPES: list[tuple[str, str, dict]] = [
    ("py fenced body", "```python\n    s = 0\n    for x in xs:\n        s += x\n    return s\n```\nThis sums xs.",
     dict(line_prefix="    ", multiline=True)),
    ("ts body + brace + fence", "const s = a + b;\n  return s;\n}\n```",
     dict(line_prefix="  ", multiline=True, indent_unit="  ", brace_language=True, following_lines=("}",))),
    ("go 4-space model, tab file", "if x < 0 {\n        return 0\n    }\n    return x\n}\n```",
     dict(line_prefix="\t", multiline=True, indent_unit="\t", brace_language=True, following_lines=("}",))),
    ("fence restating the function", "```python\ndef total(xs):\n    s = 0\n    return s\n```",
     dict(line_prefix="    ", multiline=True, preceding_lines=tuple(f"x_{i} = {i}" for i in range(38))
          + ("", "def total(xs):"))),
    ("mid-line call", "1, 2) + 3\ny = 4\n",
     dict(line_prefix="    x = compute(", line_suffix=")", multiline=False)),
    ("typed word echoed", "radius ** 2\n", dict(line_prefix="    return math.pi * rad", multiline=False)),
    ("30-line block", PY_BODY + "\n\nprint(x)\n", dict(line_prefix="    ", multiline=True)),
]


def _context(kwargs: dict) -> CleanContext:
    names = {f.name for f in dataclasses.fields(CleanContext)}
    base = dict(line_prefix="", line_suffix="", following_lines=(), multiline=True)
    base.update(kwargs)
    return CleanContext(**{k: v for k, v in base.items() if k in names})


def _clean_once(raw: str, ctx: CleanContext) -> tuple[float, int]:
    started = time.perf_counter()
    cleaner = StreamCleaner(ctx)
    deltas = 0
    for i in range(0, len(raw), 4):
        deltas += 1
        if cleaner.feed(raw[i : i + 4]):
            break
    cleaner.result()
    return time.perf_counter() - started, deltas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'answer':32} {'min us':>8} {'median us':>10} {'p95 us':>8} {'us/delta':>9}")
    for name, raw, kwargs in SHAPES:
        ctx = _context(kwargs)
        times, deltas = [], 1
        for _ in range(args.rounds):
            elapsed, deltas = _clean_once(raw, ctx)
            times.append(elapsed)
        times.sort()
        median = statistics.median(times)
        p95 = times[int(len(times) * 0.95)]
        print(f"{name:32} {times[0] * 1e6:8.1f} {median * 1e6:10.1f} {p95 * 1e6:8.1f} {median * 1e6 / deltas:9.2f}")
    sample = [("\t" * (i % 4)) + f"line_{i} := {i}" if i % 7 else "" for i in range(200)]
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        try:
            detect_indent_unit(sample, 100, "\t")
        except TypeError:  # an older checkout: no cursor or default
            detect_indent_unit(sample)
        times.append(time.perf_counter() - started)
    print(f"{'indent unit of 200 lines':32} {min(times) * 1e6:8.1f} {statistics.median(times) * 1e6:10.1f}")


if __name__ == "__main__":
    main()

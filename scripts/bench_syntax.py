#!/usr/bin/env python3
"""Time the syntax layer's keystroke path on an ~8,500-line Python file.

Prints p50/p90 of: one-character edit + incremental reparse, cursor_context,
window, and would_add_errors (the trial parse used to validate completions).
The whole-server numbers come from scripts/bench_completion.py; this one shows
where the syntax layer's share of them goes.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lsp_server.syntax.context import cursor_context, window, would_add_errors  # noqa: E402
from lsp_server.syntax.document import SyntaxDocument  # noqa: E402
from lsp_server.syntax.languages import SPECS, LanguageRegistry  # noqa: E402
from tests.unit.test_syntax_samples import big_python  # noqa: E402


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):.2f} ms, p90 {ordered[int(len(ordered) * 0.9)]:.2f} ms"


TYPED = "value = self._convert(other, context=context) if other is not None else None"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):.2f} ms, p90 {ordered[int(len(ordered) * 0.9)]:.2f} ms"


def main() -> int:
    source = big_python()
    registry = LanguageRegistry()
    doc = SyntaxDocument(source, SPECS["python"], registry)
    if doc.tree.root_node.has_error:
        print("warning: the generated file has syntax errors", file=sys.stderr)
    cursor_context(doc, 0)  # first use: whole-file outline, query compilation

    buffer = doc.buffer
    row = next(r for r in range(4200, 4400) if buffer.line_text(r).startswith("    def "))
    row += 1
    doc.apply_change((row, 0), (row, 0), "        \n", "utf-16")
    column = 8
    edit_parse, context, windows = [], [], []
    for ch in TYPED * 2:
        t0 = time.perf_counter()
        doc.apply_change((row, column), (row, column), ch, "utf-16")
        column += 1
        doc.tree
        t1 = time.perf_counter()
        cursor = buffer.offset_at(row, column, "utf-16")
        ctx = cursor_context(doc, cursor)
        t2 = time.perf_counter()
        window(doc, cursor, 16_000, 4_000)
        t3 = time.perf_counter()
        edit_parse.append((t1 - t0) * 1e3)
        context.append((t2 - t1) * 1e3)
        windows.append((t3 - t2) * 1e3)
    doc.apply_change((row, 8), (row, column), "", "utf-16")  # back to clean code
    cursor = buffer.offset_at(row, 8, "utf-16")
    validate = []  # the full trial-parse path (an error-free region)
    for insert in ("result = self._fix(context)", "result = self._fix(context))") * 25:
        t0 = time.perf_counter()
        would_add_errors(doc, cursor, insert)
        validate.append((time.perf_counter() - t0) * 1e3)
    total = [a + b for a, b in zip(edit_parse, context)]
    print(f"\n{buffer.line_count} lines, {len(buffer.data)} bytes")
    print(f"apply_change + .tree: {_ms(edit_parse)}")
    print(f"cursor_context:       {_ms(context)}")
    print(f"edit+reparse+context: {_ms(total)}")
    print(f"window:               {_ms(windows)}")
    print(f"would_add_errors:     {_ms(validate)}")
    print(f"innermost scope at the cursor: {ctx.scopes[-1].strip() if ctx.scopes else None!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

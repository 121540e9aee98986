#!/usr/bin/env python3
"""Time the syntax layer's keystroke path on two ~8,500-line Python files.

For the generated file of tests/unit/test_syntax_samples.py (``big_python``) and the
one of scripts/bench_completion.py (``python_file(8500)``: many small definitions),
prints p50/p95 of: one-character edit + incremental reparse, cursor_context, window,
and would_add_errors (the trial parse used to validate completions). The
whole-server numbers come from scripts/bench_completion.py; this one shows where the
syntax layer's share of them goes.

Usage: scripts/bench_syntax.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_completion import python_file  # noqa: E402

from lsp_server.syntax.context import cursor_context, window, would_add_errors  # noqa: E402
from lsp_server.syntax.document import SyntaxDocument  # noqa: E402
from lsp_server.syntax.languages import SPECS, LanguageRegistry  # noqa: E402
from tests.unit.test_syntax_samples import big_python  # noqa: E402

TYPED = "value = self._convert(other, context=context) if other is not None else None"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):6.3f} ms, p95 {p95:6.3f} ms"


def _typing(doc: SyntaxDocument, row: int, column: int, text: str) -> dict[str, list[float]]:
    """Type ``text`` at (row, column) one character at a time, timing each step."""
    buffer = doc.buffer
    times: dict[str, list[float]] = {"edit": [], "context": [], "window": []}
    for ch in text:
        t0 = time.perf_counter()
        doc.apply_change((row, column), (row, column), ch, "utf-16")
        column += 1
        doc.tree  # noqa: B018 - the lazy reparse
        t1 = time.perf_counter()
        cursor = buffer.offset_at(row, column, "utf-16")
        cursor_context(doc, cursor)
        t2 = time.perf_counter()
        window(doc, cursor, 16_000, 4_000)
        t3 = time.perf_counter()
        times["edit"].append((t1 - t0) * 1e3)
        times["context"].append((t2 - t1) * 1e3)
        times["window"].append((t3 - t2) * 1e3)
    return times


def _validate(doc: SyntaxDocument, cursor: int, rounds: int) -> list[float]:
    samples = []  # the full trial-parse path (an error-free region)
    for insert in ("result = self._fix(context)", "result = self._fix(context))") * rounds:
        t0 = time.perf_counter()
        would_add_errors(doc, cursor, insert)
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def bench(label: str, source: str, marker: str, rounds: int) -> None:
    doc = SyntaxDocument(source, SPECS["python"], LanguageRegistry())
    if doc.tree.root_node.has_error:
        print("warning: the generated file has syntax errors", file=sys.stderr)
    cursor_context(doc, 0)  # first use: whole-file outline, query compilation
    buffer = doc.buffer
    middle = buffer.line_count // 2
    row = next(r for r in range(middle, buffer.line_count) if buffer.line_text(r).strip().startswith(marker))
    # 1. a new line in a body, typed into (like bench_syntax always did)
    doc.apply_change((row + 1, 0), (row + 1, 0), "        \n", "utf-16")
    times = _typing(doc, row + 1, 8, TYPED * rounds)
    # 2. spaces appended to a statement (what bench_completion.py does)
    spaces = _typing(doc, row, len(buffer.line_text(row)), " " * 40 * rounds)
    doc.apply_change((row + 1, 8), (row + 1, 8 + len(TYPED) * rounds), "", "utf-16")
    validate = _validate(doc, buffer.offset_at(row + 1, 8, "utf-16"), 25 * rounds)
    total = [a + b for a, b in zip(times["edit"], times["context"])]
    print(f"\n{label}: {buffer.line_count} lines, {len(buffer.data)} bytes, "
          f"{len(doc.outline.definitions())} definitions")
    print(f"  apply_change + .tree:   {_ms(times['edit'])}")
    print(f"  cursor_context:         {_ms(times['context'])}")
    print(f"  edit+reparse+context:   {_ms(total)}")
    print(f"  window:                 {_ms(times['window'])}")
    print(f"  spaces: edit+reparse:   {_ms(spaces['edit'])}")
    print(f"  spaces: cursor_context: {_ms(spaces['context'])}")
    print(f"  would_add_errors:       {_ms(validate)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="repeat the typing this many times")
    args = parser.parse_args()
    bench("big_python()", big_python(), "def ", args.rounds)
    bench("python_file(8500)", python_file(8500), "self.seen += 1", args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

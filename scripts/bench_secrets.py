#!/usr/bin/env python3
"""Benchmark the secret filter, alone and on the completion path.

1. lines: every line of real code (this repository's sources, tests and scripts, and
   the standard library's top-level modules), masked cold (a new filter: every line
   scanned) and warm (the same text again: every line from the cache), in
   microseconds per line; then a config file where every line holds a secret;
2. completion: what ``plan_completion`` masks per request (``mask_split`` of about
   9 kB before the cursor and 1 kB after it) in the 8,500-line file of
   ``bench_completion.py``, typing one character per request: the first request in
   the file (cold) and the following ones (warm: only the edited line is new), p50,
   p95 and max in milliseconds; the same file with a secret on every 20th line.

``--baseline REF`` runs the same with the filter of git revision REF (its
``lsp_server/core/secrets.py``, which had no ``path`` and no ``mask_split``) for
comparison in one sitting (this VM's speed drifts between runs). Each figure is the
best of ``--repeat`` runs (least disturbed by other load).

Usage: scripts/bench_secrets.py [--repeat N] [--keystrokes N] [--baseline REF] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsp_server.core.secrets import SecretFilter  # noqa: E402
from scripts.bench_completion import percentile, python_file  # noqa: E402

BEFORE_BYTES = 9_000
AFTER_BYTES = 1_000


class Current:
    """The filter of this checkout."""

    name = "current"

    def __init__(self) -> None:
        self._filter = SecretFilter()

    def mask(self, text: str, path: str) -> str:
        return self._filter.mask(text, path)

    def split(self, before: str, after: str, path: str) -> tuple[str, str]:
        return self._filter.mask_split(before, after, path)


def baseline_factory(ref: str) -> Callable[[], Any]:
    """A class like ``Current`` over ``lsp_server/core/secrets.py`` of revision ``ref``."""
    source = subprocess.run(["git", "show", f"{ref}:lsp_server/core/secrets.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("baseline_secrets", handle.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    class Baseline:
        name = f"baseline {ref}"

        def __init__(self) -> None:
            self._filter = module.SecretFilter(())

        def mask(self, text: str, path: str) -> str:
            return self._filter.mask(text)

        def split(self, before: str, after: str, path: str) -> tuple[str, str]:
            return self._filter.mask(before), self._filter.mask(after)

    return Baseline


def real_code(max_lines: int = 45_000) -> list[tuple[str, str]]:
    """About ``max_lines`` lines of real code (under the filter's 50,000-line cache, so the
    warm pass measures the cache and not its refilling)."""
    files = [p for folder in ("lsp_server", "tests", "scripts") for p in sorted((ROOT / folder).rglob("*.py"))]
    files += sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    out: list[tuple[str, str]] = []
    lines = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if lines + text.count("\n") > max_lines:
            break
        out.append((str(path), text))
        lines += text.count("\n") + 1
    return out


def config_file(lines: int) -> str:
    rows = []
    for i in range(lines):
        rows.append(("password_{i} = hunter-{i}-x", "api_key_{i}: 'k{i}-Zq8LmN'", "TOKEN_{i}=tok{i}abc")[i % 3]
                    .format(i=i))
    return "\n".join(rows)


def per_line(make: Callable[[], Any], texts: list[tuple[str, str]], repeat: int) -> dict[str, float]:
    lines = sum(text.count("\n") + 1 for _, text in texts)
    cold, warm = [], []
    for _ in range(repeat):
        masker = make()
        started = time.perf_counter()
        for path, text in texts:
            masker.mask(text, path)
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        for path, text in texts:
            masker.mask(text, path)
        warm.append(time.perf_counter() - started)
    return {"lines": lines, "cold_us_per_line": round(min(cold) / lines * 1e6, 2),
            "warm_us_per_line": round(min(warm) / lines * 1e6, 3)}


def completion(make: Callable[[], Any], text: str, keystrokes: int, repeat: int) -> dict[str, float]:
    rows = text.split("\n")
    target = next(i for i in range(len(rows) // 2, len(rows)) if rows[i].strip().startswith("self.seen += 1"))
    firsts, warm = [], []
    for _ in range(repeat):
        masker = make()
        line = rows[target]
        head = "\n".join(rows[:target]) + "\n"
        tail = "\n" + "\n".join(rows[target + 1:])
        times = []
        for k in range(keystrokes + 1):
            line += " " if k else ""
            before = (head + line)[-BEFORE_BYTES:]
            after = tail[:AFTER_BYTES]
            started = time.perf_counter()
            masker.split(before[before.find("\n") + 1:], after, "bench.py")
            times.append((time.perf_counter() - started) * 1000)
        firsts.append(times[0])
        warm.append(times[1:])
    best = min(warm, key=statistics.median)
    return {"cold_ms": round(min(firsts), 3), "p50_ms": round(statistics.median(best), 3),
            "p95_ms": round(percentile(best, 0.95), 3), "max_ms": round(max(best), 3)}


def run(make: Callable[[], Any], args: argparse.Namespace) -> dict[str, Any]:
    plain = python_file(8_500)
    rows = plain.split("\n")
    sprinkled = "\n".join(f'{row}  # api_key = "k{i}-Zq8LmN"' if i % 20 == 0 and row.strip() else row
                          for i, row in enumerate(rows))
    return {
        "real_code": per_line(make, real_code(), args.repeat),
        "config_every_line_a_secret": per_line(make, [("app.ini", config_file(5_000))], args.repeat),
        "completion_8500_lines": completion(make, plain, args.keystrokes, args.repeat),
        "completion_secret_every_20th_line": completion(make, sprinkled, args.keystrokes, args.repeat),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--baseline", help="a git revision whose filter to measure too")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    makers: list[Callable[[], Any]] = [Current]
    if args.baseline:
        makers.append(baseline_factory(args.baseline))
    results = {}
    for make in makers:
        name = make.name  # type: ignore[attr-defined]
        results[name] = run(make, args)
        print(f"== {name}")
        for key, value in results[name].items():
            print(f"  {key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

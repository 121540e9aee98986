#!/usr/bin/env python3
"""Benchmark the review engine: a cold and a warm review of a 200-file tree.

Drives ``ReviewEngine`` directly (no LSP) against the vLLM stand-in from
tests/standin, which answers every review request after a fixed delay (200 ms by
default) with one finding quoting the unit's first line, so parsing, anchoring and
caching all run. The tree is generated (mixed languages, a few units per file, every
unit distinct) unless ``--tree DIR`` points at real sources.

1. cold: an empty cache; every unit is one request, at most ``--concurrency`` at once.
   The ideal wall time is requests x delay / concurrency.
2. warm: a new engine and a new cache connection on the same cache folder (as a new
   process would have); it must make zero requests.
3. the CLI (``mistral-lsp review`` as a subprocess, unless ``--no-cli``) on the tree made
   a git repository: a cold run fills its cache, a warm run on the unchanged tree must
   make zero requests (timed: the whole process, start-up included), then a branch
   changes one unit in each of 3 files and ``--diff main`` must send exactly those 3
   units' requests.

Usage: scripts/bench_review.py [--files 200] [--units 3] [--delay 0.2] [--concurrency 8]
                               [--tree DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsp_server.cache import FindingsCache  # noqa: E402
from lsp_server.config import Settings  # noqa: E402
from lsp_server.engines.review import ReviewEngine  # noqa: E402
from lsp_server.engines.review_files import read_source, select_files  # noqa: E402
from lsp_server.model.client import ModelClient  # noqa: E402
from lsp_server.model.health import ModelHealth  # noqa: E402
from tests.standin import Reply, StandIn  # noqa: E402

TEMPLATES = {
    ".py": ("import os\n\n", "def f{n}_{k}(items, limit={n}):\n    total = 0\n    for i in range(len(items)):\n"
            "        if i > limit:\n            break\n        total += items[i] * {k}\n    return total\n\n\n"),
    ".js": ("const path = require('path');\n\n", "function f{n}_{k}(items) {{\n  let total = 0;\n"
            "  for (let i = 0; i <= items.length; i++) {{ total += items[i] * {k}; }}\n  return total + {n};\n}}\n\n"),
    ".go": ("package main\n\nimport \"fmt\"\n\n", "func f{n}_{k}(items []int) int {{\n\ttotal := {n}\n"
            "\tfor i := range items {{\n\t\ttotal += items[i] * {k}\n\t}}\n\tfmt.Println(total)\n\treturn total\n}}\n\n"),
    ".rs": ("use std::fmt;\n\n", "fn f{n}_{k}(items: &[i64]) -> i64 {{\n    let mut total = {n};\n"
            "    for x in items {{\n        total += x * {k};\n    }}\n    total\n}}\n\n"),
    ".java": ("", "class C{n}_{k} {{\n    int f(int[] items) {{\n        int total = {n};\n"
              "        for (int x : items) {{ total += x * {k}; }}\n        return total;\n    }}\n}}\n\n"),
    ".c": ("#include <stdio.h>\n\n", "int f{n}_{k}(const int *items, int n) {{\n    int total = {n};\n"
           "    for (int i = 0; i <= n; i++) {{ total += items[i] * {k}; }}\n    return total;\n}}\n\n"),
}
_NUMBERED = re.compile(r"^\s*(\d+) \| (.*\S.*)$", re.M)


def generate_tree(root: Path, files: int, units: int) -> None:
    suffixes = list(TEMPLATES)
    for n in range(files):
        suffix = suffixes[n % len(suffixes)]
        head, unit = TEMPLATES[suffix]
        folder = root / f"pkg{n % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{n}{suffix}").write_text(head + "".join(unit.format(n=n, k=k) for k in range(units)))


def responder(delay: float):
    def answer(body: dict) -> Reply:
        match = _NUMBERED.search(body["messages"][-1]["content"])
        findings = []
        if match:
            line, text = int(match.group(1)), match.group(2).strip()
            findings.append({"line": line, "quote": text.split()[0], "severity": "info", "rule": "bench",
                             "message": "A benchmark finding.", "fix": None})
        return Reply(text=json.dumps({"findings": findings}), first_token_delay=delay)

    return answer


async def review_tree(engine: ReviewEngine, root: Path, files: list[Path], workers: int) -> tuple[float, int, int]:
    """Review ``files`` the way the workspace review does: a few file workers, so planning
    (parsing, prompts) overlaps the model requests instead of all happening up front."""
    started = time.perf_counter()
    pending = list(reversed(files))
    counts = [0, 0]

    async def worker() -> None:
        while pending:
            path = pending.pop()
            text = read_source(path) or ""
            result = await engine.review_text(str(path), text, display_path=path.relative_to(root).as_posix())
            counts[0] += result.units
            counts[1] += len(result.findings)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - started, counts[0], counts[1]


async def run(args: argparse.Namespace) -> dict:
    with StandIn() as standin, tempfile.TemporaryDirectory() as scratch:
        standin.responder = responder(args.delay)
        root = Path(args.tree) if args.tree else Path(scratch) / "tree"
        if not args.tree:
            generate_tree(root, args.files, args.units)
        cache_dir = Path(scratch) / "cache"
        settings = replace(Settings(endpoint=standin.base_url, cache_dir=cache_dir),
                           review_concurrency=args.concurrency)
        engine_cold = ReviewEngine(settings, ModelClient(settings.endpoint, settings.model, None), ModelHealth(),
                                   FindingsCache(cache_dir))
        files = select_files(root, engine_cold.secrets, max_bytes=settings.max_file_bytes, limit=100_000).files
        files = files[: args.files]

        cold_s, units, cold_findings = await review_tree(engine_cold, root, files, args.concurrency * 2)
        requests = len(standin.chat_requests())
        peak = standin.max_in_flight
        engine_cold.cache.close()

        standin.reset()
        standin.responder = responder(args.delay)
        engine_warm = ReviewEngine(settings, ModelClient(settings.endpoint, settings.model, None), ModelHealth(),
                                   FindingsCache(cache_dir))
        warm_s, _, warm_findings = await review_tree(engine_warm, root, files, args.concurrency * 2)
        warm_requests = len(standin.chat_requests())
        ideal = requests * args.delay / args.concurrency
        return {
            "files": len(files), "units": units, "delay_s": args.delay, "concurrency": args.concurrency,
            "cold": {"wall_s": round(cold_s, 2), "requests": requests, "ideal_s": round(ideal, 2),
                     "overhead_pct": round(100 * (cold_s - ideal) / ideal, 1) if ideal else None,
                     "peak_in_flight": peak, "findings": cold_findings},
            "warm": {"wall_s": round(warm_s, 2), "requests": warm_requests, "findings": warm_findings,
                     "cached_units": engine_warm.stats.cached},
        }


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=b@example.com", "-c", "user.name=bench", *args], cwd=repo,
                   check=True, capture_output=True)


def _cli(repo: Path, standin: StandIn, cache: Path, *args: str) -> tuple[float, int, int, str]:
    """Run the review CLI; (wall seconds, exit code, chat requests it made, stderr)."""
    before = len(standin.chat_requests())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update({"MISTRAL_LSP_ENDPOINT": standin.base_url, "MISTRAL_LSP_CACHE_DIR": str(cache),
                "PYTHONPATH": str(ROOT)})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lsp_server", "review", "--format", "json", "--fail-on", "never",
                           *args], cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    return wall, done.returncode, len(standin.chat_requests()) - before, done.stderr


def run_cli(args: argparse.Namespace) -> dict:
    """The CLI on a generated git repository: cold, warm, and a 3-file ``--diff``."""
    with StandIn() as standin, tempfile.TemporaryDirectory() as scratch:
        standin.responder = responder(args.delay)
        repo, cache = Path(scratch) / "repo", Path(scratch) / "cache"
        generate_tree(repo, args.files, args.units)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "tree")
        cold_s, cold_rc, cold_requests, err = _cli(repo, standin, cache, "--concurrency", str(args.concurrency))
        if cold_rc != 0:
            raise SystemExit(f"the cold CLI run failed ({cold_rc}): {err}")
        warm_s, warm_rc, warm_requests, _ = _cli(repo, standin, cache)
        _git(repo, "checkout", "-q", "-b", "feature")
        touched = sorted(p for p in repo.rglob("*.py"))[:3]
        for path in touched:  # change the body of the first unit of each file
            path.write_text(path.read_text().replace("total = 0", "total = -1", 1))
        _git(repo, "commit", "-q", "-am", "three changes")
        standin.reset()
        standin.responder = responder(args.delay)
        diff_s, diff_rc, diff_requests, _ = _cli(repo, standin, cache, "--diff", "main")
        sent = [r.body["messages"][-1]["content"] for r in standin.chat_requests()]
        only_changed = all("total = -1" in content for content in sent)
        return {"cold": {"wall_s": round(cold_s, 2), "requests": cold_requests},
                "warm": {"wall_s": round(warm_s, 2), "requests": warm_requests, "exit": warm_rc},
                "diff": {"wall_s": round(diff_s, 2), "files_changed": len(touched), "requests": diff_requests,
                         "only_changed_units": only_changed, "exit": diff_rc}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--units", type=int, default=3, help="units per generated file")
    parser.add_argument("--delay", type=float, default=0.2, help="stand-in seconds per request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tree", help="review this folder instead of a generated tree")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI runs")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    cold, warm = report["cold"], report["warm"]
    print(f"tree: {report['files']} files, {report['units']} units; stand-in {args.delay * 1000:.0f} ms/request, "
          f"concurrency {args.concurrency}")
    print(f"cold: {cold['wall_s']:.2f} s for {cold['requests']} requests (ideal {cold['ideal_s']:.2f} s, "
          f"+{cold['overhead_pct']}%), peak {cold['peak_in_flight']} in flight, {cold['findings']} findings")
    print(f"warm: {warm['wall_s']:.2f} s, {warm['requests']} requests, {warm['cached_units']} cached units, "
          f"{warm['findings']} findings")
    ok = warm["requests"] == 0 and warm["findings"] == cold["findings"]
    if not args.no_cli and not args.tree:
        cli = report["cli"] = run_cli(args)
        print(f"cli cold: {cli['cold']['wall_s']:.2f} s, {cli['cold']['requests']} requests")
        print(f"cli warm: {cli['warm']['wall_s']:.2f} s (whole process), {cli['warm']['requests']} requests "
              f"(target: 0 requests, < 3 s)")
        print(f"cli --diff ({cli['diff']['files_changed']} files changed): {cli['diff']['wall_s']:.2f} s, "
              f"{cli['diff']['requests']} requests, only changed units: {cli['diff']['only_changed_units']}")
        ok = ok and cli["warm"]["requests"] == 0 and cli["diff"]["requests"] == cli["diff"]["files_changed"] \
            and cli["diff"]["only_changed_units"]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

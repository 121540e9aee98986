"""``mistral-lsp review``: settings, run, render, write, exit code (argument parsing is cli.py's)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from pathlib import Path

from lsp_server.ci.output import append_step_summary, emit
from lsp_server.ci.progress import summary_lines
from lsp_server.ci.runner import ModelFailure, ReviewRequest, UsageError, find_root, run_review
from lsp_server.config import load_settings
from lsp_server.core.findings import Severity
from lsp_server.reporting.formats import render
from lsp_server.reporting.report import Report

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_MODEL = 0, 1, 2, 3


def _say(message: str) -> None:
    print(f"mistral-lsp review: {message}", file=sys.stderr)


def _color(choice: str, output: Path | None) -> bool:
    if choice != "auto":
        return choice == "always"
    return output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def exit_code(report: Report, fail_on: str) -> int:
    """1 if a finding is at or above ``fail_on`` ("never": always 0)."""
    if fail_on == "never":
        return EXIT_OK
    floor = Severity.parse(fail_on)
    return EXIT_FINDINGS if any(f.severity.at_least(floor) for f in report.findings) else EXIT_OK


def run_command(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    root, _ = find_root(cwd)
    settings, problems = load_settings(None, root=root)
    if problems:
        for problem in problems:
            _say(f"configuration error: {problem}")
        return EXIT_USAGE
    if args.concurrency:
        settings = dataclasses.replace(settings, review_concurrency=args.concurrency)
    request = ReviewRequest(paths=args.paths or [Path(".")], diff=args.diff, staged=args.staged,
                            no_cache=args.no_cache, cwd=cwd, progress=not args.quiet)
    try:
        report = asyncio.run(run_review(request, settings))
    except UsageError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except ModelFailure as exc:
        where = f"the local model {settings.model}" if settings.backend == "transformers" else \
            f"the model server at {settings.endpoint}"
        _say(f"{where} is unreachable or failed: {exc}")
        return EXIT_MODEL
    floor = Severity.parse(settings.review_min_severity)
    report = dataclasses.replace(report, findings=tuple(f for f in report.findings if f.severity.at_least(floor)))
    rendered = render(args.format, report, color=_color(args.color, args.output))
    try:
        emit(rendered.text, args.output)
        if args.format == "github" and rendered.step_summary:
            append_step_summary(rendered.step_summary)
    except OSError as exc:
        _say(f"cannot write the report: {exc}")
        return EXIT_USAGE
    if not args.quiet and not (args.format == "text" and args.output is None):
        for line in summary_lines(report):
            print(line, file=sys.stderr)
    return exit_code(report, args.fail_on)

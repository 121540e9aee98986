"""``mistral-lsp review``: settings, run, render, write, exit code (argument parsing is cli.py's).

Settings come from the environment and the project file; a command-line flag
overrides a setting only when it was given (``None`` otherwise). One review run
renders every format asked for (``--format sarif:FILE --format github``), so the
reports of one run always agree. stdout carries the report (at most one format goes
there); stderr carries progress, the summary and the problems, one line each.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from lsp_server.ci.output import append_step_summary, emit, stream_of
from lsp_server.ci.progress import summary_lines
from lsp_server.ci.runner import ModelFailure, ReviewRequest, UsageError, find_root, run_review
from lsp_server.config import Settings, load_settings
from lsp_server.core.exit_codes import ExitCode
from lsp_server.core.findings import Severity
from lsp_server.reporting.formats import render
from lsp_server.reporting.report import Report

@dataclasses.dataclass(frozen=True)
class Output:
    """One report to write: a format, and a file (None: stdout)."""

    format: str
    path: Path | None


def _say(message: str) -> None:
    print(f"mistral-lsp review: {message}", file=sys.stderr)


def _color(choice: str, output: Path | None) -> bool:
    if choice != "auto":
        return choice == "always"
    return (output is None or stream_of(output) == 1) and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def exit_code(report: Report, fail_on: str, *, allow_partial: bool = False) -> int:
    """3 if some unit could not be reviewed (unless ``allow_partial``), else 1 if a finding
    is at or above ``fail_on`` ("never": never 1), else 0."""
    if report.summary.errors and not allow_partial:
        return ExitCode.INCOMPLETE
    if fail_on == "never":
        return ExitCode.OK
    floor = Severity.parse(fail_on)
    return ExitCode.FINDINGS if any(f.severity.at_least(floor) for f in report.findings) else ExitCode.OK


def plan_outputs(formats: list[tuple[str, Path | None]] | None, output: Path | None) -> list[Output]:
    """The reports to write; UsageError when they do not fit together."""
    asked = [Output(name, path) for name, path in (formats or [("text", None)])]
    pathless = [o for o in asked if o.path is None]
    if len(pathless) > 1:
        raise UsageError("only one --format can go to stdout (or --output); give the others a file, "
                         "e.g. --format sarif:review.sarif")
    if output is not None:
        if not pathless:
            raise UsageError("--output has no format to take: every --format names its own file")
        asked = [Output(o.format, output) if o.path is None else o for o in asked]
    files = [str(o.path) for o in asked if o.path is not None and stream_of(o.path) is None]
    if len(files) != len(set(files)):
        raise UsageError("two reports cannot go to the same file")
    return asked


def _log_level(args: argparse.Namespace, settings: Settings) -> str | None:
    """--log-level if given, else the logLevel setting if the user set it, else None (quiet)."""
    if args.log_level:
        return str(args.log_level)
    return settings.log_level if "log_level" in settings.given else None


def _setup_logging(level: str | None) -> None:
    """Log lines on stderr only when asked for; otherwise problems are the one-line messages."""
    if level is None:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
        logging.getLogger("lsp_server").setLevel(logging.CRITICAL + 1)
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[logging.StreamHandler(sys.stderr)], force=True)
    logging.getLogger("lsp_server").setLevel(level.upper())


def _overrides(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with the flags the user gave (and only those) applied."""
    changes: dict[str, object] = {}
    if args.concurrency is not None:
        changes["review_concurrency"] = args.concurrency
    if args.if_unreachable is not None:
        changes["review_if_unreachable"] = args.if_unreachable
    return dataclasses.replace(settings, **changes) if changes else settings


def _full_report_hint(outputs: list[Output], environ: Mapping[str, str]) -> str:
    """Where a reader of a cut-down Markdown report finds everything."""
    places = [f"`{o.path}` ({o.format})" for o in outputs if o.path is not None and o.format != "markdown"
              and stream_of(o.path) is None]
    run = [environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if all(run):
        places.append(f"[the workflow run]({run[0]}/{run[1]}/actions/runs/{run[2]})")
    return ", ".join(places)


def run_command(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    root, _ = find_root(cwd)
    settings, problems = load_settings(None, root=root)
    _setup_logging(_log_level(args, settings))
    if problems:
        for problem in problems:
            _say(f"configuration error: {problem}")
        _say("the review did not run: fix the setting(s) above (exit 2)")
        return ExitCode.USAGE
    settings = _overrides(args, settings)
    try:
        outputs = plan_outputs(args.format, args.output)
    except UsageError as exc:
        _say(str(exc))
        return ExitCode.USAGE
    request = ReviewRequest(paths=args.paths or [Path(".")], diff=args.diff, staged=args.staged,
                            no_cache=args.no_cache, cwd=cwd, progress=not args.quiet)
    try:
        report = asyncio.run(run_review(request, settings))
    except UsageError as exc:
        _say(str(exc))
        return ExitCode.USAGE
    except ModelFailure as exc:
        return _model_failure(exc, settings)
    floor = Severity.parse(settings.review_min_severity)
    report = dataclasses.replace(
        report, findings=tuple(f for f in report.findings if f.severity.at_least(floor)),
        full_report=_full_report_hint(outputs, os.environ),
        step_summary=bool(os.environ.get("GITHUB_STEP_SUMMARY")) and any(o.format == "github" for o in outputs))
    for out in outputs:
        rendered = render(out.format, report, color=out.format == "text" and _color(args.color, out.path))
        try:
            emit(rendered.text, out.path)
            if out.format == "github" and rendered.step_summary:
                append_step_summary(rendered.step_summary)
        except OSError as exc:
            _say(f"cannot write the {out.format} report: {exc}")
            return ExitCode.USAGE
    text_on_stdout = any(o.format == "text" and (o.path is None or stream_of(o.path) == 1) for o in outputs)
    if not args.quiet and not text_on_stdout:  # the text report ends with the same summary
        for line in summary_lines(report):
            print(line, file=sys.stderr)
    code = exit_code(report, args.fail_on, allow_partial=args.allow_partial)
    if report.summary.errors:
        _say(_incomplete(report, code))
    return code


def _incomplete(report: Report, code: int) -> str:
    count = len(report.summary.errors)
    what = f"{count} error(s) while reviewing: the review is incomplete (the report lists them)"
    if code == ExitCode.INCOMPLETE:
        return f"{what}; exit 3 (--allow-partial judges by the findings alone)"
    return f"{what}; --allow-partial: judged by the findings alone"


def _model_failure(exc: ModelFailure, settings: Settings) -> int:
    if settings.backend == "transformers":
        _say(f"the local model {settings.model} failed: {exc}; no report written")
        return ExitCode.INCOMPLETE
    where = f"the model server at {settings.endpoint}"
    if exc.unreachable and settings.review_if_unreachable == "warn":
        _say(f"warning: {where} is unreachable ({exc}); passing without a review "
             "(review.ifUnreachable = \"warn\")")
        return ExitCode.OK
    if exc.unreachable:
        _say(f"{where} is unreachable: {exc}. Start it (scripts/serve-vllm.sh), point MISTRAL_LSP_ENDPOINT at "
             "a running one, or set review.ifUnreachable = \"warn\" to pass without a review; no report written")
    else:
        _say(f"{where} failed: {exc}; no report written")
    return ExitCode.INCOMPLETE

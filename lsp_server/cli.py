"""Command line: ``serve`` (the language server), ``review`` (headless, for CI), ``check``,
``languages``, ``--version``.

Argument parsing and process set-up only; the work is done elsewhere. ``check``
exits 0 when completions would work, 3 when the model server is unreachable, lacks
the model, or refuses a completion request, and 2 on bad arguments (or when the
chosen backend cannot run here: ``--backend transformers`` without its packages). ``review`` exits
0 when no finding is at or above ``--fail-on``, 1 when one is, 2 on usage or
configuration errors and 3 when the review is incomplete (the model server is
unreachable or failed, or some part could not be reviewed). A bad ``review``
argument prints the review's own usage. Review flags that shadow a setting default
to ``None``, so a flag the user did not give never overrides the setting. Only
``serve`` imports pygls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from lsp_server import __version__
from lsp_server.core.exit_codes import ExitCode



def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mistral-lsp",
        description="A language server for a self-hosted Mistral-Small-3.2 on vLLM: AI inline "
        "completions, review diagnostics and fixes in any LSP editor, and the same review headless in CI.",
        epilog="Settings: MISTRAL_LSP_ENDPOINT, MISTRAL_LSP_MODEL, MISTRAL_LSP_API_KEY, "
        "MISTRAL_LSP_CACHE_DIR, or [tool.mistral-lsp] in pyproject.toml / .mistral-lsp.toml "
        "(see docs/configuration.md).",
    )
    parser.add_argument("--version", action="version", version=f"mistral-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead, for debugging")
    serve.add_argument("--log-file", type=Path, help="also write the log to this file")
    serve.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"],
        help="log level; wins over the logLevel setting (default: the setting, MISTRAL_LSP_LOG_LEVEL, or info)",
    )
    _backend_arguments(serve)

    _review_parser(sub)

    check = sub.add_parser("check", help="tell whether the configured model server is usable")
    check.add_argument("--root", type=Path, default=Path.cwd(), help="project folder for settings files")
    check.add_argument("--json", action="store_true", help="print the result as one JSON object")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
    _backend_arguments(check)

    languages = sub.add_parser(
        "languages", help="list the languages the server serves (the editor clients' default list)"
    )
    languages.add_argument("--json", action="store_true", help="print VS Code ids and Neovim filetypes as JSON")
    return parser


def _backend_arguments(command: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--model``: the same as MISTRAL_LSP_BACKEND and MISTRAL_LSP_MODEL for this process."""
    command.add_argument("--backend", choices=["vllm", "transformers"],
                         help="vllm: an OpenAI-compatible vLLM server (the default); transformers: run the model in "
                         "this process (pip install 'mistral-lsp[local]'); sets MISTRAL_LSP_BACKEND")
    command.add_argument("--model", metavar="NAME_OR_PATH",
                         help="the served model name (vllm), or the model's folder or hub id (transformers); "
                         "sets MISTRAL_LSP_MODEL")


def _review_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from lsp_server.reporting.formats import FORMAT_NAMES

    review = sub.add_parser(
        "review",
        help="review files with the model, headless (for CI and pre-commit)",
        description="Review the functions and classes of PATHs (default: the current folder) with the "
        "configured model and print the findings. Inside a git repository, .gitignore is honoured and "
        "paths are reported relative to the repository root. Exit codes: 0 no finding at or above "
        "--fail-on, 1 findings at or above it, 2 usage or configuration error, 3 the review is "
        "incomplete (the model server is unreachable or failed, or some part could not be reviewed).",
        epilog="Settings (docs/configuration.md) apply; a flag overrides its setting only when given.",
    )
    review.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: .)")
    changes = review.add_mutually_exclusive_group()
    changes.add_argument("--diff", metavar="REF",
                         help="review only units touching lines changed since the merge base with REF, "
                         "and report only findings on changed lines")
    changes.add_argument("--staged", action="store_true",
                         help="the same for the staged changes (reviews the staged text; for pre-commit). "
                         "Files named as PATHs that have no staged change are reviewed whole")
    review.add_argument("--format", type=_format_spec, action="append", metavar="FMT[:FILE]",
                        help=f"output format, one of {', '.join(FORMAT_NAMES)} (default: text); repeat it for "
                        "several reports of the same run, each but one with its own FILE "
                        "(e.g. --format sarif:review.sarif --format github)")
    review.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write the report to FILE instead of stdout (a regular file is written whole "
                        "or not at all; /dev/stdout, a device or a FIFO is written straight into)")
    review.add_argument("--fail-on", choices=["error", "warning", "info", "never"], default="error",
                        help="lowest severity that makes the exit code 1 (default: error)")
    review.add_argument("--allow-partial", action="store_true",
                        help="judge by the findings even when some part could not be reviewed (the report "
                        "still lists it); without it such a review exits 3")
    review.add_argument("--if-unreachable", choices=["fail", "warn"], default=None,
                        help="when the model server cannot be reached: fail (exit 3) or warn and exit 0 "
                        "(default: the review.ifUnreachable setting, fail)")
    review.add_argument("--concurrency", type=_concurrency, metavar="N", default=None,
                        help="model requests at once (default: the review.concurrency setting, 4)")
    review.add_argument("--no-cache", action="store_true", help="ignore and do not fill the findings cache")
    review.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                        help="colour in the text format (auto: on a terminal, unless NO_COLOR is set)")
    review.add_argument("--quiet", "-q", action="store_true", help="no progress and no summary on stderr")
    review.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None,
                        help="log lines on stderr at this level (default: the logLevel setting if you set "
                        "it, else none: problems are reported as one line each)")
    _backend_arguments(review)


def _format_spec(value: str) -> tuple[str, Path | None]:
    from lsp_server.reporting.formats import FORMAT_NAMES

    name, colon, path = value.partition(":")
    name = name.strip().lower()
    if name not in FORMAT_NAMES:
        raise argparse.ArgumentTypeError(f"unknown format {name!r}; choose from {', '.join(FORMAT_NAMES)}")
    if colon and not path:
        raise argparse.ArgumentTypeError(f"{value!r}: FMT:FILE wants a file name after the colon")
    return name, Path(path) if colon else None


def _concurrency(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 64:
        raise argparse.ArgumentTypeError(f"wants a whole number from 1 to 64, got {value!r}")
    return number


def _setup_logging(level: str, log_file: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
    )
    logging.getLogger("lsp_server").setLevel(level.upper())


def _serve(args: argparse.Namespace) -> int:
    import os

    level = args.log_level or os.environ.get("MISTRAL_LSP_LOG_LEVEL", "info")
    _setup_logging(level, args.log_file)
    from lsp_server.server import build_server

    server = build_server()
    server.log_level_override = args.log_level
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            print(f"mistral-lsp: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
            return ExitCode.USAGE
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    _exit_now(server.exit_code)
    return server.exit_code


def _exit_now(code: int) -> None:
    """End the process without waiting for worker threads still busy (a tokenizer loading,
    an index build): the server has answered, cancelled and closed what it had to."""
    import os
    import threading

    busy = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if not busy:
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _check(args: argparse.Namespace) -> int:
    from lsp_server.check import run_check

    report = asyncio.run(run_check(args.root, timeout_s=args.timeout))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return ExitCode.OK if report.usable else ExitCode.INCOMPLETE


def _languages(args: argparse.Namespace) -> int:
    from lsp_server import editor_languages

    if args.json:
        print(json.dumps(editor_languages.as_dict(), indent=2))
    else:
        print("\n".join(editor_languages.lines()))
    return ExitCode.OK


def _review(args: argparse.Namespace) -> int:
    from lsp_server.ci.command import run_command

    return run_command(args)  # it sets up logging: it needs the settings to know the level


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = action.choices.get(name)
            return found if isinstance(found, argparse.ArgumentParser) else None
    return None


def _apply_backend_arguments(args: argparse.Namespace) -> str | None:
    """Put ``--backend``/``--model`` into the environment; why the chosen backend cannot run, if it cannot."""
    import os

    if getattr(args, "backend", None):
        os.environ["MISTRAL_LSP_BACKEND"] = args.backend
    if getattr(args, "model", None):
        os.environ["MISTRAL_LSP_MODEL"] = args.model
    if args.command == "serve":
        return None  # the server reports it in the editor (and keeps running)
    from lsp_server.config import load_settings
    from lsp_server.model.backends import local_problem

    root = getattr(args, "root", None)
    if root is None:
        from lsp_server.ci.runner import find_root

        root = find_root(Path.cwd())[0]
    settings, _ = load_settings(None, root=root)
    return local_problem(settings)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand's own parser, with its usage (exits 2)
        sub = _subparser(parser, args.command) if args.command else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command in ("serve", "check", "review"):
        problem = _apply_backend_arguments(args)
        if problem is not None:
            print(f"mistral-lsp {args.command}: {problem}", file=sys.stderr)
            return ExitCode.USAGE
    if args.command == "serve":
        return _serve(args)
    if args.command == "check":
        return _check(args)
    if args.command == "review":
        return _review(args)
    if args.command == "languages":
        return _languages(args)
    parser.print_help(sys.stderr)
    return ExitCode.USAGE

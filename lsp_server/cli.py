"""Command line: ``serve`` (the language server), ``check`` (is the model usable?), ``--version``.

Argument parsing and process set-up only; the work is done elsewhere. ``check``
exits 0 when completions would work, 3 when the model server is unreachable, lacks
the model, or refuses a completion request, and 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from lsp_server import __version__

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_MODEL = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mistral-lsp",
        description="A language server for a self-hosted Mistral-Small-3.2 on vLLM: "
        "AI inline completions in any LSP editor.",
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
        "--log-level", choices=["debug", "info", "warning", "error"], help="log level (default: settings)"
    )

    check = sub.add_parser("check", help="tell whether the configured model server is usable")
    check.add_argument("--root", type=Path, default=Path.cwd(), help="project folder for settings files")
    check.add_argument("--json", action="store_true", help="print the result as one JSON object")
    check.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
    return parser


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
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            print(f"mistral-lsp: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
            return EXIT_USAGE
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from lsp_server.check import run_check

    report = asyncio.run(run_check(args.root, timeout_s=args.timeout))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return EXIT_OK if report.usable else EXIT_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "check":
        return _check(args)
    parser.print_help(sys.stderr)
    return EXIT_USAGE

"""One definition of the exit codes: the CLI, the CI command, --help and docs/ci.md agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from lsp_server import cli
from lsp_server.ci import command
from lsp_server.core.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def test_the_codes_are_the_documented_numbers() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [("OK", 0), ("FINDINGS", 1), ("USAGE", 2), ("INCOMPLETE", 3)]


def test_no_module_defines_its_own_exit_numbers() -> None:
    for module in (cli, command):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert not re.search(r"^EXIT_\w+\s*=", source, re.M), module.__name__


def test_docs_ci_table_lists_every_code() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    table = text.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    assert [int(m) for m in re.findall(r"^\| (\d) \|", table, re.M)] == [int(c) for c in ExitCode]


def test_review_help_names_every_code() -> None:
    parser = cli._parser()
    review = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "review")[1]
    description = review.description or ""
    for code in ExitCode:
        assert f"{int(code)} " in description.split("Exit codes:", 1)[1], code

"""The GitHub Action and the pre-commit hook call the CLI with options it really has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from lsp_server.cli import _parser

ROOT = Path(__file__).resolve().parents[2]


def _review_options() -> set[str]:
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    review = sub.choices["review"]  # type: ignore[index]
    return {opt for action in review._actions for opt in action.option_strings}


def test_action_is_a_composite_action_using_real_options() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["endpoint"]["required"] is True
    script = (ROOT / "scripts" / "ci" / "github-action.sh").read_text(encoding="utf-8")
    review = script[script.index("\nreview() {"):script.index("\nresult() {")]
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", review))
    used -= {"--depth", "--no-tags", "--is-shallow-repository"}  # git's options
    assert used and used <= _review_options(), used - _review_options()
    uploads = [s for s in action["runs"]["steps"] if "upload-sarif" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["sarif_file"] == "${{ steps.prepare.outputs.sarif-file }}"
    assert all(s.get("shell") == "bash" for s in action["runs"]["steps"] if "run" in s)


def test_pre_commit_hook_reviews_the_staged_changes() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "mistral-lsp-review")
    argv = shlex.split(hook["entry"])
    assert argv[:2] == ["mistral-lsp", "review"] and "--staged" in argv
    assert {a for a in argv if a.startswith("--")} <= _review_options()
    # pre-commit passes the files: --files/--all-files review what they name (tests/cli: --staged with files)
    assert hook["pass_filenames"] is True and hook["require_serial"] is True and hook["language"] == "python"
    assert "--" not in argv  # the user's own args (e.g. --if-unreachable warn) must stay options

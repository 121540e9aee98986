"""Shared pieces of the headless review tests: temporary git repositories, the stand-in, the CLI.

The CLI runs as a real subprocess (``python -m lsp_server review``) against the vLLM
stand-in, whose responder reports one finding per marked line of the unit it is
shown: ``BUG`` -> error, ``HMM`` -> warning, ``NOTE`` -> info; ``FIXME`` also
carries a fix that replaces the line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.standin import Reply, StandIn

ROOT = Path(__file__).resolve().parents[2]
_NUMBERED = re.compile(r"^\s*(\d+) \| (.*)$", re.M)
MARKS = {"BUG": "error", "HMM": "warning", "NOTE": "info"}


def review_responder(body: dict) -> Reply:
    """One finding per marked numbered line of the review prompt."""
    findings = []
    for match in _NUMBERED.finditer(body["messages"][-1]["content"]):
        line, text = int(match.group(1)), match.group(2)
        for mark, severity in MARKS.items():
            if mark in text:
                fix = None
                if "FIXME" in text:
                    fix = {"start_line": line, "end_line": line, "replacement": text.replace("FIXME", "fixed")}
                findings.append({"line": line, "quote": mark, "severity": severity, "rule": f"rule-{mark.lower()}",
                                 "message": f"{mark.title()}: 100% sure, really: look", "fix": fix})
    return Reply(text=json.dumps({"findings": findings}))


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "standin" in request.fixturenames:
        server = request.getfixturevalue("standin")
        server.reset()
        server.responder = review_responder


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True,
                          env={**os.environ, "GIT_AUTHOR_DATE": "2026-01-01T00:00:00", "GIT_COMMITTER_DATE":
                               "2026-01-01T00:00:00"})
    return done.stdout


def make_repo(path: Path, files: dict[str, str | bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "T")
    write(path, files)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def write(repo: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


@pytest.fixture
def cli(standin: StandIn, tmp_path: Path):
    """Run ``mistral-lsp review`` in a folder against the stand-in, with its own cache."""
    cache = tmp_path / "cache"

    def run(cwd: Path, *args: str, env: dict[str, str] | None = None, endpoint: str | None = None,
            timeout: float = 60) -> Run:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("MISTRAL_LSP_", "GITHUB_"))}
        environ.update({"MISTRAL_LSP_ENDPOINT": endpoint or standin.base_url,
                        "MISTRAL_LSP_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), "NO_COLOR": "1",
                        "MISTRAL_LSP_CONNECT_TIMEOUT": "10"})  # a loaded machine: see tests/e2e/conftest.py
        environ.update(env or {})
        done = subprocess.run([sys.executable, "-m", "lsp_server", "review", *args], cwd=cwd, env=environ,
                              capture_output=True, text=True, timeout=timeout)
        return Run(done.returncode, done.stdout, done.stderr)

    return run

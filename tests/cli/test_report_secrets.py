"""A CI report travels further than the repository (PR comments, code scanning, CI logs): the
quotes of its findings pass the secret filter, in every format, while the finding still lands on
the real line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import make_repo
from tests.standin import Reply, StandIn

SECRET = "hunter2-Zq9vX4mWp7Lk3Rt8"
FILES = {
    "app.py": (
        "import os\n\n\n"
        "def connect():\n"
        f'    db_password = "{SECRET}"  # BUG\n'
        "    return os.environ.get('HOST'), db_password\n"
    ),
    "web/client.ts": (
        "export function headers() {\n"
        f'  return {{ Authorization: "Token {SECRET}" }};  // BUG\n'
        "}\n"
    ),
}
_NUMBERED = re.compile(r"^\s*(\d+) \| (.*)$", re.M)


def _quote_the_whole_line(body: dict) -> Reply:
    """The model quotes the marked line as it saw it (masked)."""
    findings = [{"line": int(m.group(1)), "quote": m.group(2).strip(), "severity": "error", "rule": "leak",
                 "message": "hard-coded credential", "fix": None}
                for m in _NUMBERED.finditer(body["messages"][-1]["content"]) if "BUG" in m.group(2)]
    return Reply(text=json.dumps({"findings": findings}))


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "rdjsonl", "gitlab", "markdown", "text"])
def test_report_quotes_are_masked_and_findings_stay_on_their_lines(cli, tmp_path: Path, standin: StandIn,
                                                                   fmt: str) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    standin.responder = _quote_the_whole_line
    run = cli(repo, "--format", fmt, "--fail-on", "never", "--no-cache")
    assert run.code == 0, run.stderr
    assert all(SECRET not in json.dumps(r.body) for r in standin.requests)  # the model never saw it
    assert SECRET not in run.stdout and SECRET not in run.stderr
    if fmt == "json":
        report = json.loads(run.stdout)
        found = {(f["path"], f["line"]) for f in report["findings"]}
        assert found == {("app.py", 5), ("web/client.ts", 2)}
        assert all("<redacted>" in f["quote"] for f in report["findings"])
    if fmt == "sarif":
        results = json.loads(run.stdout)["runs"][0]["results"]
        snippets = [r["locations"][0]["physicalLocation"]["region"]["snippet"]["text"] for r in results]
        assert len(snippets) == 2 and all("<redacted>" in s for s in snippets)

"""Our SARIF, checked by Microsoft's SARIF Multitool with GitHub code scanning's ingestion rules.

The validator (``scripts/sarif-validator.sh`` installs it; .ci/run exports its path as
MISTRAL_LSP_SARIF_MULTITOOL) runs ``validate`` twice: ``--rule-kind Gh`` (what GitHub Advanced
Security requires, e.g. a help text per rule) and ``--rule-kind Sarif`` (the spec's own rules).
Any error or warning result fails the test. Without the tool the test is skipped, saying why,
unless MISTRAL_LSP_REQUIRE_SARIF_VALIDATOR=1 (CI), which makes it fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import make_repo
from tests.standin import Reply, StandIn

TOOL_VAR = "MISTRAL_LSP_SARIF_MULTITOOL"

SOURCE = '''def total(items):
    s = "héllo 🙂"  # NOTE
    for i in range(len(items) + 1):  # BUG FIXME
        s += items[i]
    return s
'''


def _tool() -> str:
    tool = os.environ.get(TOOL_VAR, "")
    if tool and os.access(tool, os.X_OK):
        return tool
    reason = f"SARIF Multitool not installed ({TOOL_VAR} unset): run scripts/sarif-validator.sh"
    if os.environ.get("MISTRAL_LSP_REQUIRE_SARIF_VALIDATOR") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.parametrize("complete", [True, False])
@pytest.mark.parametrize("rules", ["Gh", "Sarif"])
def test_our_sarif_passes_the_sarif_multitool(cli, standin: StandIn, tmp_path: Path, rules: str,
                                              complete: bool) -> None:
    tool = _tool()
    repo = make_repo(tmp_path / "repo", {"src/app.py": SOURCE, "web/x.js": "function f(a) {\n  return a; // HMM\n}\n",
                                         "web/y.js": "function g(b) {\n  return b;\n}\n"})
    if not complete:  # one unit answers prose: an error tool execution notification with a location
        answer = standin.responder
        standin.responder = lambda body: (Reply(text="Looks fine to me!") if "function g" in
                                          body["messages"][-1]["content"] else answer(body))
    out = tmp_path / "review.sarif"
    run = cli(repo, "--format", "sarif", "--output", str(out), "--fail-on", "never")
    assert run.code == (0 if complete else 3), run.stderr
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert len(sarif["runs"][0]["results"]) == 3 and any("fixes" in r for r in sarif["runs"][0]["results"])
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is complete
    verdict = tmp_path / f"validate-{rules}.sarif"
    done = subprocess.run([tool, "validate", str(out), "--rule-kind", rules, "--output", str(verdict),
                           "--log", "ForceOverwrite"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(verdict.read_text(encoding="utf-8-sig"))["runs"][0].get("results", [])
    problems = [f"{r['ruleId']}: {r['message'].get('text', r['message'])}" for r in results
                if r.get("level", "warning") in ("error", "warning")]
    assert problems == [], "\n".join(problems)

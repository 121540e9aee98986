"""The CI review checks figures: a docs folder's Markdown and reStructuredText against their images."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.cli.conftest import git, make_repo, write
from tests.imagegen import bar_chart
from tests.standin import Reply, StandIn

GUIDE = (
    "# Guide 😀\n"
    "\n"
    "Setup text that has nothing to do with the figure.\n"
    "\n"
    "## Results\n"
    "\n"
    "![Sales by quarter](img/chart.png)\n"
    "\n"
    "The chart shows four bars. Sales fell in every quarter.\n"
)
RST = (
    "Results\n=======\n\n.. figure:: img/chart.png\n   :alt: Sales\n\n   Caption.\n\n"
    "Sales fell in every quarter, as the figure shows.\n"
)


def figure_responder(body: dict[str, Any]) -> Reply:
    content = body["messages"][-1]["content"]
    if not isinstance(content, list):  # a code unit
        return Reply(text='{"findings": []}')
    text = "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
    findings = [{"line": int(m.group(1)), "quote": "Sales fell in every quarter", "severity": "error",
                 "rule": "figure-text-mismatch", "message": "img/chart.png shows sales rising every quarter.",
                 "fix": None}
                for m in re.finditer(r"^\s*(\d+) \| (.*)$", text, re.M) if "Sales fell" in m.group(2)]
    return Reply(text=json.dumps({"findings": findings}))


def test_ci_review_of_a_docs_folder_reports_figure_mismatches_in_sarif(cli, standin: StandIn, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {
        "docs/guide.md": GUIDE, "docs/results.rst": RST, "docs/img/chart.png": bar_chart([10, 20, 30, 40]),
        "docs/plain.md": "# Plain\n\nNo images here.\n", "src/app.py": "def f():\n    return 1\n",
    })
    standin.responder = figure_responder
    out = repo / "review.sarif"
    run = cli(repo, "docs", "--format", "sarif", "--output", str(out), "--fail-on", "never")
    assert run.code == 0, run.stderr
    sarif = json.loads(out.read_text(encoding="utf-8"))
    results = sarif["runs"][0]["results"]
    found = sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                    r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"]) for r in results)
    assert found == [("docs/guide.md", 9, "figure-text-mismatch"), ("docs/results.rst", 9, "figure-text-mismatch")]
    region = next(r for r in results if "guide" in json.dumps(r))["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == len("The chart shows four bars. ") + 1
    sent = [r for r in standin.chat_requests() if r.images]
    assert len(sent) == 2 and all(len(r.images) == 1 and r.images[0].width == 320 for r in sent)
    assert all(r.body["response_format"]["type"] == "json_schema" for r in sent)
    assert not any("Setup text" in json.dumps(r.body) for r in sent)  # a section without images is not sent

    # a warm run makes no request, in every output format; a changed image re-reviews its sections
    before = len(standin.chat_requests())
    for fmt in ("text", "json", "github", "rdjsonl", "gitlab", "markdown"):
        again = cli(repo, "docs", "--format", fmt, "--fail-on", "never", env={"GITHUB_ACTIONS": ""})
        assert again.code == 0 and "figure-text-mismatch" in again.stdout, (fmt, again.stdout, again.stderr)
        assert "docs/guide.md" in again.stdout and "docs/results.rst" in again.stdout, (fmt, again.stdout)
    assert len(standin.chat_requests()) == before
    write(repo, {"docs/img/chart.png": bar_chart([40, 30, 20, 10])})
    git(repo, "add", "-A")
    changed = cli(repo, "docs", "--format", "json", "--fail-on", "never")
    assert changed.code == 0 and len(standin.chat_requests()) == before + 2


def test_ci_review_never_sends_images_from_outside_or_secret(cli, standin: StandIn, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.png").write_bytes(bar_chart([1, 2]))
    repo = make_repo(tmp_path / "repo", {
        "docs/a.md": ("# A\n\n![x](../../elsewhere/leak.png)\n![y](id_rsa.png)\n"
                      "![z](https://example.com/z.png)\n\nSales fell in every quarter.\n"),
        "docs/id_rsa.png": bar_chart([3, 4]),  # matches the default secret pattern id_rsa*
    })
    standin.responder = figure_responder
    run = cli(repo, "docs", "--format", "json", "--fail-on", "never",
              env={"MISTRAL_LSP_VISION": "1"}, timeout=60)
    assert run.code == 0, run.stderr
    assert not any(r.images for r in standin.chat_requests())


def test_ci_review_against_a_text_only_server_skips_figures_and_does_not_fail(cli, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {
        "docs/guide.md": GUIDE, "docs/more.md": GUIDE.replace("Guide", "More"),
        "docs/img/chart.png": bar_chart([10, 20, 30, 40]), "src/app.py": "def f():\n    return 1\n",
    })
    with StandIn(image_limit=0) as text_only:
        text_only.responder = figure_responder
        run = cli(repo, "--format", "json", endpoint=text_only.base_url)
        refused = [r for r in text_only.chat_requests() if r.status == 400]
    assert run.code == 0, run.stdout + run.stderr  # no finding, and no model failure (exit 3)
    assert run.json()["findings"] == []
    assert "figure checks skipped" in run.stderr and "--limit-mm-per-prompt" in run.stderr
    skipped = run.json()["summary"]["skipped"]  # the report says the figures were not checked
    assert any(line.startswith("figure checks skipped") and "--limit-mm-per-prompt" in line for line in skipped)
    assert len(refused) <= 2  # once refused, later documents plan no figure units


def test_documents_without_images_are_no_candidates(cli, standin: StandIn, tmp_path: Path) -> None:
    """Documents are reviewed for their figures: one that shows no image is not a file the review
    looked at (it does not count, nor print progress), and says so only when named."""
    repo = make_repo(tmp_path / "repo", {"README.md": "# Project\n\nNo pictures here.\n", "src/app.py": "X = 1\n",
                                         "docs/notes.rst": "Notes\n=====\n\nText only.\n"})
    standin.responder = figure_responder
    whole = cli(repo, "--format", "json", "--fail-on", "never")
    assert whole.code == 0, whole.stderr
    assert whole.json()["summary"]["files"] == 1 and not any("README" in s for s in whole.json()["summary"]["skipped"])
    named = cli(repo, "README.md", "--format", "json", "--fail-on", "never")
    assert named.code == 0 and named.json()["summary"]["files"] == 0
    assert named.json()["summary"]["skipped"] == ["README.md: no image, so no figure to check"]

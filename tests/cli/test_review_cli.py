"""``mistral-lsp review`` end to end: a real subprocess, temporary git repositories, the stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, git, make_repo, review_responder, write
from tests.standin import Reply, StandIn

APP = '''import os


def load(path):
    data = open(path).read()  # HMM
    return data


def total(items):
    s = 0
    for i in range(len(items) + 1):  # BUG
        s += items[i]
    return s
'''

GREET = '''function greet(name) {
  const s = "héllo 🙂 " + name; // NOTE
  return s;
}
'''

CLEAN = '''def add(a, b):
    return a + b
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {
        "src/app.py": APP, "web/greet.js": GREET, "src/clean.py": CLEAN, "README.md": "# hi\n",
        ".gitignore": "build/\n",
    })


def _chat_contents(standin: StandIn) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in standin.chat_requests()]


def test_full_review_json_and_warm_run_makes_no_request(cli, repo: Path, standin: StandIn) -> None:
    write(repo, {"build/gen.py": "def gen():\n    return 1  # BUG\n"})  # ignored by .gitignore
    first = cli(repo, "--format", "json")
    assert first.code == 1, first.stderr  # an error finding, --fail-on error by default
    report = first.json()
    assert isinstance(report, dict)
    found = [(f["path"], f["line"], f["severity"], f["rule"]) for f in report["findings"]]
    assert found == [("src/app.py", 5, "warning", "rule-hmm"), ("src/app.py", 11, "error", "rule-bug"),
                     ("web/greet.js", 2, "info", "rule-note")]
    bug = report["findings"][1]
    assert bug["column"] == APP.splitlines()[10].index("BUG") + 1
    assert len(standin.chat_requests()) == 4  # load, total, greet, add: build/ is ignored
    assert not any("gen()" in content for content in _chat_contents(standin))
    assert "README.md" not in first.stdout
    assert "4 unit(s)" in first.stderr and "0 cached" in first.stderr
    # README.md is a document whose figures are checked (it shows none: no request), not an unsupported file
    assert "file(s) in unsupported languages:" in first.stderr and ".md" not in first.stderr

    standin.reset()
    standin.responder = None  # any request now would get an empty answer and change the findings
    second = cli(repo, "--format", "json")
    assert second.code == 1
    assert standin.chat_requests() == []
    assert second.json()["findings"] == report["findings"]
    assert "4 cached, 0 model request(s)" in second.stderr


def test_text_format_and_fail_on_levels(cli, repo: Path) -> None:
    run = cli(repo, "src/app.py", "--fail-on", "never")
    assert run.code == 0
    assert "src/app.py:11:" in run.stdout and "error" in run.stdout and "rule-bug" in run.stdout
    assert "\x1b[" not in run.stdout  # NO_COLOR and not a terminal
    assert cli(repo, "src/clean.py").code == 0  # no findings at all
    assert cli(repo, "web/greet.js").code == 0  # an info finding is below --fail-on error
    assert cli(repo, "web/greet.js", "--fail-on", "info").code == 1
    assert cli(repo, "src/app.py", "--fail-on", "warning", "--format", "json").code == 1


def test_diff_reviews_only_changed_units_and_reports_only_changed_lines(cli, repo: Path, standin: StandIn) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    changed = APP.replace("    return data\n", "    return data.strip()  # NOTE\n")
    write(repo, {"src/app.py": changed, "src/new.py": "def fresh():\n    return 1  # HMM\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    run = cli(repo, "--diff", "main", "--format", "json", "--fail-on", "never")
    assert run.code == 0, run.stderr
    contents = _chat_contents(standin)
    assert len(contents) == 2  # load (changed) and fresh (new); total and greet untouched
    assert any("def load" in c for c in contents) and any("def fresh" in c for c in contents)
    findings = [(f["path"], f["line"], f["rule"]) for f in run.json()["findings"]]
    # load's HMM on line 5 is in a reviewed unit but on an unchanged line: not reported
    assert findings == [("src/app.py", 6, "rule-note"), ("src/new.py", 2, "rule-hmm")]
    assert "only lines changed since main" in run.stderr


def test_diff_includes_uncommitted_and_untracked_files(cli, repo: Path, standin: StandIn) -> None:
    write(repo, {"src/clean.py": CLEAN + "\n\ndef sub(a, b):\n    return a - b  # BUG\n",
                 "src/scratch.py": "def tmp():\n    pass  # NOTE\n"})
    run = cli(repo, "--diff", "HEAD", "--format", "json", "--fail-on", "never")
    assert run.code == 0, run.stderr
    assert [(f["path"], f["line"]) for f in run.json()["findings"]] == [("src/clean.py", 6), ("src/scratch.py", 2)]
    assert len(standin.chat_requests()) == 2


def test_staged_reviews_the_staged_text(cli, repo: Path, standin: StandIn) -> None:
    write(repo, {"src/clean.py": CLEAN + "\n\ndef mul(a, b):\n    return a * b  # BUG\n"})
    git(repo, "add", "src/clean.py")
    write(repo, {"src/clean.py": CLEAN})  # the work tree went back; the index still has mul()
    run = cli(repo, "--staged", "--format", "json")
    assert run.code == 1, run.stderr
    assert [(f["path"], f["line"], f["severity"]) for f in run.json()["findings"]] == [("src/clean.py", 6, "error")]
    assert any("def mul" in c for c in _chat_contents(standin))


def test_skipped_files_are_noted_not_fatal(cli, repo: Path, standin: StandIn) -> None:
    write(repo, {"src/blob.py": b"\x00\x01\x02binary", "src/id_rsa.py": "KEY = 'x'\n",
                 "src/big.py": "x = 1\n" * 400, ".mistral-lsp.toml": "maxFileBytes = 1000\n"})
    run = cli(repo, "src", "--format", "json", "--fail-on", "never")
    assert run.code == 0, run.stderr
    assert "src/blob.py: binary" in run.stderr
    assert "src/id_rsa.py: secret file, never sent" in run.stderr
    assert "src/big.py: 2400 bytes, above the size limit" in run.stderr
    sent = "\n".join(_chat_contents(standin))
    assert "KEY" not in sent and "binary" not in sent


def test_usage_errors_exit_2(cli, repo: Path, tmp_path: Path) -> None:
    bad_ref = cli(repo, "--diff", "no-such-branch")
    assert bad_ref.code == 2 and "no such commit" in bad_ref.stderr
    missing = cli(repo, "nowhere")
    assert missing.code == 2 and "no such file or folder" in missing.stderr
    outside = cli(repo, str(tmp_path))
    assert outside.code == 2 and "outside the repository root" in outside.stderr
    both = cli(repo, "--diff", "main", "--staged")
    assert both.code == 2 and "not allowed with" in both.stderr
    bad_format = cli(repo, "--format", "xml")
    assert bad_format.code == 2
    config = cli(repo, env={"MISTRAL_LSP_REVIEW_CONCURRENCY": "lots"})
    assert config.code == 2 and "configuration error" in config.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    no_git = cli(plain, "--staged")
    assert no_git.code == 2 and "need a git repository" in no_git.stderr


def test_unreachable_model_exits_3_and_writes_nothing(cli, repo: Path, standin: StandIn) -> None:
    out = repo / "report.sarif"
    run = cli(repo, "--format", "sarif", "--output", str(out), "--no-cache", endpoint="http://127.0.0.1:9/v1")
    assert run.code == 3
    [line] = run.stderr.splitlines()  # one clear line: no log lines, no progress before it
    assert line.startswith("mistral-lsp review: the model server at http://127.0.0.1:9/v1 is unreachable: ")
    assert "scripts/serve-vllm.sh" in line and "review.ifUnreachable" in line
    assert not out.exists()
    standin.default = Reply(mode="error", status=500, error_message="engine dead")
    standin.responder = None
    failing = cli(repo, "--format", "sarif", "--output", str(out))
    assert failing.code == 3 and "engine dead" in failing.stderr
    [line] = failing.stderr.splitlines()
    assert " failed: " in line and "no report written" in line
    assert not out.exists()


def test_a_unit_too_long_for_the_model_is_an_error_not_a_failed_run(cli, repo: Path, standin: StandIn) -> None:
    """A unit refused for itself does not stop the run (the server is fine): the other units are
    reviewed and reported, and the review is incomplete (3) unless partial results are allowed."""
    def answer(body: dict) -> Reply:
        if "`total`" in body["messages"][-1]["content"]:  # this unit is refused for itself
            return Reply(mode="error", status=400, error_message="This model's maximum context length is 64 tokens.")
        return review_responder(body)

    standin.responder = answer
    for extra, code in (((), 3), (("--allow-partial",), 0)):  # a warning and a note are below --fail-on error
        run = cli(repo, "--format", "json", "--no-cache", *extra)
        assert run.code == code, run.stderr
        report = run.json()
        assert report["summary"]["complete"] is False
        assert sorted(f["rule"] for f in report["findings"]) == ["rule-hmm", "rule-note"]
        [error] = report["summary"]["errors"]
        assert error.startswith("src/app.py") and "maximum context length" in error


def test_output_file_sarif_is_complete(cli, repo: Path) -> None:
    out = repo / "out" / "review.sarif"
    run = cli(repo, "--format", "sarif", "--output", str(out), "--fail-on", "never")
    assert run.code == 0 and run.stdout == ""
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results] == [
        "src/app.py", "src/app.py", "web/greet.js"]
    assert not [p for p in out.parent.iterdir() if p.name != "review.sarif"]  # no temporary file left


def test_github_format_writes_step_summary(cli, repo: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    run = cli(repo, "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 1
    assert "::error file=src/app.py,line=11," in run.stdout
    assert "::warning file=src/app.py,line=5," in run.stdout
    assert "::notice file=web/greet.js,line=2," in run.stdout
    assert "100%25 sure" in run.stdout  # the message's % is escaped
    assert summary.read_text(encoding="utf-8").strip()


def test_review_path_never_imports_pygls(repo: Path, standin: StandIn, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lsp_server.cli import main\n"
        "rc = main(['review', '--format', 'json', '--quiet', '--fail-on', 'never'])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'cattrs'))\n"
        "print('IMPORTED', bad, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {"MISTRAL_LSP_ENDPOINT": standin.base_url, "MISTRAL_LSP_CACHE_DIR": str(tmp_path / "c"),
           "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "IMPORTED []" in done.stderr
    assert json.loads(done.stdout)["findings"]


def test_diff_in_a_shallow_clone(cli, repo: Path, tmp_path: Path, standin: StandIn) -> None:
    """CI checks out one commit (depth 1) and fetches the base branch: --diff still works,
    through the merge base when the fetch reached it, else against REF itself (and says so)."""
    for n in range(3):  # some history on main
        write(repo, {f"src/m{n}.py": f"def m{n}():\n    return {n}\n"})
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"main {n}")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo, {"src/clean.py": CLEAN + "\n\ndef sub(a, b):\n    return a - b  # BUG\n"})
    git(repo, "commit", "-q", "-am", "feature change")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", repo.as_uri(), str(shallow)],
                   check=True, capture_output=True)
    missing = cli(shallow, "--diff", "origin/main")
    assert missing.code == 2 and "fetch" in missing.stderr  # REF not in the clone: say how to get it
    git(shallow, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    run = cli(shallow, "--diff", "origin/main", "--format", "json")
    assert run.code == 1, run.stderr
    assert [(f["path"], f["line"]) for f in run.json()["findings"]] == [("src/clean.py", 6)]
    assert "no merge base in this clone" in run.stderr  # depth 1 on both sides: no common ancestor
    git(shallow, "fetch", "-q", "--deepen", "5", "origin", "feature", "main")
    deep = cli(shallow, "--diff", "origin/main", "--format", "json")
    assert [(f["path"], f["line"]) for f in deep.json()["findings"]] == [("src/clean.py", 6)]
    assert "merge base" in deep.stderr and "no merge base" not in deep.stderr

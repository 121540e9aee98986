"""``mistral-lsp review`` never passes silently (issue 17 items 1-3, 10, 11, 14, 15; issue 12 item 11).

A real subprocess against the stand-in: unusable model answers make the review
incomplete (exit 3) in every format and are never cached; identical code is one
request and one answer, cold and warm; settings are not overridden by flags the user
did not pass; failures are one clear line on stderr.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.cli.conftest import git, make_repo, review_responder, write
from tests.standin import Reply, StandIn

APP = '''def total(items):
    s = 0
    for i in range(len(items) + 1):  # BUG
        s += items[i]
    return s


def greet(name):
    return "hi " + name
'''

PROSE = "Sure! Here is my review: looks fine."


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"src/app.py": APP, "README.md": "# x\n"})


def _prose_for_greet(body: dict) -> Reply:
    if "def greet" in body["messages"][-1]["content"]:
        return Reply(text=PROSE)
    return review_responder(body)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "rdjsonl", "gitlab", "markdown"])
def test_an_unparseable_answer_makes_the_review_incomplete_in_every_format(cli, repo: Path, standin: StandIn,
                                                                           fmt: str) -> None:
    standin.responder = lambda body: Reply(text=PROSE)
    run = cli(repo, "--format", fmt, "--fail-on", "never")
    assert run.code == 3, run.stderr  # even with --fail-on never: the review did not happen
    assert "the review is incomplete" in run.stderr and "exit 3" in run.stderr
    out = run.stdout
    if fmt == "json":
        summary = json.loads(out)["summary"]
        assert summary["complete"] is False and len(summary["errors"]) == 2
        assert all("no findings JSON" in e for e in summary["errors"])
    elif fmt == "sarif":
        invocation = json.loads(out)["runs"][0]["invocations"][0]
        assert invocation["executionSuccessful"] is False
        assert [n["level"] for n in invocation["toolExecutionNotifications"] if "no findings JSON" in
                n["message"]["text"]] == ["error", "error"]
    elif fmt == "github":
        assert out.startswith("::error title=mistral-lsp%3A review incomplete%3A 2 failures::")
    elif fmt in ("rdjsonl", "gitlab"):
        assert out.count("review-incomplete") == 2
    elif fmt == "markdown":
        assert out.startswith("### mistral-lsp: ⚠️ review incomplete: 2 failures") and "No findings" not in out
    else:
        assert "No findings." not in out and "review incomplete" in out


def test_unparseable_answers_are_not_cached_and_allow_partial_judges_by_findings(cli, repo: Path,
                                                                                standin: StandIn) -> None:
    standin.responder = _prose_for_greet
    first = cli(repo, "--format", "json")
    assert first.code == 3
    doc = json.loads(first.stdout)
    assert [f["rule"] for f in doc["findings"]] == ["rule-bug"]  # what could be reviewed is still reported
    assert doc["summary"]["errors"] == ["src/app.py: function greet: the model's answer held no findings JSON"]
    # total: one request; greet: the tool-offering request, then the strict retry (JSON schema, no tools)
    greet = [r.body for r in standin.chat_requests() if "def greet" in r.body["messages"][1]["content"]]
    assert len(standin.chat_requests()) == 3 and len(greet) == 2
    assert "tools" in greet[0] and greet[1]["response_format"]["json_schema"]["strict"] and "tools" not in greet[1]
    partial = cli(repo, "--format", "json", "--allow-partial", "--fail-on", "never")
    assert partial.code == 0 and "--allow-partial: judged by the findings alone" in partial.stderr
    assert len(standin.chat_requests()) == 5  # greet asked again (never cached), total from the cache
    standin.responder = review_responder
    fixed = cli(repo, "--format", "json")
    assert fixed.code == 1 and json.loads(fixed.stdout)["summary"]["complete"] is True
    assert len(standin.chat_requests()) == 6


def test_identical_units_in_two_files_are_one_request_and_one_answer(cli, tmp_path: Path,
                                                                     standin: StandIn) -> None:
    same = "def helper(x):\n    return x[0]  # HMM\n"
    repo = make_repo(tmp_path / "dup", {f"pkg{n}/util.py": same for n in range(4)})
    answers = 0

    def varying(body: dict) -> Reply:  # a model that words it differently each time
        nonlocal answers
        answers += 1
        reply = review_responder(body)
        return Reply(text=reply.text.replace("Hmm:", f"Hmm #{answers}:"), first_token_delay=0.2)

    standin.responder = varying
    cold = cli(repo, "--format", "json", "--fail-on", "never")
    assert cold.code == 0, cold.stderr
    assert len(standin.chat_requests()) == 1
    messages = {f["message"] for f in json.loads(cold.stdout)["findings"]}
    assert len(json.loads(cold.stdout)["findings"]) == 4 and messages == {"Hmm #1: 100% sure, really: look"}
    warm = cli(repo, "--format", "json", "--fail-on", "never")
    assert len(standin.chat_requests()) == 1
    assert json.loads(warm.stdout)["findings"] == json.loads(cold.stdout)["findings"]
    assert json.loads(warm.stdout)["summary"] == json.loads(cold.stdout)["summary"]


def _slow(body: dict) -> Reply:
    reply = review_responder(body)
    return Reply(text=reply.text, first_token_delay=0.6)


def test_the_concurrency_setting_is_not_overridden_by_a_flag_not_given(cli, tmp_path: Path,
                                                                       standin: StandIn) -> None:
    repo = make_repo(tmp_path / "many", {f"m{n}.py": f"def f{n}(x):\n    return x + {n}\n" for n in range(6)})
    standin.responder = _slow
    one = cli(repo, "--format", "json", env={"MISTRAL_LSP_REVIEW_CONCURRENCY": "1"}, timeout=120)
    assert one.code == 0, one.stderr
    assert len(standin.chat_requests()) == 6 and standin.max_in_flight == 1
    (repo / ".mistral-lsp.toml").write_text("[review]\nconcurrency = 1\n")
    standin.reset()
    standin.responder = _slow
    flagged = cli(repo, "--format", "json", "--no-cache", "--concurrency", "3", timeout=120)
    assert flagged.code == 0, flagged.stderr
    assert 2 <= standin.max_in_flight <= 3  # the flag, given, wins over the project file


def test_if_unreachable_warn_passes_with_one_warning(cli, repo: Path) -> None:
    down = "http://127.0.0.1:9/v1"
    failing = cli(repo, endpoint=down)
    assert failing.code == 3
    for how in ({"env": {"MISTRAL_LSP_REVIEW_IF_UNREACHABLE": "warn"}}, {"args": ("--if-unreachable", "warn")}):
        run = cli(repo, *how.get("args", ()), env=how.get("env"), endpoint=down)
        assert run.code == 0 and run.stdout == ""
        [line] = run.stderr.splitlines()
        assert line.startswith("mistral-lsp review: warning: the model server at http://127.0.0.1:9/v1 is "
                               "unreachable") and "passing without a review" in line
    flag_wins = cli(repo, "--if-unreachable", "fail", env={"MISTRAL_LSP_REVIEW_IF_UNREACHABLE": "warn"},
                    endpoint=down)
    assert flag_wins.code == 3


def test_a_failing_server_still_fails_with_if_unreachable_warn(cli, repo: Path, standin: StandIn) -> None:
    standin.responder = lambda body: Reply(mode="error", status=500, error_message="engine dead")
    run = cli(repo, env={"MISTRAL_LSP_REVIEW_IF_UNREACHABLE": "warn"})
    assert run.code == 3 and "engine dead" in run.stderr


def test_several_formats_from_one_run(cli, repo: Path, standin: StandIn, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    out = tmp_path / "out"
    run = cli(repo, "--format", f"sarif:{out}/r.sarif", "--format", "github", "--format", f"json:{out}/r.json",
              env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.code == 1, run.stderr
    assert len(standin.chat_requests()) == 2  # one review, three reports
    assert "::error file=src/app.py,line=3," in run.stdout
    assert json.loads((out / "r.sarif").read_text())["runs"][0]["results"][0]["ruleId"] == "rule-bug"
    assert json.loads((out / "r.json").read_text())["findings"][0]["rule"] == "rule-bug"
    assert summary.read_text(encoding="utf-8").startswith("### mistral-lsp: 1 finding")
    two_on_stdout = cli(repo, "--format", "json", "--format", "github")
    assert two_on_stdout.code == 2 and "only one --format can go to stdout" in two_on_stdout.stderr
    nothing_for_output = cli(repo, "--format", "json:a.json", "-o", "b.json")
    assert nothing_for_output.code == 2 and "--output has no format to take" in nothing_for_output.stderr


def test_output_to_dev_stdout_and_a_symlink(cli, repo: Path, tmp_path: Path) -> None:
    run = cli(repo, "--format", "json", "-o", "/dev/stdout", "--fail-on", "never")
    assert run.code == 0 and json.loads(run.stdout)["findings"]
    target = tmp_path / "reports" / "review.json"
    target.parent.mkdir()
    target.write_text("{}")
    target.chmod(0o644)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    linked = cli(repo, "--format", "json", "-o", str(link), "--fail-on", "never")
    assert linked.code == 0 and link.is_symlink() and json.loads(target.read_text())["findings"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    folder = cli(repo, "--format", "json", "-o", str(tmp_path), "--fail-on", "never")
    assert folder.code == 2 and "is a folder" in folder.stderr


def test_github_format_without_a_step_summary_does_not_point_there(cli, tmp_path: Path) -> None:
    many = "".join(f"def f{n}(x):\n    return x  # BUG\n\n\n" for n in range(12))
    repo = make_repo(tmp_path / "many", {"m.py": many})
    run = cli(repo, "--format", "github")
    assert run.code == 1
    assert "step summary" not in run.stdout + run.stderr
    assert "2 findings not annotated (GitHub shows 10 per level): listed above" in run.stdout
    summary = tmp_path / "summary.md"
    with_summary = cli(repo, "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert "listed above and in the step summary" in with_summary.stdout


def test_failure_output_is_one_line_per_problem_without_log_lines(cli, repo: Path, standin: StandIn) -> None:
    standin.responder = _prose_for_greet
    run = cli(repo, "--format", "json", "--quiet")
    assert run.code == 3
    assert run.stderr.splitlines() == [
        "mistral-lsp review: 1 error(s) while reviewing: the review is incomplete (the report lists them); "
        "exit 3 (--allow-partial judges by the findings alone)"]
    logged = cli(repo, "--format", "json", "--quiet", env={"MISTRAL_LSP_LOG_LEVEL": "warning"})
    assert re.search(r"WARNING lsp_server\.engines\.review: review of .* failed", logged.stderr)
    flagged = cli(repo, "--format", "json", "--quiet", "--log-level", "error",
                  env={"MISTRAL_LSP_LOG_LEVEL": "debug"})
    assert "WARNING" not in flagged.stderr and "DEBUG" not in flagged.stderr


def test_bad_arguments_print_the_reviews_usage(cli, repo: Path) -> None:
    for args in (("--bogus",), ("--format", "xml"), ("--concurrency", "lots")):
        run = cli(repo, *args)
        assert run.code == 2
        assert run.stderr.startswith("usage: mistral-lsp review ") and "mistral-lsp review: error:" in run.stderr


def test_configuration_errors_say_the_key_the_expectation_and_that_the_review_did_not_run(cli, repo: Path,
                                                                                         standin: StandIn) -> None:
    (repo / ".mistral-lsp.toml").write_text("[review]\nconcurency = 2\n")
    run = cli(repo, env={"MISTRAL_LSP_REVIEW_CONCURRENCY": "lots"})
    assert run.code == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        'mistral-lsp review: configuration error: environment: MISTRAL_LSP_REVIEW_CONCURRENCY = "lots": expected '
        "a whole number from 1 to 64",
        "mistral-lsp review: configuration error: .mistral-lsp.toml: unknown setting 'review.concurency' "
        "(did you mean 'review.concurrency'?)",
        "mistral-lsp review: the review did not run: fix the setting(s) above (exit 2)",
    ]
    assert standin.chat_requests() == []


def test_staged_with_named_files_reviews_unchanged_files_whole(cli, repo: Path, standin: StandIn) -> None:
    """What pre-commit passes: a commit's staged files (changed lines only), or with --files/--all-files
    files that have no staged change (reviewed whole, from the index)."""
    write(repo, {"src/other.py": "def other(x):\n    return x  # BUG\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "other")
    write(repo, {"src/app.py": APP.replace('return "hi " + name', 'return "hi " + name  # HMM')})
    git(repo, "add", "src/app.py")
    commit = cli(repo, "--staged", "--format", "json", "--fail-on", "never", "src/app.py")
    assert [(f["path"], f["line"]) for f in json.loads(commit.stdout)["findings"]] == [("src/app.py", 9)]
    named = cli(repo, "--staged", "--format", "json", "--fail-on", "never", "src/app.py", "src/other.py")
    assert [(f["path"], f["line"]) for f in json.loads(named.stdout)["findings"]] == [
        ("src/app.py", 9), ("src/other.py", 2)]
    write(repo, {"src/new.py": "def new():\n    pass  # BUG\n"})  # not added: not in the index
    untracked = cli(repo, "--staged", "--format", "json", "--fail-on", "never", "src/new.py")
    assert json.loads(untracked.stdout)["findings"] == []
    assert "src/new.py: not in the git index" in untracked.stderr
    assert os.environ.get("PRE_COMMIT") is None

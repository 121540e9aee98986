"""CI output formats, part 2: GitHub annotations, reviewdog rdjsonl, GitLab Code Quality, Markdown."""

from __future__ import annotations

import json
from dataclasses import replace

from lsp_server.core.findings import Finding, Severity, Span
from lsp_server.reporting import github, gitlab, markdown, rdjsonl
from lsp_server.reporting.report import Summary
from tests.unit.test_reporting import APP, UNICODE_LINE, X_BYTE, find, make_report, sample_findings, shifted_report


def errors(count: int, *, severity: Severity = Severity.ERROR) -> list[Finding]:
    return [Finding("src/many.py", Span(i, 0, i, 3), severity, "bug", f"problem {i}", f"q{i}") for i in range(count)]


def commands(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("::")]


# -- github -------------------------------------------------------------------------------------


def test_github_annotation_lines() -> None:
    out = github.render(make_report()).text
    assert commands(out) == [
        # the review is incomplete: said first, as an error annotation (it uses one of the 10 error slots)
        "::error title=mistral-lsp%3A review incomplete%3A 1 failure::These parts could not be reviewed:%0A"
        "src/x.py: model timeout",
        "::notice file=lib/util.py,line=1,endLine=1,col=1,endColumn=6,title=mistral-lsp%3A naming::x is a vague name",
        "::notice file=src/app.py,line=1,endLine=1,col=8,endColumn=10,title=mistral-lsp%3A unused-import::os is unused",
        "::error file=src/app.py,line=2,endLine=2,col=16,endColumn=17,title=mistral-lsp%3A division-by-zero"
        "::x is divided by zero",
        # a multi-line span: no columns (GitHub only uses them on one line)
        "::warning file=src/app.py,line=3,endLine=4,title=mistral-lsp%3A missing-annotation"
        "::f has no return annotation",
    ]
    assert out.splitlines()[-2:] == [
        "mistral-lsp: error: src/x.py: model timeout",
        "mistral-lsp: 4 findings (1 error, 1 warning, 1 info, 1 hint); review incomplete: 1 failure",
    ]


def test_github_escaping_of_data_and_properties() -> None:
    assert github.escape_data("100% a:b,c\r\nd") == "100%25 a:b,c%0D%0Ad"
    assert github.escape_property("100% a:b,c\r\nd") == "100%25 a%3Ab%2Cc%0D%0Ad"
    finding = Finding("src/we,ird:na%me.py", Span(0, 0, 0, 1), Severity.WARNING, "rule:x,y",
                      "50% sure: a, b\nsecond line\r\n::error::injected", "a")
    out = github.render(make_report(findings=[finding], sources={}, summary=Summary())).text
    assert commands(out) == [  # line breaks stay line breaks (%0A); a CR+LF is one break
        "::warning file=src/we%2Cird%3Ana%25me.py,line=1,endLine=1,col=1,endColumn=2,"
        "title=mistral-lsp%3A rule%3Ax%2Cy::50%25 sure: a, b%0Asecond line%0A::error::injected"
    ]


def test_github_caps_annotations_at_ten_per_level() -> None:
    findings = errors(12) + errors(3, severity=Severity.WARNING)
    findings = [replace(f, path="src/warn.py") if f.severity is Severity.WARNING else f for f in findings]
    rendered = github.render(make_report(findings=findings, sources={}, summary=Summary()))
    lines = commands(rendered.text)
    assert len([line for line in lines if line.startswith("::error ")]) == 10
    assert len([line for line in lines if line.startswith("::warning ")]) == 3  # other levels keep their own cap
    assert "problem 10" not in "\n".join(lines)
    assert "mistral-lsp: src/many.py:11:1: error bug problem 10" in rendered.text.splitlines()
    assert "mistral-lsp: src/many.py:12:1: error bug problem 11" in rendered.text.splitlines()
    # no step summary written in this run: the log line does not send the reader there
    assert "mistral-lsp: 2 findings not annotated (GitHub shows 10 per level): listed above\n" in rendered.text
    written = github.render(replace(make_report(findings=findings, sources={}, summary=Summary()), step_summary=True))
    assert ("mistral-lsp: 2 findings not annotated (GitHub shows 10 per level): listed above and in the step "
            "summary\n") in written.text
    summary = rendered.step_summary
    assert summary is not None
    assert "2 findings past GitHub's limit of 10 annotations per level are not annotated" in summary
    for i in range(12):
        assert f"| problem {i} |" in summary
    assert "15 findings" in summary


def test_github_step_summary_always_present() -> None:
    rendered = github.render(make_report(summary=Summary()))
    assert rendered.step_summary is not None
    assert rendered.step_summary.startswith("### mistral-lsp: 4 findings")
    assert "past GitHub's limit" not in rendered.step_summary
    incomplete = github.render(make_report()).step_summary
    assert incomplete is not None and incomplete.startswith("### mistral-lsp: ⚠️ review incomplete: 1 failure")


# -- rdjsonl ------------------------------------------------------------------------------------


def test_rdjsonl_one_diagnostic_per_line_with_byte_columns() -> None:
    out = rdjsonl.render(make_report()).text
    assert out.endswith("\n")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 5  # four findings, then the part that could not be reviewed
    assert rows[-1] == {"message": "mistral-lsp could not review this: model timeout", "severity": "ERROR",
                        "location": {"path": "src/x.py"}, "code": {"value": "review-incomplete"},
                        "source": {"name": "mistral-lsp", "url": "https://github.com/mistral-lsp/mistral-lsp"}}
    rows = rows[:-1]
    div = find(rows, "message", "x is divided by zero")
    assert div == {
        "message": "x is divided by zero",
        "location": {"path": "src/app.py", "range": {"start": {"line": 2, "column": 20},
                                                      "end": {"line": 2, "column": 21}}},
        "severity": "ERROR",
        "source": {"name": "mistral-lsp", "url": "https://github.com/mistral-lsp/mistral-lsp"},
        "code": {"value": "division-by-zero"},
    }
    # 1-based byte column: the 19 bytes before x are 15 characters (é is 2 bytes, 🙂 is 4)
    assert UNICODE_LINE.encode("utf-8")[div["location"]["range"]["start"]["column"] - 1:][:1] == b"x"
    assert {r["code"]["value"]: r["severity"] for r in rows} == {
        "division-by-zero": "ERROR", "missing-annotation": "WARNING", "unused-import": "INFO", "naming": "INFO"}


def test_rdjsonl_suggestions_are_linewise_replacements() -> None:
    rows = [json.loads(line) for line in rdjsonl.render(make_report()).text.splitlines()]
    ann = find(rows, "message", "f has no return annotation")
    assert ann["suggestions"] == [{"range": {"start": {"line": 3}, "end": {"line": 4}},
                                   "text": "def f() -> int:\n    return 1"}]
    unused = find(rows, "message", "os is unused")
    assert unused["suggestions"] == [{"range": {"start": {"line": 1}, "end": {"line": 1}}, "text": ""}]
    assert "suggestions" not in find(rows, "message", "x is divided by zero")

    def apply(lines: list[str], suggestion: dict) -> list[str]:  # reviewdog's linewise semantics
        start, end = suggestion["range"]["start"]["line"], suggestion["range"]["end"]["line"]
        text = suggestion["text"]
        return lines[:start - 1] + (text.split("\n") if text else []) + lines[end:]

    assert apply(APP, ann["suggestions"][0]) == ["import os", UNICODE_LINE, "def f() -> int:", "    return 1",
                                                 "print(f())"]
    assert apply(APP, unused["suggestions"][0]) == APP[1:]


# -- gitlab -------------------------------------------------------------------------------------


def test_gitlab_code_quality_issues() -> None:
    issues = json.loads(gitlab.render(make_report()).text)
    assert isinstance(issues, list) and len(issues) == 5
    failure = issues.pop()  # the part that could not be reviewed comes after the findings
    assert (failure["check_name"], failure["severity"], failure["location"]) == (
        "review-incomplete", "major", {"path": "src/x.py", "lines": {"begin": 1, "end": 1}})
    assert failure["description"] == "mistral-lsp could not review this: model timeout"
    div = find(issues, "check_name", "division-by-zero")
    assert div["description"] == "x is divided by zero"
    assert div["severity"] == "major"
    assert div["location"] == {"path": "src/app.py", "lines": {"begin": 2, "end": 2}}
    assert find(issues, "check_name", "missing-annotation")["location"]["lines"] == {"begin": 3, "end": 4}
    assert {i["check_name"]: i["severity"] for i in issues} == {
        "division-by-zero": "major", "missing-annotation": "minor", "unused-import": "info", "naming": "info"}
    assert all(i["severity"] in ("info", "minor", "major", "critical", "blocker") for i in issues)
    assert len({i["fingerprint"] for i in issues}) == 4


def test_gitlab_fingerprints_stable_and_unique() -> None:
    report = make_report()
    before = [i["fingerprint"] for i in json.loads(gitlab.render(report).text)]
    after = json.loads(gitlab.render(shifted_report(report, 5)).text)
    assert [i["fingerprint"] for i in after] == before
    assert find(after, "check_name", "division-by-zero")["location"]["lines"]["begin"] == 7
    twins = [sample_findings()[3], sample_findings()[3].shifted(1)]
    prints = [i["fingerprint"] for i in json.loads(gitlab.render(
        make_report(findings=twins, sources={"lib/util.py": ["x = 1", "x = 1"]}, summary=Summary())).text)]
    assert len(set(prints)) == 2
    assert prints[0] == before[0]  # the first of the twins is the same issue as before


# -- markdown -----------------------------------------------------------------------------------


def test_markdown_headline_table_and_footer() -> None:
    out = markdown.render(make_report()).text
    lines = out.splitlines()
    assert lines[0] == ("### mistral-lsp: ⚠️ review incomplete: 1 failure — 4 findings — 🔴 1 error · 🟠 1 warning · "
                        "🔵 1 info · ⚪ 1 hint")
    complete = markdown.render(make_report(summary=Summary(files=2))).text
    assert complete.splitlines()[0] == "### mistral-lsp: 4 findings — 🔴 1 error · 🟠 1 warning · 🔵 1 info · ⚪ 1 hint"
    assert "#### `src/app.py`" in lines and "#### `lib/util.py`" in lines
    assert lines.index("#### `lib/util.py`") < lines.index("#### `src/app.py`")
    assert "| `src/app.py:2` | 🔴 error | `division-by-zero` | x is divided by zero |" in lines
    assert "| `src/app.py:3` | 🟠 warning | `missing-annotation` | f has no return annotation |" in lines
    assert "<summary>1 file skipped</summary>" in lines and "- big.bin: binary file" in lines
    assert "<summary>⚠️ 1 failure: not reviewed</summary>" in lines and "- src/x.py: model timeout" in lines
    assert lines[lines.index("<summary>⚠️ 1 failure: not reviewed</summary>") - 1] == "<details open>"
    # no time and no cache counts: a warm run's comment is the cold run's
    assert lines[-1] == "<sub>mistral-lsp 0.1.0 · model `mistral-small-3.2` · 2 files · 5 units</sub>"
    assert "<details>\n<summary>src/app.py" not in out  # short list: not collapsed


def test_markdown_escapes_table_cells() -> None:
    finding = replace(sample_findings()[0], message="a | b\nc <details> & d", rule="x|y")
    out = markdown.render(make_report(findings=[finding])).text
    assert "| `src/app.py:2` | 🔴 error | `x\\|y` | a \\| b<br>c &lt;details&gt; &amp; d |" in out.splitlines()
    assert markdown.cell("back\\slash|") == "back\\\\slash\\|"
    assert markdown.code("a`b") == "``a`b``"


def test_markdown_no_findings_and_diff_note() -> None:
    out = markdown.render(make_report(findings=[], summary=Summary(diff_base="origin/main"))).text
    assert out.splitlines()[0] == "### mistral-lsp: No findings ✅"
    assert "_Note: only lines changed since origin/main were reviewed._" in out
    assert "| Location |" not in out


def test_markdown_collapses_long_lists() -> None:
    findings = errors(14) + [replace(f, path="src/b.py") for f in errors(3)]
    out = markdown.render(make_report(findings=findings, sources={})).text
    assert "<details>\n<summary>src/b.py (3 findings)</summary>" in out
    assert "<details>\n<summary>src/many.py (14 findings)</summary>" in out
    assert out.count("| problem 2 |") == 2
    short = markdown.render(make_report(findings=errors(3), sources={}, summary=Summary())).text
    assert "<details>" not in short and "#### `src/many.py`" in short


def test_byte_column_fixture_sanity() -> None:
    assert X_BYTE == 19 and len(UNICODE_LINE[:UNICODE_LINE.index("x")]) == 15


def test_markdown_stays_under_githubs_comment_limit_keeping_the_most_severe() -> None:
    severities = [Severity.ERROR] * 40 + [Severity.WARNING] * 200 + [Severity.INFO] * 300 + [Severity.HINT] * 47
    findings = [Finding(f"src/mod{i % 37}.py", Span(i, 0, i, 3), sev, f"rule-{i % 11}", f"problem {i}: " + "é🙂x" * 150,
                        "q") for i, sev in enumerate(severities)]
    report = make_report(findings=findings, sources={}, summary=Summary(files=37, units=587))
    whole = markdown.render_markdown(report, limit=10**9)
    assert markdown.size(whole) > 65_536  # what used to be posted, and refused
    out = markdown.render(report).text
    assert markdown.size(out) <= markdown.MAX_CHARS < 65_536
    assert out.startswith("### mistral-lsp: 587 findings")  # the headline counts everything
    shown = {int(line.split("problem ")[1].split(":")[0]) for line in out.splitlines() if "| problem " in line}
    assert set(range(40)) <= shown  # every error is there, then warnings, ...
    hidden = set(range(587)) - shown
    assert hidden and min(hidden) >= 40
    hidden_by = {sev: sum(1 for i in hidden if severities[i] is sev) for sev in Severity}
    assert not hidden_by[Severity.ERROR] and hidden_by[Severity.HINT] == 47
    parts = ", ".join(f"{n} {sev.value}" for sev, n in hidden_by.items() if n)
    assert f"_…and {len(hidden)} more findings not shown here ({parts}), to stay under GitHub's" in out
    assert "run `mistral-lsp review --format text`" in out
    linked = markdown.render(replace(report, full_report="[the workflow run](https://example.invalid/run/1)")).text
    assert "The full report: [the workflow run](https://example.invalid/run/1)._" in linked
    small = markdown.render(make_report()).text
    assert "more finding" not in small


def test_markdown_caps_long_failure_and_skipped_lists() -> None:
    summary = Summary(errors=tuple(f"src/f{i}.py: no findings JSON" for i in range(120)),
                      skipped=tuple(f"gen/g{i}.py: binary" for i in range(5000)))
    out = markdown.render(make_report(findings=[], summary=summary)).text
    assert out.startswith("### mistral-lsp: ⚠️ review incomplete: 120 failures — no findings in what was reviewed")
    assert "No findings ✅" not in out
    assert "- … and 70 more" in out and "- … and 4950 more" in out and markdown.size(out) < 20_000


def test_long_and_control_character_messages_are_capped_in_every_format() -> None:
    """A 100,000-character model message with escapes, NUL, bidi overrides and line breaks (issue 12 item 14)."""
    from lsp_server.core.findings import MAX_MESSAGE_CHARS
    from lsp_server.reporting.formats import FORMAT_NAMES, render

    evil = ("line one\x1b]8;;http://evil\x07 \u202eesrever\x00\r\nline two " + "x" * 100_000)
    finding = Finding("src/app.py", Span(1, 0, 1, 3), Severity.ERROR, "rule\x1b[31m" + "r" * 500, evil, "s =")
    assert len(finding.message) <= MAX_MESSAGE_CHARS and len(finding.rule) <= 60
    assert finding.message.startswith("line one]8;;http://evil esrever\nline two xxx")
    report = make_report(findings=[finding], summary=Summary())
    for name in FORMAT_NAMES:
        out = render(name, report).text
        assert len(out) < 8_000, name
        assert not any(ch in out for ch in "\x1b\x00\x07\u202e"), name
    assert "%0Aline two" in github.render(report).text

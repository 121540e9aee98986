"""CI output formats, part 1: shared helpers, text, json, sarif, the registry, determinism, empty reports.

The sample report has a finding after non-ASCII text (``é`` is 2 UTF-8 bytes,
``🙂`` is 4 bytes and 2 UTF-16 units), so character, UTF-16 and byte columns
all differ and are asserted exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from lsp_server.core.findings import Finding, LineFix, Severity, Span
from lsp_server.reporting import json_format, sarif, text
from lsp_server.reporting.common import (
    FINGERPRINT_KEY,
    convert_column,
    fingerprints,
    ordered_findings,
    position,
    whole_line_edit,
)
from lsp_server.reporting.formats import FORMAT_NAMES, FORMATS, render
from lsp_server.reporting.report import Report, Summary

UNICODE_LINE = 's = "héllo 🙂"; x = 1/0'
X_BYTE = UNICODE_LINE.encode("utf-8").index(b"x")  # 19: 15 chars before it, é +1 byte, 🙂 +3 bytes
APP = ["import os", UNICODE_LINE, "def f():", "    return 1", "print(f())"]
UTIL = ["x = 1"]


def sample_findings() -> list[Finding]:
    return [
        Finding("src/app.py", Span(1, X_BYTE, 1, X_BYTE + 1), Severity.ERROR, "division-by-zero",
                "x is divided by zero", "x", unit="module"),
        Finding("src/app.py", Span(2, 0, 3, 12), Severity.WARNING, "missing-annotation",
                "f has no return annotation", "def f():\n    return 1",
                LineFix(2, 3, "def f() -> int:\n    return 1", "def f():\n    return 1"), "function f"),
        Finding("src/app.py", Span(0, 7, 0, 9), Severity.INFO, "unused-import", "os is unused", "os",
                LineFix(0, 0, "", "import os")),
        Finding("lib/util.py", Span(0, 0, 0, 5), Severity.HINT, "naming", "x is a vague name", "x = 1"),
    ]


def make_report(findings: Sequence[Finding] | None = None, sources: dict[str, list[str]] | None = None,
                summary: Summary | None = None) -> Report:
    return Report(
        findings=tuple(sample_findings() if findings is None else findings),
        sources={"src/app.py": APP, "lib/util.py": UTIL} if sources is None else sources,
        summary=summary or Summary(files=2, units=5, cached=2, requests=3, elapsed_s=4.25,
                                   skipped=("big.bin: binary file",), errors=("src/x.py: model timeout",)),
        tool_version="0.1.0",
        model="mistral-small-3.2",
    )


def shifted_report(report: Report, lines: int) -> Report:
    """The same review after ``lines`` new lines were inserted at the top of every file."""
    sources = {path: ["# new"] * lines + list(src) for path, src in report.sources.items()}
    return replace(report, findings=tuple(f.shifted(lines) for f in report.findings), sources=sources)


def find(items: list[dict[str, Any]], key: str, value: Any) -> dict[str, Any]:
    [item] = [i for i in items if i[key] == value]
    return item


def utf16_offset(text: str, line1: int, col1: int) -> int:
    """The str index of a 1-based (line, UTF-16 column) position in ``text``."""
    lines = text.split("\n")
    offset = sum(len(line) + 1 for line in lines[:line1 - 1])
    units = 0
    for index, char in enumerate(lines[line1 - 1]):
        if units >= col1 - 1:
            return offset + index
        units += 2 if ord(char) > 0xFFFF else 1
    return offset + len(lines[line1 - 1])


def apply_sarif_fix(text: str, fix: dict[str, Any]) -> str:
    [change] = fix["artifactChanges"]
    [rep] = change["replacements"]
    region = rep["deletedRegion"]
    start = utf16_offset(text, region["startLine"], region["startColumn"])
    end = utf16_offset(text, region["endLine"], region["endColumn"])
    return text[:start] + rep["insertedContent"]["text"] + text[end:]


# -- shared helpers -----------------------------------------------------------------------------


def test_columns_convert_from_utf8_bytes() -> None:
    assert X_BYTE == 19
    assert convert_column(UNICODE_LINE, X_BYTE, "chars") == 15
    assert convert_column(UNICODE_LINE, X_BYTE, "utf16") == 16  # the emoji is a surrogate pair
    assert convert_column(UNICODE_LINE, X_BYTE, "bytes") == 19
    assert convert_column(None, 7, "utf16") == 7  # line unknown: the byte column
    assert convert_column("ab", 5, "chars") == 5  # past the end: length + excess bytes
    assert convert_column("é", 1, "chars") == 0  # inside a character: its start


def test_position_is_one_based_per_unit() -> None:
    report = make_report()
    finding = sample_findings()[0]
    pos = position(report, finding, "chars")
    assert (pos.line, pos.column, pos.end_line, pos.end_column) == (2, 16, 2, 17)
    utf16 = position(report, finding, "utf16")
    assert (utf16.column, utf16.end_column) == (17, 18)
    raw = position(report, finding, "bytes")
    assert (raw.column, raw.end_column) == (20, 21)


def test_span_ending_at_column_zero_ends_on_the_line_before() -> None:
    report = make_report()
    finding = Finding("src/app.py", Span(2, 0, 4, 0), Severity.INFO, "r", "m", "def f():\n    return 1\n")
    pos = position(report, finding, "chars")
    assert (pos.line, pos.column, pos.end_line, pos.end_column) == (3, 1, 4, 13)


def test_whole_line_edits_apply_exactly() -> None:
    src = ["a", "b", "c"]
    report = make_report(findings=[], sources={"f": src})
    text_ = "\n".join(src)

    def apply(fix: LineFix) -> str:
        e = whole_line_edit(report, "f", fix)
        offsets = [sum(len(x) + 1 for x in src[:line]) + col for line, col in
                   ((e.start_line, e.start_col), (e.end_line, e.end_col))]
        return text_[:offsets[0]] + e.text + text_[offsets[1]:]

    assert apply(LineFix(1, 1, "B1\nB2", "b")) == "a\nB1\nB2\nc"
    assert apply(LineFix(0, 0, "", "a")) == "b\nc"
    assert apply(LineFix(1, 1, "", "b")) == "a\nc"
    assert apply(LineFix(2, 2, "C", "c")) == "a\nb\nC"  # last line: no next line to end at
    assert apply(LineFix(1, 2, "", "b\nc")) == "a"  # deleting the last lines eats the newline before
    unknown = whole_line_edit(make_report(findings=[], sources={}), "f", LineFix(3, 4, "x", "ab\ncdé"))
    assert (unknown.start_line, unknown.start_col, unknown.end_line, unknown.end_col, unknown.text) == \
        (3, 0, 4, 4, "x")  # end of line E from the fix's original text (é is 2 bytes)


def test_fingerprints_survive_line_shifts_and_tell_findings_apart() -> None:
    report = make_report()
    moved = shifted_report(report, 5)
    before = fingerprints(report, ordered_findings(report))
    after = fingerprints(moved, ordered_findings(moved))
    assert before == after
    assert position(moved, ordered_findings(moved)[0], "chars").line == \
        position(report, ordered_findings(report)[0], "chars").line + 5
    assert len(set(before)) == len(before) == 4
    assert all(len(fp) == 32 and int(fp, 16) >= 0 for fp in before)


def test_identical_findings_get_distinct_stable_fingerprints() -> None:
    twin = Finding("lib/util.py", Span(0, 0, 0, 5), Severity.HINT, "naming", "x is a vague name", "x = 1")
    sources = {"lib/util.py": ["x = 1", "x = 1"]}
    pair = [twin, twin.shifted(1)]
    report = make_report(findings=pair, sources=sources)
    first = fingerprints(report, ordered_findings(report))
    assert first[0] != first[1]
    moved = shifted_report(report, 5)
    assert fingerprints(moved, ordered_findings(moved)) == first
    # the rule and whitespace-normalised quote are part of it; the message and line are not
    other_rule = make_report(findings=[replace(twin, rule="other")], sources=sources)
    assert fingerprints(other_rule, list(other_rule.findings))[0] != first[0]
    reworded = make_report(findings=[replace(twin, message="new words", quote="x  =\t1")], sources=sources)
    assert fingerprints(reworded, list(reworded.findings))[0] == first[0]


# -- text ---------------------------------------------------------------------------------------


def test_text_lines_grouped_by_file_with_character_columns() -> None:
    out = text.render(make_report()).text
    lines = out.split("\n")
    assert lines[:5] == [
        "lib/util.py:1:1: hint naming x is a vague name",
        "",
        "src/app.py:1:8: info unused-import os is unused",
        "src/app.py:2:16: error division-by-zero x is divided by zero",
        "src/app.py:3:1: warning missing-annotation f has no return annotation",
    ]
    assert "\x1b[" not in out


def test_text_summary_block() -> None:
    summary = Summary(files=2, units=5, cached=2, requests=3, elapsed_s=12.34,
                      skipped=("a.bin: binary", "b.min.js: too large"),
                      errors=("src/x.py: model timeout",), diff_base="origin/main")
    out = text.render(make_report(summary=summary)).text
    assert "  files: 2  units: 5  cached: 2  requests: 3\n" in out
    assert "  findings: 4 (error: 1, warning: 1, info: 1, hint: 1)\n" in out
    assert "  time: 12.3s  model: mistral-small-3.2\n" in out
    assert "  note: only lines changed since origin/main were reviewed\n" in out
    assert "  skipped (2):\n    a.bin: binary\n    b.min.js: too large\n" in out
    assert "  errors (1):\n    src/x.py: model timeout\n" in out
    assert out.endswith("\n")
    staged = text.render(make_report(summary=Summary(diff_base="staged"))).text
    assert "only staged changes were reviewed" in staged
    assert "note:" not in text.render(make_report(summary=Summary())).text


def test_text_color_only_when_asked_and_messages_stay_on_one_line() -> None:
    finding = replace(sample_findings()[0], message="line one\nline two\x1b[2J")
    assert finding.message == "line one\nline two[2J"  # control characters go when the finding is made
    plain = text.render(make_report(findings=[finding])).text
    assert plain.split("\n")[0] == "src/app.py:2:16: error division-by-zero line one line two[2J"
    colored = text.render(make_report(findings=[finding]), color=True).text
    assert "\x1b[31merror\x1b[0m" in colored
    assert "\x1b[1msrc/app.py:2:16:\x1b[0m" in colored


# -- json ---------------------------------------------------------------------------------------


def test_json_fields() -> None:
    doc = json.loads(json_format.render(make_report()).text)
    assert doc["version"] == "0.1.0"
    assert doc["model"] == "mistral-small-3.2"
    assert [f["rule"] for f in doc["findings"]] == ["naming", "unused-import", "division-by-zero", "missing-annotation"]
    div = find(doc["findings"], "rule", "division-by-zero")
    assert {k: div[k] for k in ("path", "line", "column", "end_line", "end_column")} == \
        {"path": "src/app.py", "line": 2, "column": 16, "end_line": 2, "end_column": 17}
    assert (div["severity"], div["message"], div["quote"], div["unit"], div["fix"]) == \
        ("error", "x is divided by zero", "x", "module", None)
    ann = find(doc["findings"], "rule", "missing-annotation")
    assert ann["fix"] == {"start_line": 3, "end_line": 4, "replacement": "def f() -> int:\n    return 1"}
    assert (ann["line"], ann["end_line"], ann["end_column"]) == (3, 4, 13)
    assert doc["summary"] == {
        "files": 2, "units": 5, "findings": 4, "complete": False,
        "by_severity": {"error": 1, "warning": 1, "info": 1, "hint": 1},
        "skipped": ["big.bin: binary file"], "errors": ["src/x.py: model timeout"], "diff_base": None,
    }
    assert doc["run"] == {"cached": 2, "requests": 3, "elapsed_s": 4.25}  # what differs from run to run
    complete = json.loads(json_format.render(make_report(summary=Summary(files=1))).text)
    assert complete["summary"]["complete"] is True and complete["summary"]["errors"] == []


# -- sarif --------------------------------------------------------------------------------------


def check_sarif_structure(log: dict[str, Any]) -> None:
    """The SARIF 2.1.0 properties GitHub code scanning requires, and their types."""
    assert log["version"] == "2.1.0"
    assert log["$schema"] in (
        "https://json.schemastore.org/sarif-2.1.0.json",
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
    )
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert isinstance(driver["name"], str) and driver["name"]
    assert isinstance(driver["version"], str) and driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({r["id"] for r in rules})
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("none", "note", "warning", "error")
    assert run["columnKind"] in ("utf16CodeUnits", "unicodeCodePoints")
    assert isinstance(run["results"], list) and len(run["results"]) <= 25_000
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("none", "note", "warning", "error")
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        assert 1 <= len(result["locations"]) <= 1000
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] and not physical["artifactLocation"]["uri"].startswith("/")
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
        assert all(isinstance(v, str) and v for v in result["partialFingerprints"].values())
        for fix in result.get("fixes", []):
            assert fix["description"]["text"]
            for change in fix["artifactChanges"]:
                assert change["artifactLocation"]["uri"]
                for rep in change["replacements"]:
                    assert rep["deletedRegion"]["startLine"] >= 1 and "text" in rep["insertedContent"]


def test_sarif_structure_levels_and_rules() -> None:
    log = json.loads(sarif.render(make_report()).text)
    check_sarif_structure(log)
    run = log["runs"][0]
    assert run["columnKind"] == "utf16CodeUnits"
    assert run["tool"]["driver"]["name"] == "mistral-lsp" and run["tool"]["driver"]["version"] == "0.1.0"
    assert [(r["id"], r["defaultConfiguration"]["level"]) for r in run["tool"]["driver"]["rules"]] == [
        ("division-by-zero", "error"), ("missing-annotation", "warning"), ("naming", "note"), ("unused-import", "note")]
    assert {r["ruleId"]: r["level"] for r in run["results"]} == {
        "division-by-zero": "error", "missing-annotation": "warning", "unused-import": "note", "naming": "note"}
    assert run["invocations"] == [{"executionSuccessful": False, "toolExecutionNotifications": [
        {"level": "error", "message": {"text": "src/x.py: model timeout"}, "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": "src/x.py", "uriBaseId": "%SRCROOT%"}}}]},
        {"level": "note", "message": {"text": "skipped big.bin: binary file"}}]}]


def test_sarif_region_uses_utf16_columns() -> None:
    run = json.loads(sarif.render(make_report()).text)["runs"][0]
    div = find(run["results"], "ruleId", "division-by-zero")
    physical = div["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "src/app.py", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 2, "startColumn": 17, "endLine": 2, "endColumn": 18,
                                  "snippet": {"text": "x"}}
    assert div["message"] == {"text": "x is divided by zero"}
    assert "fixes" not in div
    assert "%SRCROOT%" in run["originalUriBaseIds"]


def test_sarif_fixes_replace_whole_lines_exactly() -> None:
    run = json.loads(sarif.render(make_report()).text)["runs"][0]
    ann = find(run["results"], "ruleId", "missing-annotation")
    [fix] = ann["fixes"]
    assert fix == {
        "description": {"text": "Replace lines 3-4"},
        "artifactChanges": [{
            "artifactLocation": {"uri": "src/app.py", "uriBaseId": "%SRCROOT%"},
            "replacements": [{
                "deletedRegion": {"startLine": 3, "startColumn": 1, "endLine": 5, "endColumn": 1},
                "insertedContent": {"text": "def f() -> int:\n    return 1\n"},
            }],
        }],
    }
    source = "\n".join(APP)
    assert apply_sarif_fix(source, fix) == source.replace("def f():", "def f() -> int:")
    unused = find(run["results"], "ruleId", "unused-import")
    assert unused["fixes"][0]["description"]["text"] == "Delete line 1"
    assert apply_sarif_fix(source, unused["fixes"][0]) == "\n".join(APP[1:])


def test_sarif_fix_on_last_line_after_non_ascii_text() -> None:
    finding = Finding("f.py", Span(1, X_BYTE, 1, X_BYTE + 1), Severity.ERROR, "r", "m", "x",
                      LineFix(1, 1, "y = 0", UNICODE_LINE))
    report = make_report(findings=[finding], sources={"f.py": ["a = 1", UNICODE_LINE]})
    [fix] = json.loads(sarif.render(report).text)["runs"][0]["results"][0]["fixes"]
    region = fix["artifactChanges"][0]["replacements"][0]["deletedRegion"]
    assert region == {"startLine": 2, "startColumn": 1, "endLine": 2, "endColumn": 24}  # 23 UTF-16 units
    assert apply_sarif_fix("a = 1\n" + UNICODE_LINE, fix) == "a = 1\ny = 0"


def test_sarif_fingerprints_stable_across_line_shifts() -> None:
    report = make_report()
    results = json.loads(sarif.render(report).text)["runs"][0]["results"]
    moved = json.loads(sarif.render(shifted_report(report, 5)).text)["runs"][0]["results"]
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]
    assert prints == [r["partialFingerprints"][FINGERPRINT_KEY] for r in moved]
    assert len(set(prints)) == 4
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved] == \
        [r["locations"][0]["physicalLocation"]["region"]["startLine"] + 5 for r in results]


def test_sarif_uri_is_percent_encoded_relative() -> None:
    finding = replace(sample_findings()[3], path="docs/my file ü.py")
    run = json.loads(sarif.render(make_report(findings=[finding], sources={})).text)["runs"][0]
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "docs/my%20file%20%C3%BC.py"


# -- registry, determinism, empty reports, no LSP imports ---------------------------------------


def test_registry_names_and_dispatch() -> None:
    assert FORMAT_NAMES == ("text", "json", "sarif", "github", "rdjsonl", "gitlab", "markdown")
    assert render("json", make_report()).text == json_format.render(make_report()).text
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render("xml", make_report())
    with pytest.raises(TypeError):
        FORMATS["xml"] = text.render  # type: ignore[index]


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_every_format_is_deterministic_and_order_independent(name: str) -> None:
    report = make_report()
    first = render(name, report)
    assert render(name, make_report()) == first
    assert render(name, replace(report, findings=tuple(reversed(report.findings)))) == first
    assert first.text.endswith("\n")


def test_empty_report_in_every_format() -> None:
    empty = make_report(findings=[], sources={}, summary=Summary())
    assert text.render(empty).text.startswith("No findings.\n")
    doc = json.loads(render("json", empty).text)
    assert doc["findings"] == [] and doc["summary"]["findings"] == 0
    log = json.loads(render("sarif", empty).text)
    check_sarif_structure(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
    github = render("github", empty)
    assert not [line for line in github.text.splitlines() if line.startswith("::")]
    assert github.text.endswith("mistral-lsp: no findings\n")
    assert github.step_summary is not None and "No findings" in github.step_summary
    assert render("rdjsonl", empty).text == ""
    assert render("gitlab", empty).text == "[]\n"
    assert "No findings" in render("markdown", empty).text


def test_reporting_does_not_import_lsp_libraries() -> None:
    code = ("import sys, lsp_server.reporting.formats; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sarif_fix_without_sources_uses_the_fix_original_text() -> None:
    finding = Finding("gone.py", Span(0, 0, 0, 1), Severity.WARNING, "r", "m", "s",
                      LineFix(0, 0, "t = 1", UNICODE_LINE))
    [fix] = json.loads(sarif.render(make_report(findings=[finding], sources={})).text)["runs"][0]["results"][0]["fixes"]
    assert fix["artifactChanges"][0]["replacements"][0] == {
        "deletedRegion": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 24},
        "insertedContent": {"text": "t = 1"},
    }

"""Tolerant parsing of review answers: strict JSON, fences, prose, truncation, bad items."""

from __future__ import annotations

import json

from lsp_server.model.findings import (
    FINDINGS_SCHEMA,
    MAX_MESSAGE_CHARS,
    ReportedFix,
    parse_findings,
    response_format,
)

GOOD = {"line": 3, "quote": "x[i]", "severity": "error", "rule": "off-by-one", "message": "Past the end.",
        "fix": {"start_line": 3, "end_line": 3, "replacement": "    return x[i - 1]"}}
OTHER = {"line": 7, "quote": "open(p)", "severity": "warning", "rule": "unclosed-file", "message": "Leaks.",
         "fix": None}


def answer(*items: dict) -> str:
    return json.dumps({"findings": list(items)})


def test_schema_is_strict_and_matches_the_issue() -> None:
    fmt = response_format()
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    item = FINDINGS_SCHEMA["properties"]["findings"]["items"]
    assert item["required"] == ["line", "quote", "severity", "rule", "message", "fix"]
    assert item["properties"]["severity"]["enum"] == ["error", "warning", "info", "hint"]
    fix = item["properties"]["fix"]["anyOf"]
    assert fix[1] == {"type": "null"} and fix[0]["required"] == ["start_line", "end_line", "replacement"]
    assert item["additionalProperties"] is False and FINDINGS_SCHEMA["additionalProperties"] is False


def test_clean_json() -> None:
    parsed = parse_findings(answer(GOOD, OTHER))
    assert [f.line for f in parsed.findings] == [3, 7] and not parsed.salvaged and not parsed.problems
    assert parsed.findings[0].fix == ReportedFix(3, 3, "    return x[i - 1]")
    assert parsed.findings[1].fix is None


def test_fenced_json_with_prose_around_it() -> None:
    text = "Here is my review:\n```json\n" + answer(GOOD) + "\n```\nLet me know if you need more."
    parsed = parse_findings(text)
    assert [f.rule for f in parsed.findings] == ["off-by-one"] and parsed.salvaged


def test_trailing_prose_without_fence_and_a_bare_list() -> None:
    assert len(parse_findings(answer(GOOD) + "\n\nHope this helps! {not json}").findings) == 1
    assert len(parse_findings("[Note] " + json.dumps([GOOD, OTHER])).findings) == 2


def test_truncated_answer_keeps_the_complete_findings() -> None:
    text = answer(GOOD, OTHER, GOOD)
    cut = text[: text.rindex('"message"')]  # the third finding is cut off mid-way
    parsed = parse_findings(cut)
    assert [f.line for f in parsed.findings] == [3, 7] and parsed.salvaged
    assert parse_findings('{"findings": [').findings == []
    assert parse_findings('```json\n{"findings": [' + json.dumps(GOOD)).findings[0].line == 3


def test_garbage_gives_no_findings_and_no_error() -> None:
    for text in ("", "I found no problems.", "{", "null", '{"other": 1}', "[1, 2]", '{"findings": "none"}'):
        parsed = parse_findings(text)
        assert parsed.findings == [] and parsed.problems


def test_bad_items_are_dropped_and_good_ones_kept() -> None:
    items = [
        GOOD,
        {**OTHER, "line": 0},
        {**OTHER, "line": -4},
        {**OTHER, "line": "seven"},
        {**OTHER, "line": True},
        {**OTHER, "quote": ""},
        {**OTHER, "quote": 42},
        {**OTHER, "message": None},
        {**OTHER, "quote": "q" * 5000},
        "not an object",
        {**OTHER, "line": "7", "severity": "CRITICAL", "rule": "Resource Leak!"},
        {**OTHER, "line": 7.0, "severity": 3, "rule": None},
    ]
    parsed = parse_findings(json.dumps({"findings": items}))
    assert [f.line for f in parsed.findings] == [3, 7, 7]
    assert parsed.findings[1].severity == "error" and parsed.findings[1].rule == "resource-leak"
    assert parsed.findings[2].severity == "warning" and parsed.findings[2].rule == "ai-review"
    assert parsed.dropped == 9


def test_bad_fixes_are_dropped_but_the_finding_kept() -> None:
    bad_fixes = [
        {"start_line": 5, "end_line": 2, "replacement": "x"},
        {"start_line": 0, "end_line": 1, "replacement": "x"},
        {"start_line": 1, "end_line": 1, "replacement": 7},
        "replace it",
        {"start_line": 1, "end_line": 1000, "replacement": "x"},
    ]
    parsed = parse_findings(json.dumps({"findings": [{**GOOD, "fix": fix} for fix in bad_fixes]}))
    assert len(parsed.findings) == 5 and all(f.fix is None for f in parsed.findings)
    assert parsed.dropped_fixes == 5 and parsed.dropped == 0


def test_huge_messages_are_capped_and_whitespace_collapsed() -> None:
    parsed = parse_findings(answer({**GOOD, "message": "word\n\n  " * 1000}))
    message = parsed.findings[0].message
    assert len(message) <= MAX_MESSAGE_CHARS and message.endswith("…")
    assert message.startswith("word\nword\n") and "\n\n" not in message and "  " not in message


def test_messages_keep_line_breaks_and_lose_control_characters() -> None:
    raw = "first line\r\n\tsecond\x1b[2J line\u202e\x00\n\n\nthird\u2028fourth"
    parsed = parse_findings(answer({**GOOD, "message": raw, "rule": "bad\x07 rule\n" + "x" * 500}))
    finding = parsed.findings[0]
    assert finding.message == "first line\nsecond[2J line\nthird\nfourth"
    assert finding.rule.startswith("bad-rule-x") and len(finding.rule) <= 60
    only_controls = parse_findings(answer({**GOOD, "message": "\x1b\x00\u202e"}))
    assert only_controls.findings == [] and only_controls.dropped == 1


def test_answers_without_a_findings_verdict_are_failures() -> None:
    for text in ("Sure! Here is my review: looks fine.", "", "{}", '{"result": "ok"}', 'no "findings" here [1]',
                 '{"findings": [', '{"findings": [{"line": 2, "quo'):
        parsed = parse_findings(text)
        assert parsed.failure and parsed.findings == [], text
    cut = parse_findings('{"findings": [' + json.dumps(GOOD) + ', {"line": 9, "quo')
    assert cut.how == "truncated" and len(cut.findings) == 1 and cut.failure == ""
    for text in ('{"findings": []}', "[]", 'Here you go: {"findings": []} done', "```json\n[]\n```"):
        assert parse_findings(text).failure == "", text


def test_replacement_line_endings_are_normalised() -> None:
    fix = {"start_line": 1, "end_line": 2, "replacement": "a\r\nb\n"}
    assert parse_findings(answer({**GOOD, "fix": fix})).findings[0].fix.replacement == "a\nb"


def test_too_many_findings_are_capped() -> None:
    parsed = parse_findings(answer(*[GOOD] * 80))
    assert len(parsed.findings) == 50 and parsed.dropped == 30

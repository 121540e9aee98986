"""The ``sarif`` format: a SARIF 2.1.0 log with one run, for GitHub code scanning and other viewers.

Columns are UTF-16 code units (``run.columnKind = "utf16CodeUnits"``, SARIF's
default), converted from the findings' UTF-8 byte columns with ``report.sources``.
Lines are LSP's: a lone ``\\r`` ends a line too, which ``run.newlineSequences`` says
(SARIF's default is ``\\r\\n`` and ``\\n`` only).
URIs are relative to ``%SRCROOT%`` (the repository root). Each result carries a
line-independent ``partialFingerprints["mistralLsp/v1"]``; a finding with a fix
carries a ``fixes`` entry whose ``deletedRegion`` covers exactly the replaced
whole lines (see ``common.whole_line_edit``). A unit that could not be reviewed is
an ``error`` tool execution notification (with its file as location) and makes
``executionSuccessful`` false; a skipped file is a ``note``. No timestamps or
counters: equal reports give equal bytes.
"""

from __future__ import annotations

import re

from typing import Any
from urllib.parse import quote as url_quote

from lsp_server.core.findings import Finding, LineFix
from lsp_server.reporting.common import (
    FINGERPRINT_KEY,
    convert_column,
    display_path,
    dump_json,
    fingerprints,
    line_text,
    ordered_findings,
    position,
    sarif_level,
    split_note,
    whole_line_edit,
)
from lsp_server.reporting.report import Report, Rendered

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
NEWLINE_SEQUENCES = ("\r\n", "\n", "\r")  # as LSP and the findings count lines


def artifact_uri(path: str) -> str:
    """A repository-relative path as a relative URI reference (percent-encoded)."""
    return url_quote(display_path(path), safe="/")


def _artifact(path: str) -> dict[str, str]:
    return {"uri": artifact_uri(path), "uriBaseId": SRCROOT}


def _rules(report: Report, findings: list[Finding]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    worst: dict[str, Finding] = {}
    for finding in findings:
        known = worst.get(finding.rule)
        if known is None or finding.severity.rank < known.severity.rank:
            worst[finding.rule] = finding
    rules = []
    for rule_id in sorted(worst):
        words = rule_id.replace("-", " ").replace("_", " ").strip() or rule_id
        name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_\s]+", rule_id) if part)
        rules.append({
            "id": rule_id,
            **({"name": name} if name and name != rule_id else {}),  # SARIF1001: a name differs from its id
            "shortDescription": {"text": words[:1].upper() + words[1:]},
            "fullDescription": {"text": f"{report.tool_name} AI review finding: {words}."},
            # GitHub code scanning requires a help object on every rule (GH2012)
            "help": {
                "text": f"{words[:1].upper() + words[1:]}: a problem found by {report.tool_name}'s AI review "
                        f"({report.model or 'the configured model'}). Read the finding's message; apply its "
                        "fix if one is offered.",
                "markdown": f"**{rule_id}**: a problem found by {report.tool_name}'s AI review "
                            f"(`{report.model or 'the configured model'}`). Read the finding's message; apply "
                            "its fix if one is offered.",
            },
            "defaultConfiguration": {"level": sarif_level(worst[rule_id].severity)},
            "properties": {"tags": ["ai-review"]},
        })
    return rules, {rule["id"]: index for index, rule in enumerate(rules)}


def _fix(report: Report, finding: Finding, fix: LineFix) -> dict[str, Any]:
    edit = whole_line_edit(report, finding.path, fix)

    original = fix.original.split("\n")

    def column(line: int, byte_col: int) -> int:
        text = line_text(report, finding.path, line)
        if text is None and 0 <= line - fix.start_line < len(original):
            text = original[line - fix.start_line]
        return convert_column(text, byte_col, "utf16") + 1

    first, last = fix.start_line + 1, fix.end_line + 1
    what = f"line {first}" if first == last else f"lines {first}-{last}"
    return {
        "description": {"text": f"{'Replace' if fix.replacement else 'Delete'} {what}"},
        "artifactChanges": [{
            "artifactLocation": _artifact(finding.path),
            "replacements": [{
                "deletedRegion": {
                    "startLine": edit.start_line + 1,
                    "startColumn": column(edit.start_line, edit.start_col),
                    "endLine": edit.end_line + 1,
                    "endColumn": column(edit.end_line, edit.end_col),
                },
                "insertedContent": {"text": edit.text},
            }],
        }],
    }


def _result(report: Report, finding: Finding, rule_index: int, fingerprint: str) -> dict[str, Any]:
    pos = position(report, finding, "utf16")
    region: dict[str, Any] = {
        "startLine": pos.line,
        "startColumn": pos.column,
        "endLine": pos.end_line,
        "endColumn": pos.end_column,
    }
    if finding.quote:
        region["snippet"] = {"text": finding.quote}
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": sarif_level(finding.severity),
        "message": {"text": finding.message or finding.rule},
        "locations": [{"physicalLocation": {"artifactLocation": _artifact(finding.path), "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {"severity": finding.severity.value, "unit": finding.unit},
    }
    if finding.fix is not None:
        result["fixes"] = [_fix(report, finding, finding.fix)]
    return result


def _notification(level: str, note: str) -> dict[str, Any]:
    notification: dict[str, Any] = {"level": level, "message": {"text": note}}
    path, _ = split_note(note)
    if path:
        notification["locations"] = [{"physicalLocation": {"artifactLocation": _artifact(path)}}]
    return notification


def render(report: Report, *, color: bool = False) -> Rendered:
    findings = ordered_findings(report)
    rules, index = _rules(report, findings)
    prints = fingerprints(report, findings)
    summary = report.summary
    notifications = [_notification("error", e) for e in summary.errors]
    notifications += [{"level": "note", "message": {"text": f"skipped {s}"}} for s in summary.skipped]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": report.tool_name,
            "version": report.tool_version,
            "informationUri": report.tool_uri,
            "rules": rules,
        }},
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The root of the reviewed repository."}}},
        "columnKind": "utf16CodeUnits",
        "newlineSequences": list(NEWLINE_SEQUENCES),
        "invocations": [{"executionSuccessful": not summary.errors, "toolExecutionNotifications": notifications}],
        "results": [_result(report, f, index[f.rule], fp) for f, fp in zip(findings, prints, strict=True)],
    }
    properties = {"model": report.model} if report.model else {}
    if summary.diff_base is not None:
        properties["diffBase"] = summary.diff_base
    if properties:
        run["properties"] = properties
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return Rendered(dump_json(log) + "\n")

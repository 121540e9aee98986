"""The ``rdjsonl`` format: reviewdog Diagnostic Format, one ``Diagnostic`` JSON object per line.

Field names follow reviewdog's ``proto/rdf/reviewdog.proto``: positions are
1-based lines and 1-based columns counted in UTF-8 bytes, ranges end-exclusive.
A whole-line fix becomes a suggestion with a *linewise* range (start and end
lines, no columns: lines L..E including the end line), whose text is the
replacement lines without a trailing newline ("" deletes them) -- the form
reviewdog turns into a GitHub ``suggestion`` block. A part that could not be
reviewed (``summary.errors``) is an ``ERROR`` diagnostic with code
``review-incomplete`` on its file (no range), after the findings.
"""

from __future__ import annotations

from typing import Any

from lsp_server.core.findings import Finding
from lsp_server.reporting.common import (
    INCOMPLETE_RULE,
    display_path,
    dump_json,
    ordered_findings,
    position,
    rdf_severity,
    split_note,
)
from lsp_server.reporting.report import Report, Rendered


def diagnostic(report: Report, finding: Finding) -> dict[str, Any]:
    pos = position(report, finding, "bytes")
    result: dict[str, Any] = {
        "message": finding.message or finding.rule,
        "location": {
            "path": display_path(finding.path),
            "range": {
                "start": {"line": pos.line, "column": pos.column},
                "end": {"line": pos.end_line, "column": pos.end_column},
            },
        },
        "severity": rdf_severity(finding.severity),
        "source": {"name": report.tool_name, "url": report.tool_uri},
        "code": {"value": finding.rule},
    }
    if finding.fix is not None:
        fix = finding.fix
        result["suggestions"] = [{
            "range": {"start": {"line": fix.start_line + 1}, "end": {"line": fix.end_line + 1}},
            "text": fix.replacement,
        }]
    return result


def failure(report: Report, note: str) -> dict[str, Any]:
    path, reason = split_note(note)
    result: dict[str, Any] = {
        "message": f"{report.tool_name} could not review this: {reason}",
        "severity": "ERROR",
        "source": {"name": report.tool_name, "url": report.tool_uri},
        "code": {"value": INCOMPLETE_RULE},
    }
    if path:
        result["location"] = {"path": display_path(path)}
    return result


def render(report: Report, *, color: bool = False) -> Rendered:
    lines = [dump_json(diagnostic(report, f), indent=None) for f in ordered_findings(report)]
    lines += [dump_json(failure(report, note), indent=None) for note in report.summary.errors]
    return Rendered("".join(line + "\n" for line in lines))

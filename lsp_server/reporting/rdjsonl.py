"""The ``rdjsonl`` format: reviewdog Diagnostic Format, one ``Diagnostic`` JSON object per line.

Field names follow reviewdog's ``proto/rdf/reviewdog.proto``: positions are
1-based lines and 1-based columns counted in UTF-8 bytes, ranges end-exclusive.
A whole-line fix becomes a suggestion with a *linewise* range (start and end
lines, no columns: lines L..E including the end line), whose text is the
replacement lines without a trailing newline ("" deletes them) -- the form
reviewdog turns into a GitHub ``suggestion`` block.
"""

from __future__ import annotations

from typing import Any

from lsp_server.core.findings import Finding
from lsp_server.reporting.common import display_path, dump_json, ordered_findings, position, rdf_severity
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


def render(report: Report, *, color: bool = False) -> Rendered:
    lines = [dump_json(diagnostic(report, f), indent=None) for f in ordered_findings(report)]
    return Rendered("".join(line + "\n" for line in lines))

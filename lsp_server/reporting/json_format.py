"""The ``json`` format: one JSON object with the tool version, model, findings and summary.

Lines are 1-based, columns 1-based in characters (end exclusive); a fix is
``{start_line, end_line}`` (1-based, inclusive) plus the replacement text.
``summary.complete`` is false when some units could not be reviewed (``summary.errors``
says which). Keys are sorted and the output is ASCII; everything but the ``run``
object (cache hits, model requests, seconds: they differ between a cold and a warm
run) depends only on what was reviewed and found, so equal reviews give equal bytes there.
"""

from __future__ import annotations

from typing import Any

from lsp_server.core.findings import Finding
from lsp_server.reporting.common import display_path, dump_json, fingerprints, ordered_findings, position
from lsp_server.reporting.report import Report, Rendered


def _finding(report: Report, finding: Finding, fingerprint: str) -> dict[str, Any]:
    pos = position(report, finding, "chars")
    fix = finding.fix
    return {
        "path": display_path(finding.path),
        "line": pos.line,
        "column": pos.column,
        "end_line": pos.end_line,
        "end_column": pos.end_column,
        "severity": finding.severity.value,
        "rule": finding.rule,
        "message": finding.message,
        "quote": finding.quote,
        "unit": finding.unit,
        "fingerprint": fingerprint,
        "fix": None if fix is None else {
            "start_line": fix.start_line + 1,
            "end_line": fix.end_line + 1,
            "replacement": fix.replacement,
        },
    }


def summary_dict(report: Report) -> dict[str, Any]:
    s = report.summary
    return {
        "files": s.files,
        "units": s.units,
        "findings": len(report.findings),
        "by_severity": {sev.value: n for sev, n in report.by_severity().items()},
        "complete": report.complete,
        "skipped": list(s.skipped),
        "errors": list(s.errors),
        "diff_base": s.diff_base,
    }


def run_dict(report: Report) -> dict[str, Any]:
    """What this run cost; differs between runs of the same review."""
    s = report.summary
    return {"cached": s.cached, "requests": s.requests, "elapsed_s": round(s.elapsed_s, 3)}


def render(report: Report, *, color: bool = False) -> Rendered:
    findings = ordered_findings(report)
    prints = fingerprints(report, findings)
    document = {
        "tool": report.tool_name,
        "version": report.tool_version,
        "model": report.model,
        "findings": [_finding(report, f, fp) for f, fp in zip(findings, prints, strict=True)],
        "summary": summary_dict(report),
        "run": run_dict(report),
    }
    return Rendered(dump_json(document) + "\n")

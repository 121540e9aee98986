"""The ``gitlab`` format: a GitLab Code Quality report (a JSON array of issues).

Each issue has ``description``, ``check_name``, ``fingerprint`` (the same
line-independent scheme as SARIF, unique per issue), ``severity`` (error ->
major, warning -> minor, info/hint -> info) and ``location`` with the path and
1-based ``lines.begin``/``lines.end``. No findings: ``[]``.
"""

from __future__ import annotations

from typing import Any

from lsp_server.core.findings import Finding
from lsp_server.reporting.common import (
    display_path,
    dump_json,
    fingerprints,
    gitlab_severity,
    ordered_findings,
    position,
)
from lsp_server.reporting.report import Report, Rendered


def issue(report: Report, finding: Finding, fingerprint: str) -> dict[str, Any]:
    pos = position(report, finding, "chars")
    return {
        "type": "issue",
        "description": finding.message or finding.rule,
        "check_name": finding.rule,
        "categories": ["Bug Risk"],
        "fingerprint": fingerprint,
        "severity": gitlab_severity(finding.severity),
        "location": {"path": display_path(finding.path), "lines": {"begin": pos.line, "end": pos.end_line}},
    }


def render(report: Report, *, color: bool = False) -> Rendered:
    findings = ordered_findings(report)
    prints = fingerprints(report, findings)
    issues = [issue(report, f, fp) for f, fp in zip(findings, prints, strict=True)]
    return Rendered(dump_json(issues) + "\n")

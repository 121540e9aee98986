"""The ``gitlab`` format: a GitLab Code Quality report (a JSON array of issues).

Each issue has ``description``, ``check_name``, ``fingerprint`` (the same
line-independent scheme as SARIF, unique per issue), ``severity`` (error ->
major, warning -> minor, info/hint -> info) and ``location`` with the path and
1-based ``lines.begin``/``lines.end``. No findings: ``[]``. A part that could not be
reviewed (``summary.errors``) is a ``major`` issue with check ``review-incomplete``
on its file's line 1, so the merge request shows that the review is incomplete.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lsp_server.core.findings import Finding
from lsp_server.reporting.common import (
    INCOMPLETE_RULE,
    display_path,
    dump_json,
    fingerprints,
    gitlab_severity,
    ordered_findings,
    position,
    split_note,
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


def failure_issue(report: Report, note: str) -> dict[str, Any]:
    path, reason = split_note(note)
    digest = hashlib.sha256("\0".join((INCOMPLETE_RULE, note)).encode("utf-8", "surrogatepass")).hexdigest()
    return {
        "type": "issue",
        "description": f"{report.tool_name} could not review this: {reason}",
        "check_name": INCOMPLETE_RULE,
        "categories": ["Bug Risk"],
        "fingerprint": digest[:32],
        "severity": "major",
        "location": {"path": display_path(path) if path else ".", "lines": {"begin": 1, "end": 1}},
    }


def render(report: Report, *, color: bool = False) -> Rendered:
    findings = ordered_findings(report)
    prints = fingerprints(report, findings)
    issues = [issue(report, f, fp) for f, fp in zip(findings, prints, strict=True)]
    issues += [failure_issue(report, note) for note in report.summary.errors]
    return Rendered(dump_json(issues) + "\n")

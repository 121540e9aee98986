"""The ``text`` format: one ``path:line:col: severity rule message`` line per finding.

Findings are grouped by file (a blank line between files), 1-based lines and
1-based columns in characters, ANSI colour only when asked; then a summary block
(files, units, cache, requests, findings by severity, time, skipped files, errors,
and whether only changed lines were reviewed). A review with errors never reads
"No findings.": it says the review is incomplete. The summary block holds the run's
time and cache counts, so this format (alone) differs from run to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from lsp_server.core.findings import Severity
from lsp_server.reporting.common import (
    diff_note,
    display_path,
    incomplete_phrase,
    one_line,
    ordered_findings,
    position,
)
from lsp_server.reporting.report import Report, Rendered

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_COLORS: Mapping[Severity, str] = MappingProxyType({
    Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m", Severity.HINT: _DIM,
})


def _paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{_RESET}" if color else text


def finding_lines(report: Report, *, color: bool = False) -> list[str]:
    """The findings, one line each, a blank line between files."""
    lines: list[str] = []
    previous: str | None = None
    for finding in ordered_findings(report):
        path = display_path(finding.path)
        if previous is not None and path != previous:
            lines.append("")
        previous = path
        pos = position(report, finding, "chars")
        where = _paint(f"{one_line(path)}:{pos.line}:{pos.column}:", _BOLD, color)
        severity = _paint(finding.severity.value, _COLORS[finding.severity], color)
        lines.append(f"{where} {severity} {one_line(finding.rule)} {one_line(finding.message)}")
    return lines


def summary_lines(report: Report, *, color: bool = False) -> list[str]:
    """The end-of-run summary block."""
    s = report.summary
    by_severity = ", ".join(f"{sev.value}: {n}" for sev, n in report.by_severity().items())
    lines = [
        _paint("Summary", _BOLD, color),
        f"  files: {s.files}  units: {s.units}  cached: {s.cached}  requests: {s.requests}",
        f"  findings: {len(report.findings)} ({by_severity})",
        f"  time: {s.elapsed_s:.1f}s" + (f"  model: {one_line(report.model)}" if report.model else ""),
    ]
    note = diff_note(s)
    if note:
        lines.append(f"  note: {note}")
    if s.skipped:
        lines.append(f"  skipped ({len(s.skipped)}):")
        lines.extend(_paint(f"    {one_line(item)}", _DIM, color) for item in s.skipped)
    if s.errors:
        lines.append(_paint(f"  errors ({len(s.errors)}):", _COLORS[Severity.ERROR], color))
        lines.extend(f"    {one_line(item)}" for item in s.errors)
    return lines


def render(report: Report, *, color: bool = False) -> Rendered:
    body = finding_lines(report, color=color)
    if body:
        body.append("")
    elif report.complete:
        body = ["No findings.", ""]
    else:
        body = [_paint(f"No findings in what was reviewed, but the {incomplete_phrase(report.summary)} "
                       "(the errors are listed below).", _COLORS[Severity.ERROR], color), ""]
    return Rendered("\n".join(body + summary_lines(report, color=color)) + "\n")

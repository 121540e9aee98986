"""The ``markdown`` format: a PR-comment-ready review summary (also GitHub's step summary).

A headline with the counts by severity (or "No findings"), then a table per file
(``path:line``, severity, rule, message), collapsed in ``<details>`` when the
list is long, then skipped files and errors, then a footer with the tool
version, model and time. Table cells are escaped (``|``, newlines, HTML).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from types import MappingProxyType

from lsp_server.core.findings import Finding, Severity
from lsp_server.reporting.common import diff_note, display_path, ordered_findings, plural, position
from lsp_server.reporting.report import Report, Rendered

COLLAPSE_OVER = 15  # more findings than this in a report: each file's table is collapsed
MAX_ROWS = 1000  # keep the comment well under GitHub's size limits
_ICONS: Mapping[Severity, str] = MappingProxyType(
    {Severity.ERROR: "🔴", Severity.WARNING: "🟠", Severity.INFO: "🔵", Severity.HINT: "⚪"})


def cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (one line, no stray HTML, ``|`` escaped)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip().replace("\n", "<br>")
    return text.replace("\\", "\\\\").replace("|", "\\|")


def code(text: str, *, in_table: bool = False) -> str:
    """``text`` as an inline code span, whatever backticks it holds (``|`` escaped in tables)."""
    text = text.replace("\r", " ").replace("\n", " ")
    if not text:
        return ""
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    span = f"{ticks}{pad}{text}{pad}{ticks}"
    return span.replace("|", "\\|") if in_table else span


def headline(report: Report) -> str:
    if not report.findings:
        return f"### {report.tool_name}: No findings ✅"
    counts = report.by_severity()
    parts = [f"{_ICONS[sev]} {n} {sev.value}" for sev, n in counts.items() if n]
    return f"### {report.tool_name}: {plural(len(report.findings), 'finding')} — {' · '.join(parts)}"


def findings_table(report: Report, findings: list[Finding]) -> list[str]:
    """The findings grouped by file, a table each (collapsed when there are many)."""
    lines: list[str] = []
    collapse = len(findings) > COLLAPSE_OVER
    shown = findings[:MAX_ROWS]
    for path, group in groupby(shown, key=lambda f: display_path(f.path)):
        items = list(group)
        if collapse:
            lines += ["<details>", f"<summary>{cell(path)} ({plural(len(items), 'finding')})</summary>", ""]
        else:
            lines += [f"#### {code(path)}", ""]
        lines += ["| Location | Severity | Rule | Message |", "| --- | --- | --- | --- |"]
        for f in items:
            where = code(f"{path}:{position(report, f, 'chars').line}", in_table=True)
            sev = f"{_ICONS[f.severity]} {f.severity.value}"
            lines.append(f"| {where} | {sev} | {code(f.rule, in_table=True)} | {cell(f.message)} |")
        lines += ["", "</details>", ""] if collapse else [""]
    if len(findings) > len(shown):
        lines += [f"_…and {len(findings) - len(shown)} more findings not listed._", ""]
    return lines


def notes(report: Report) -> list[str]:
    """Skipped files and errors, briefly."""
    s = report.summary
    lines: list[str] = []
    for title, items in (("skipped", s.skipped), ("failed", s.errors)):
        if not items:
            continue
        label = f"{plural(len(items), 'file')} {title}" if title == "skipped" else plural(len(items), "error")
        lines += ["<details>", f"<summary>{'⚠️ ' if title == 'failed' else ''}{label}</summary>", ""]
        lines += [f"- {cell(item)}" for item in items]
        lines += ["", "</details>", ""]
    return lines


def footer(report: Report) -> str:
    s = report.summary
    parts = [f"{report.tool_name} {report.tool_version}"]
    if report.model:
        parts.append(f"model {code(report.model)}")
    parts += [plural(s.files, "file"), plural(s.requests, "request"), f"{s.cached} cached", f"{s.elapsed_s:.1f}s"]
    return f"<sub>{' · '.join(parts)}</sub>"


def render_markdown(report: Report, *, preamble: tuple[str, ...] = ()) -> str:
    lines = [headline(report), ""]
    note = diff_note(report.summary)
    if note:
        lines += [f"_Note: {note}._", ""]
    lines += list(preamble)
    if report.findings:
        lines += findings_table(report, ordered_findings(report))
    lines += notes(report)
    lines.append(footer(report))
    return "\n".join(lines) + "\n"


def render(report: Report, *, color: bool = False) -> Rendered:
    return Rendered(render_markdown(report))

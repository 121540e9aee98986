"""The ``markdown`` format: a PR-comment-ready review summary (also GitHub's step summary).

A headline with the counts by severity (or "No findings"; an incomplete review says
so first and never shows ✅), then a table per file (``path:line``, severity, rule,
message), collapsed in ``<details>`` when the list is long, then the failures (open)
and skipped files, then a footer with the tool version, model and sizes. Table cells
are escaped (``|``, newlines, HTML).

The whole text stays under ``MAX_CHARS`` (GitHub refuses comments over 65,536
characters): when it would not fit, the most severe findings are kept (errors, then
warnings, ...), a line says how many more there are by severity and where the full
report is (``report.full_report``), and long lists of failures and skipped files are
cut the same way. No timestamps or cache counts: the same review gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from types import MappingProxyType

from lsp_server.core.findings import Finding, Severity
from lsp_server.reporting.common import (
    diff_note,
    display_path,
    incomplete_phrase,
    ordered_findings,
    plural,
    position,
)
from lsp_server.reporting.report import Report, Rendered

COLLAPSE_OVER = 15  # more findings than this in a report: each file's table is collapsed
MAX_CHARS = 60_000  # GitHub's comment limit is 65,536 (counted here in UTF-16 units, to be safe)
MAX_NOTES = 50  # failures or skipped files listed before "... and N more"
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


def size(text: str) -> int:
    """Length in UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def headline(report: Report) -> str:
    counts = report.by_severity()
    parts = [f"{_ICONS[sev]} {n} {sev.value}" for sev, n in counts.items() if n]
    found = f"{plural(len(report.findings), 'finding')} — {' · '.join(parts)}" if report.findings else ""
    if not report.complete:
        return (f"### {report.tool_name}: ⚠️ {incomplete_phrase(report.summary)} — "
                f"{found or 'no findings in what was reviewed'}")
    if not report.findings:
        return f"### {report.tool_name}: No findings ✅"
    return f"### {report.tool_name}: {found}"


def findings_table(report: Report, findings: Sequence[Finding], *, collapse: bool | None = None) -> list[str]:
    """The findings grouped by file, a table each (collapsed when there are many)."""
    lines: list[str] = []
    collapse = len(findings) > COLLAPSE_OVER if collapse is None else collapse
    for path, group in groupby(findings, key=lambda f: display_path(f.path)):
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
    return lines


def more_line(report: Report, hidden: Sequence[Finding]) -> list[str]:
    """"…and N more (by severity)" and where to read them."""
    counts = {sev: 0 for sev in Severity}
    for finding in hidden:
        counts[finding.severity] += 1
    by = ", ".join(f"{n} {sev.value}" for sev, n in counts.items() if n)
    where = report.full_report or "the job log, or run `mistral-lsp review --format text`"
    return [f"_…and {plural(len(hidden), 'more finding')} not shown here ({by}), to stay under GitHub's "
            f"comment size limit. The full report: {where}._", ""]


def notes(report: Report) -> list[str]:
    """Failures (shown open: they make the review incomplete) and skipped files, briefly."""
    s = report.summary
    lines: list[str] = []
    for title, items in (("failed", s.errors), ("skipped", s.skipped)):
        if not items:
            continue
        if title == "failed":
            lines += ["<details open>", f"<summary>⚠️ {plural(len(items), 'failure')}: not reviewed</summary>", ""]
        else:
            lines += ["<details>", f"<summary>{plural(len(items), 'file')} skipped</summary>", ""]
        lines += [f"- {cell(item)}" for item in items[:MAX_NOTES]]
        if len(items) > MAX_NOTES:
            lines.append(f"- … and {len(items) - MAX_NOTES} more")
        lines += ["", "</details>", ""]
    return lines


def footer(report: Report) -> str:
    s = report.summary
    parts = [f"{report.tool_name} {report.tool_version}"]
    if report.model:
        parts.append(f"model {code(report.model)}")
    parts += [plural(s.files, "file"), plural(s.units, "unit")]
    return f"<sub>{' · '.join(parts)}</sub>"


def _compose(report: Report, preamble: Sequence[str], shown: Sequence[Finding], hidden: Sequence[Finding],
             collapse: bool) -> str:
    lines = [headline(report), ""]
    note = diff_note(report.summary)
    if note:
        lines += [f"_Note: {note}._", ""]
    lines += list(preamble)
    if shown:
        lines += findings_table(report, shown, collapse=collapse)
    if hidden:
        lines += more_line(report, hidden)
    lines += notes(report)
    lines.append(footer(report))
    return "\n".join(lines) + "\n"


def render_markdown(report: Report, *, preamble: Sequence[str] = (), limit: int = MAX_CHARS) -> str:
    findings = ordered_findings(report)
    collapse = len(findings) > COLLAPSE_OVER
    whole = _compose(report, preamble, findings, (), collapse)
    if size(whole) <= limit:
        return whole
    # keep the most severe findings that fit; show them in file order
    ranked = sorted(range(len(findings)), key=lambda i: (findings[i].severity.rank, i))

    def attempt(count: int) -> str:
        keep = set(ranked[:count])
        shown = [f for i, f in enumerate(findings) if i in keep]
        hidden = [findings[i] for i in ranked[count:]]
        return _compose(report, preamble, shown, hidden, collapse)

    low, high = 0, len(findings) - 1  # the largest count that fits (0 always does, given the caps)
    while low < high:
        middle = (low + high + 1) // 2
        if size(attempt(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return attempt(low)


def render(report: Report, *, color: bool = False) -> Rendered:
    return Rendered(render_markdown(report))

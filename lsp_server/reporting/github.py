"""The ``github`` format: GitHub Actions workflow-command annotations plus a step summary.

Each finding becomes ``::error|warning|notice file=..,line=..,endLine=..,col=..,
endColumn=..,title=..::message`` (info and hint are notices), escaped the way
the runner unescapes them (actions/toolkit ``escapeData``/``escapeProperty``).
The runner shows at most 10 annotations per level per step, so only the first
10 of each level are emitted as commands; the rest become plain log lines, and
``Rendered.step_summary`` (Markdown, for ``$GITHUB_STEP_SUMMARY``) lists the
findings with the counts (the log line says so only when ``report.step_summary``
says it is written). Columns are 1-based characters, and only given for a
single-line span (GitHub ignores them across lines). Line breaks in a message stay
line breaks (``%0A``). An incomplete review (``summary.errors``) opens with one
``::error`` annotation that says so and lists the failures.
"""

from __future__ import annotations

from lsp_server.core.findings import Finding
from lsp_server.reporting import markdown
from lsp_server.reporting.common import (
    counts_phrase,
    display_path,
    github_command,
    incomplete_phrase,
    one_line,
    ordered_findings,
    plural,
    position,
)
from lsp_server.reporting.report import Report, Rendered

MAX_PER_LEVEL = 10  # annotations the runner keeps per level (error/warning/notice) per step
MAX_LISTED_FAILURES = 10  # failures named in the "review incomplete" annotation


def escape_data(text: str) -> str:
    """A command's message (after ``::``): ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command property value: like data, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(report: Report, finding: Finding) -> str:
    pos = position(report, finding, "chars")
    props = [("file", display_path(finding.path)), ("line", str(pos.line)), ("endLine", str(pos.end_line))]
    if pos.line == pos.end_line:
        props += [("col", str(pos.column)), ("endColumn", str(pos.end_column))]
    props.append(("title", f"{report.tool_name}: {finding.rule}"))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{github_command(finding.severity)} {rendered}::{escape_data(finding.message or finding.rule)}"


def plain(report: Report, finding: Finding) -> str:
    """A log line for a finding past the annotation cap (starts with the tool name, never ``::``)."""
    pos = position(report, finding, "chars")
    where = f"{display_path(finding.path)}:{pos.line}:{pos.column}"
    return one_line(f"{report.tool_name}: {where}: {finding.severity.value} {finding.rule} {finding.message}")


def incomplete_annotation(report: Report) -> str:
    """One ``::error`` that says the review is incomplete, naming the first failures."""
    errors = report.summary.errors
    listed = list(errors[:MAX_LISTED_FAILURES])
    if len(errors) > len(listed):
        listed.append(f"... and {len(errors) - len(listed)} more (see the job log)")
    body = "These parts could not be reviewed:\n" + "\n".join(listed)
    title = f"{report.tool_name}: {incomplete_phrase(report.summary)}"
    return f"::error title={escape_property(title)}::{escape_data(body)}"


def render(report: Report, *, color: bool = False) -> Rendered:
    emitted: dict[str, int] = {}
    commands: list[str] = []
    overflow: list[str] = []
    if report.summary.errors:
        commands.append(incomplete_annotation(report))
        emitted["error"] = 1
    for finding in ordered_findings(report):
        level = github_command(finding.severity)
        if emitted.get(level, 0) < MAX_PER_LEVEL:
            emitted[level] = emitted.get(level, 0) + 1
            commands.append(annotation(report, finding))
        else:
            overflow.append(plain(report, finding))
    lines = commands + overflow
    preamble: tuple[str, ...] = ()
    if overflow:
        where = "listed above" + (" and in the step summary" if report.step_summary else "")
        lines.append(f"{report.tool_name}: {plural(len(overflow), 'finding')} not annotated "
                     f"(GitHub shows {MAX_PER_LEVEL} per level): {where}")
        preamble = (f"> [!NOTE]\n> {plural(len(overflow), 'finding')} past GitHub's limit of "
                    f"{MAX_PER_LEVEL} annotations per level are not annotated: they are in this "
                    "summary and in the job log.", "")
    for error in report.summary.errors:
        lines.append(one_line(f"{report.tool_name}: error: {error}"))
    incomplete = incomplete_phrase(report.summary)
    lines.append(f"{report.tool_name}: {counts_phrase(report)}" + (f"; {incomplete}" if incomplete else ""))
    return Rendered("\n".join(lines) + "\n", step_summary=markdown.render_markdown(report, preamble=preamble))

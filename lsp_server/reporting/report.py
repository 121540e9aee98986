"""What every CI output format renders: the findings of a headless review and its summary.

Plain values only (no I/O, no LSP): the runner (``lsp_server/ci/runner.py``) fills a
``Report``; each format module turns it into text. A report with ``summary.errors``
is incomplete (some units could not be reviewed), and every format says so. Finding paths are POSIX paths
relative to the repository root; ``sources`` holds each reviewed file's lines (the
text the findings are anchored to, split where LSP splits lines: ``\\n``, ``\\r\\n``, a lone
``\\r``) so formats can convert columns (UTF-8 bytes -> UTF-16 or characters), quote
code, and fingerprint findings by content instead of line number; ``line_ends`` holds
the line break of each file with a fix, which the fix's new lines are written with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lsp_server.core.findings import Finding, Severity


@dataclass(frozen=True)
class Summary:
    """Counters for the end-of-run summary (all formats may show them)."""

    files: int = 0  # files reviewed (planned)
    units: int = 0  # review units considered
    cached: int = 0  # units answered from the cache
    requests: int = 0  # model requests made
    elapsed_s: float = 0.0
    skipped: tuple[str, ...] = ()  # one line per skipped file: "path: reason"
    errors: tuple[str, ...] = ()  # one line per failed unit/file: "path: reason" (the review is incomplete)
    diff_base: str | None = None  # "REF" or "staged" when only changed lines were reviewed


@dataclass(frozen=True)
class Report:
    """A finished review, ready to render."""

    findings: tuple[Finding, ...]  # sorted, paths relative to the root (POSIX)
    sources: Mapping[str, Sequence[str]]  # relative path -> the file's lines (no newlines)
    summary: Summary = field(default_factory=Summary)
    tool_name: str = "mistral-lsp"
    tool_version: str = "0"
    tool_uri: str = "https://github.com/mistral-lsp/mistral-lsp"
    model: str = ""
    full_report: str = ""  # Markdown: where a reader of a cut-down report finds everything ("" unknown)
    step_summary: bool = False  # the github format's Markdown goes to $GITHUB_STEP_SUMMARY in this run
    line_ends: Mapping[str, str] = field(default_factory=dict)  # relative path -> its line break ("\n" if absent)

    @property
    def complete(self) -> bool:
        """Every planned unit was reviewed (no ``summary.errors``)."""
        return not self.summary.errors

    def by_severity(self) -> dict[Severity, int]:
        counts = {severity: 0 for severity in Severity}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts


@dataclass(frozen=True)
class Rendered:
    """A format's output: the main text, and Markdown for ``$GITHUB_STEP_SUMMARY`` if any."""

    text: str
    step_summary: str | None = None

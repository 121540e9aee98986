"""Source files for the line-break tests: lines that end where LSP ends them, and only there.

Each ``Sample`` is a list of lines in one language. ``Sample.text(eol)`` joins them with a
lone ``\\r``, ``\\r\\n`` or ``\\n``. Inside the lines (in comments and string literals) are the
characters ``str.splitlines`` also breaks at but LSP does not: form feed, ``\\x0b``,
``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``. The target line holds a problem whose
exact text (``quote``) comes after CJK, an emoji and some of those characters, so its
column differs in UTF-8 bytes, UTF-16 units and code points.

``apply_edits`` is an independent reference for applying LSP text edits (lines split at
``\\n``, ``\\r\\n`` and a lone ``\\r``; columns in UTF-16 or UTF-8 units), so tests do not
check the server's arithmetic with the server's own code.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tests.standin import Reply

EOLS = {"cr": "\r", "crlf": "\r\n", "lf": "\n"}
ODD = "\x0c\x0b\x1c\x1d\x1e\x85\u2028\u2029"  # line breaks to str.splitlines, not to LSP
QUOTE = re.compile(r"items\[(?:len\(items\)|items\.length)\]")  # the problem, in every sample
MARK = "BUG"
COMPLETION = "0 + "  # a completion that keeps every sample's target line valid code (before the quote)
_NUMBERED = re.compile(r"^ *(\d+) \| ?(.*)$", re.M)  # ("." and "$" stop at "\n" only, as the prompt's lines)


@dataclass(frozen=True)
class Sample:
    name: str  # file name
    language: str  # LSP language id (and fence tag)
    lines: tuple[str, ...]
    target: int  # 0-based row of the problem

    def text(self, eol: str) -> str:
        return eol.join(self.lines)

    def tagged(self, tag: str) -> Sample:
        """The sample with ``tag`` after the target line's comment (another text: no cache hit)."""
        lines = list(self.lines)
        lines[self.target] += f" {tag}"
        return dataclasses.replace(self, lines=tuple(lines))

    @property
    def quote(self) -> str:
        match = QUOTE.search(self.lines[self.target])
        assert match is not None
        return match.group(0)

    @property
    def fixed_line(self) -> str:
        return fix_line(self.lines[self.target])

    def fixed_text(self, eol: str) -> str:
        lines = list(self.lines)
        lines[self.target] = self.fixed_line
        return eol.join(lines)

    def col(self, unit: str) -> int:
        """The quote's 0-based start column on the target line in ``unit`` (utf-8, utf-16, chars)."""
        return units(self.lines[self.target][: self.lines[self.target].index(self.quote)], unit)


def numbered(prompt: str) -> list[tuple[int, str]]:
    """The numbered lines of a prompt's code, as (number, text)."""
    return [(int(m.group(1)), m.group(2)) for m in _NUMBERED.finditer(prompt)]


def responder(body: dict) -> Reply:
    """The stand-in's answers: an off-by-one finding with a fix on each numbered line marked
    ``BUG`` (the quote and the line number as the prompt shows them); for "Fix with AI", the
    fixed line after a repeat of the prefilled opening fence, then prose; ``COMPLETION``."""
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    if "completion engine" in system:
        return Reply(text=COMPLETION)
    marked = [(number, text) for number, text in numbered(user) if MARK in text]
    if "fixing code" in system:
        [(_, line)] = marked
        return Reply(text=f"{body['messages'][-1]['content']}{fix_line(line)}\n```\nThe index was one too far.")
    findings = [{"line": number, "quote": QUOTE.search(text).group(0), "severity": "error", "rule": "off-by-one",
                 "message": "Index past the end.",
                 "fix": {"start_line": number, "end_line": number, "replacement": fix_line(text)}}
                for number, text in marked]
    return Reply(text=json.dumps({"findings": findings}))


def fix_line(line: str) -> str:
    """The line with its problem fixed: the index made ``- 1``."""
    return QUOTE.sub(lambda m: m.group(0)[:-1] + " - 1]", line)


def units(text: str, unit: str) -> int:
    if unit == "utf-8":
        return len(text.encode("utf-8"))
    if unit == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


PYTHON = Sample("last.py", "python", (
    "import os",
    "\x0c",  # a page break on a line of its own (PEP 8 allows it)
    f"# page 2 {ODD} in a comment",
    "",
    "",
    "def last(items):",
    '    """The last item.\u2028(a line separator in a docstring)"""',
    f'    label = "面白い🙂{ODD}"; return items[len(items)]  # {MARK}',
    "",
    "",
    "def first(items):",
    "    return items[0]",
    "",
), target=7)

JAVASCRIPT = Sample("last.js", "javascript", (
    # (U+2028 and U+2029 end a JavaScript comment, as they end a line to the language; not to LSP)
    "// page break \x0c\x0b\x1c\x1d\x1e\x85 in a comment",
    'const sep = "\u2028\u2029";  // line and paragraph separators in a string (legal since ES2019)',
    "",
    "function last(items) {",
    f'  const label = "面白い🙂\x0c\x85"; return items[items.length];  // {MARK}',
    "}",
    "",
    "module.exports = { last, sep };",
    "",
), target=4)

GO = Sample("last.go", "go", (
    "package main",
    "",
    f"// page break {ODD} in a comment",
    "func last(items []int) int {",
    f'\tlabel := "面白い🙂\x0c\u2028"; _ = label; return items[len(items)] // {MARK}',
    "}",
    "",
), target=4)

SAMPLES = (PYTHON, JAVASCRIPT, GO)


def cases() -> list[tuple[Sample, str]]:
    """Every sample with every line ending, as (sample, eol name)."""
    return [(sample, eol) for sample in SAMPLES for eol in EOLS]


_BREAK = re.compile(r"\r\n|\r|\n")


def _offset(text: str, line: int, character: int, encoding: str) -> int:
    """The string index of an LSP position (``character`` in ``encoding`` units) in ``text``."""
    starts = [0] + [m.end() for m in _BREAK.finditer(text)]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = _BREAK.search(text, start)
    content = text[start : end.start() if end else len(text)]
    seen = 0
    for index, ch in enumerate(content):
        if seen >= character:
            return start + index
        seen += units(ch, encoding)
    return start + len(content)


def apply_edits(text: str, edits: Iterable[tuple[tuple[int, int], tuple[int, int], str]],
                encoding: str = "utf-16") -> str:
    """``text`` with LSP edits ((line, character), (line, character), new text) applied."""
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[: _offset(text, *start, encoding)] + new + text[_offset(text, *end, encoding):]
    return text

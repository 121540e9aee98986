"""Review and fix prompts as pure functions of plain values.

A review prompt shows one review unit with its absolute 1-based line numbers, so
the model can name lines, plus the context it needs (imports, the enclosing class
header, signatures of same-file names the unit calls). Stable material comes first
for vLLM's prefix cache. The answer format is enforced separately (``findings.py``).

A fix prompt shows numbered code around the lines to rewrite and prefills the
assistant with an opening fence, so the model writes only the replacement code.
Every text handed in is already secret-masked by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.model.prompts import fenced as _fenced

# review-3: earlier versions cached an answer with no findings JSON as "no findings"; a new key asks again
REVIEW_PROMPT_VERSION = "review-3"

TOOLS_NOTE = (
    "You may call the tools lookup_symbol(name) and read_lines(path, start, end) to see how a "
    "name used by this code is defined elsewhere in the project, when that decides whether "
    "something is a bug; at most {calls} calls. Then answer with the findings JSON."
)
FIX_PROMPT_VERSION = "fix-1"

REVIEW_SYSTEM_PROMPT = (
    "You are mistral-lsp, a careful senior code reviewer inside a code editor. You review one "
    "piece of a file at a time. Report only real problems a careful reviewer would flag: bugs, "
    "wrong logic, off-by-one errors, unhandled errors and edge cases, resource leaks, concurrency "
    "problems, security issues, misused APIs, unreachable code. Do not report style, formatting, "
    "naming, missing comments, docstrings or type hints. Report only problems in the numbered "
    "code, not in the context around it. If nothing is wrong, answer {\"findings\": []}.\n\n"
    "Answer with JSON only: {\"findings\": [{\"line\", \"quote\", \"severity\", \"rule\", "
    "\"message\", \"fix\"}]}, where\n"
    "- line: the line number shown at the left of the problem's line;\n"
    "- quote: the exact text of the problem copied character for character from that line "
    "(without the line number and the `|`), short but unique on the line;\n"
    "- severity: error (fails or gives wrong results), warning (likely bug or risk), info "
    "(worth a look), hint (small improvement);\n"
    "- rule: a short kebab-case id such as off-by-one, unclosed-file, null-dereference, "
    "sql-injection;\n"
    "- message: one or two sentences: what is wrong and why;\n"
    "- fix: null, or {\"start_line\", \"end_line\", \"replacement\"}: the new text of the whole "
    "lines start_line..end_line (inclusive), with their indentation, without line numbers and "
    "without a trailing newline. Give a fix only when it is small, certain and self-contained."
)

PERFORMANCE_NOTE = (
    "\n\nAlso report performance problems, where the code clearly does more work than it needs for data "
    "that can grow: a loop inside a loop over the same data (quadratic time), the same work repeated inside a "
    "loop, needless copies of large values. Give each a rule that starts with performance- "
    "(performance-quadratic-loop, performance-repeated-work, performance-needless-copy) and say in the message "
    "what to do instead."
)


def review_system_prompt(performance: bool) -> str | None:
    """The review's system prompt: the default (None), or with the performance category."""
    return REVIEW_SYSTEM_PROMPT + PERFORMANCE_NOTE if performance else None


FIX_SYSTEM_PROMPT = (
    "You are mistral-lsp, fixing code inside a code editor. You are shown part of a file with "
    "its line numbers and asked to rewrite some of its lines. Write only the new code for those "
    "lines: complete lines with the file's indentation, without line numbers, without "
    "explanations. Keep everything that is not part of the problem unchanged. Close the code "
    "block with ``` when you are done."
)


@dataclass(frozen=True)
class ReviewInput:
    """One review unit and its context; ``lines`` are (1-based line number, text)."""

    path: str
    language: str  # fence tag, e.g. "python"
    kind: str  # "function", "method", "class", "code"
    name: str
    lines: Sequence[tuple[int, str]]
    imports: Sequence[str] = ()
    header: str = ""  # the enclosing class/impl header, if any
    signatures: Sequence[str] = ()
    related: Sequence[str] = ()  # definitions from other files the code uses (path comment + signature)


@dataclass(frozen=True)
class FixInput:
    """The lines to rewrite (1-based, inclusive) inside some numbered code."""

    path: str
    language: str
    lines: Sequence[tuple[int, str]]  # the code shown, numbered, including the target lines
    first: int
    last: int
    problem: str = ""  # the finding's message; "" for a selected range
    imports: Sequence[str] = ()
    header: str = ""


def numbered(lines: Sequence[tuple[int, str]], width: int = 0) -> str:
    """Lines as ``  12 | text``, numbers right-aligned to ``width`` (0: the last number's
    width); a gap in the numbers is shown as a ``...`` line."""
    if not lines:
        return ""
    width = width or len(str(lines[-1][0]))
    out: list[str] = []
    previous: int | None = None
    for number, text in lines:
        if previous is not None and number != previous + 1:
            out.append(" " * width + " | ...")
        out.append(f"{number:>{width}} | {text}" if text else f"{number:>{width}} |")
        previous = number
    return "\n".join(out)


def _context(language: str, imports: Sequence[str], header: str, signatures: Sequence[str],
             related: Sequence[str] = ()) -> list[str]:
    parts: list[str] = []
    if imports:
        parts.append("Imports of this file:\n" + _fenced(language, "\n".join(imports)))
    if related:
        parts.append("Definitions from other files of the project that the code uses:\n"
                     + _fenced(language, "\n".join(related)))
    if signatures:
        parts.append("Definitions from this file that the code uses:\n" + _fenced(language, "\n".join(signatures)))
    if header:
        parts.append("The code is inside:\n" + _fenced(language, header))
    return parts


def build_review_prompt(data: ReviewInput, system_prompt: str | None = None) -> list[dict[str, Any]]:
    """The chat messages for reviewing one unit."""
    first, last = data.lines[0][0], data.lines[-1][0]
    what = f"{data.kind} `{data.name}`" if data.name else data.kind
    parts = [f"File: {data.path}" + (f" ({data.language})" if data.language else "")]
    parts += _context(data.language, data.imports, data.header, data.signatures, data.related)
    parts.append(
        f"Review this {what} (lines {first}-{last}). Each line starts with its line number in the "
        "file and `|`:\n" + _fenced(data.language, numbered(data.lines))
    )
    return [
        {"role": "system", "content": system_prompt or REVIEW_SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def build_fix_prompt(data: FixInput) -> tuple[list[dict[str, Any]], str]:
    """The chat messages for rewriting lines ``first..last``, and the assistant prefill."""
    parts = [f"File: {data.path}" + (f" ({data.language})" if data.language else "")]
    parts += _context(data.language, data.imports, data.header, ())
    parts.append("The code, with line numbers at the left:\n" + _fenced(data.language, numbered(data.lines)))
    span = f"line {data.first}" if data.first == data.last else f"lines {data.first}-{data.last}"
    if data.problem:
        parts.append(f"Problem on {span}: {data.problem}\n\nRewrite {span} to fix this problem.")
    else:
        parts.append(f"Rewrite {span}: fix any bug in them, keeping their behaviour otherwise.")
    parts.append(f"Answer with the new code for {span} only, in one code block.")
    prefill = f"```{data.language}\n"
    messages = [
        {"role": "system", "content": FIX_SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
        {"role": "assistant", "content": prefill},
    ]
    return messages, prefill

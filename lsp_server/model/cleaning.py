"""Turn the model's raw completion text into the exact text to insert at the cursor.

The model continues a prefilled assistant message, and what comes back carries
chat-model artifacts: Markdown fences (``` or ~~~, with or without a language tag,
closed or not) and prose around the code, an echo of the prefilled line or of the
word being typed, lines restated from above the cursor, text duplicating what
already follows the cursor, code past the end of the block being written (or, on a
line with text after the cursor, past the end of that line), runaway repetition,
foreign indentation and line endings. ``clean_completion`` removes them;
``StreamCleaner`` applies the same rules to streamed deltas and says when to stop
generating (no stop strings are sent to the model: this is the stop). Both drive one
line-by-line ``LineMachine``, so a stream stops exactly where the batch cleaner
would cut. Pure stdlib: no LSP or tree-sitter types.
"""

from __future__ import annotations

import re

from lsp_server.core.text import split_lines
from lsp_server.model.codescan import indent_of, trim_suffix_overlap
from lsp_server.model.linemachine import CleanContext, LineMachine
from lsp_server.model.reindent import reindent
from lsp_server.model.repetition import find_repeated_run

__all__ = ["CleanContext", "LineMachine", "StreamCleaner", "clean_completion"]

# C0/C1 controls except \t \n \r, Unicode line/paragraph separators, BOM, lone surrogates.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")
_PARTIAL_SCAN_STEP = 128  # re-check an unfinished runaway line every this many characters
_PARTIAL_SCAN_TAIL = 640  # ... looking at its end only: five copies of an 80-character phrase fit


def _sanitize(text: str) -> str:
    return _CONTROL_RE.sub("", text)


# ---------------------------------------------------------------- assembling the insert text


def _drop_following_echo(lines: list[str], following: tuple[str, ...]) -> list[str]:
    """Without trailing lines that repeat the lines already after the cursor."""
    wanted = [f.rstrip() for f in following if f.strip()]
    for start in range(1, len(lines) if wanted else 0):
        tail = [line for line in lines[start:] if line]
        if tail and tail == wanted[: len(tail)]:
            return lines[:start]
    return lines


def _assemble(machine: LineMachine, ctx: CleanContext) -> str:
    """The insert text from the kept lines: indentation, overlaps, whitespace, line endings."""
    raw = machine.lines[: max(1, ctx.max_lines) if ctx.multiline else 1]
    if not raw:
        return ""
    level_base = not machine.fenced and machine.model_base == machine.file_base
    # at column 0 of an empty line the first line's indentation is the model's too: convert it as well
    whole = not ctx.line_prefix
    rest = reindent(raw if whole else raw[1:], machine.model_base, machine.file_base, ctx.indent_unit,
                    machine.tab_w, level_base=level_base)
    lines = _drop_following_echo(rest if whole else [raw[0].rstrip(), *rest], ctx.following_lines)
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    text = "\n".join(lines)
    trimmed = trim_suffix_overlap(text, ctx.line_prefix, ctx.line_suffix, ctx.brace_language)
    glued = ctx.line_suffix[:1].isalnum() or ctx.line_suffix[:1] in ("_", '"', "'")
    if glued and trimmed == text and len(raw) == 1 and raw[0][-1:].isspace() and text.strip():
        trimmed += " "  # keep "a, " from gluing onto a suffix "b)"
    if not trimmed.strip():
        return ""
    if "\n" in trimmed and ctx.line_suffix.strip():
        # a block written between "{" and "}": the text after the cursor goes on a line of its own
        trimmed += "\n" + indent_of(ctx.line_prefix)
    return trimmed.replace("\n", ctx.eol)


# ---------------------------------------------------------------- public API


def clean_completion(raw: str, ctx: CleanContext) -> str:
    """The text to insert at the cursor for the model's raw output ``raw``."""
    machine = LineMachine(ctx)
    for line in split_lines(_sanitize(raw or "")):
        if machine.push(line):
            break
    machine.finish()
    return _assemble(machine, ctx)


class StreamCleaner:
    """Fed the model's streamed deltas; says when to stop the stream early.

    Work per delta is constant except when a line completes (one line's checks) or
    a fence starts; ``result()`` runs the batch cleaner once over what was fed.
    """

    def __init__(self, ctx: CleanContext) -> None:
        self._ctx = ctx
        self._machine = LineMachine(ctx)
        self._chunks: list[str] = []
        self._partial: list[str] = []  # sanitized text of the unfinished line
        self._partial_len = 0
        self._next_scan = _PARTIAL_SCAN_STEP
        self._result: str | None = None

    @property
    def stop_reason(self) -> str | None:
        """Why the stream should stop: line-end, block-end, repetition, fence, max-lines; or None."""
        return self._machine.stop_reason

    def feed(self, delta: str) -> bool:
        """Take one streamed delta; True when generation should stop now."""
        if self._machine.stop_reason is not None:
            return True
        if not delta:
            return False
        self._chunks.append(delta)
        self._result = None
        text = _sanitize(delta)
        if "\n" in text:
            pieces = text.split("\n")
            pieces[0] = "".join(self._partial) + pieces[0]
            if any(self._push(piece) for piece in pieces[:-1]):
                return True
            self._partial, self._partial_len = [pieces[-1]], len(pieces[-1])
            self._next_scan = _PARTIAL_SCAN_STEP
        else:
            self._partial.append(text)
            self._partial_len += len(text)
        return self._check_partial("`" in text or "~" in text)

    def result(self) -> str:
        """The cleaned insert text for everything fed so far."""
        if self._result is None:
            self._result = clean_completion("".join(self._chunks), self._ctx)
        return self._result

    def _push(self, chunk: str) -> bool:
        chunk = chunk[:-1] if chunk.endswith("\r") else chunk
        return any(self._machine.push(part) for part in chunk.split("\r"))

    def _check_partial(self, backtick: bool) -> bool:
        """Stop inside an unfinished line: at a closing fence, or a runaway phrase."""
        long_line = self._partial_len >= self._next_scan
        if not (backtick or long_line):
            return False
        line = "".join(self._partial)
        self._partial = [line]
        machine = self._machine
        stripped = line.strip()
        if backtick and machine.is_fence(stripped) and machine.is_closing_fence(stripped, complete=False):
            return machine.stop("fence")
        if long_line:
            self._next_scan += _PARTIAL_SCAN_STEP
            if find_repeated_run(line[-_PARTIAL_SCAN_TAIL:].replace("\r", "")) is not None:
                return machine.stop("repetition")
        return False

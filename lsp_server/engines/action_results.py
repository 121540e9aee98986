"""From an action's answer to its result, checked against the document as it is now.

``Finisher.finish`` runs after the model's ``await``. It follows the target's rows through the
edits made meanwhile (lines added or removed above it move it) and refuses when an edit touched
them, then shapes the answer for the action's output: lines that only
repeat the code around the target are dropped, the new lines are moved to the file's
indentation (tabs where the file uses tabs), joined with the text kept around them (a
function's header and closing brace, a docstring's neighbours), and checked: nothing outside
the target's rows changes (the edits are a line diff of those rows only), the result parses
without new syntax errors, no masked secret is written, and Optimise keeps the function's
signature. Tests are ``action_testfile``'s. Every refusal says why.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from lsp_server.core.findings import LineFix, Span
from lsp_server.core.secrets import MASK, SecretFilter
from lsp_server.engines.action_outcome import ActionOutcome, Job
from lsp_server.engines.action_targets import Slot, digest, slot_text
from lsp_server.engines.action_testfile import TestFiles, indent_unit
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.fixes import fix_adds_errors, fix_edits, lines_match, lines_now, tidy_replacement
from lsp_server.model.action_answers import Answer, reindent
from lsp_server.model.codescan import indent_of
from lsp_server.syntax.languages import LanguageRegistry


class Finisher:
    """Turns answers into checked results."""

    def __init__(self, registry: LanguageRegistry, documents: DocumentStore, secrets: SecretFilter,
                 roots: list[Path]) -> None:
        self._registry = registry
        self._documents = documents
        self._secrets = secrets
        self._test_files = TestFiles(registry, documents, secrets, roots)

    def finish(self, doc: OpenDocument, job: Job, answer: Answer) -> ActionOutcome:
        followed = follow(doc, job)
        if followed is None:
            return ActionOutcome.refusal("the code changed while the model was writing; nothing was done")
        job = followed
        output = job.spec.output
        if output == "explain":
            if not answer.markdown:
                return ActionOutcome.refusal("the model gave no explanation")
            return ActionOutcome(markdown=answer.markdown, title=_span_title(job))
        if not answer.code.strip():
            return ActionOutcome.refusal("the model gave no code" + ("" if answer.complete else " (the answer was cut)"))
        if MASK in answer.code and not any(MASK in line for line in job.original):
            return ActionOutcome.refusal("the answer contains a masked secret; nothing was applied")
        if output == "tests":
            return self._test_files.write(doc, job, tidy_replacement(answer.code, []), self._apply)
        if output in ("body", "doc") and job.slot is not None:
            if not answer.complete:
                return ActionOutcome.refusal("the model's answer was cut before the end (raise actions.maxTokens)")
            lines = (self._doc_lines if output == "doc" else self._body_lines)(doc, job.slot, answer.code)
            return self._apply(doc, job, job.slot.first, job.slot.last, slot_text(job.slot, lines))
        return self._replace(doc, job, answer)

    # -- edits of the document ----------------------------------------------------------------
    def _body_lines(self, doc: OpenDocument, slot: Slot, code: str) -> list[str]:
        return reindent(code.split("\n"), slot.indent, indent_unit(doc))

    def _doc_lines(self, doc: OpenDocument, slot: Slot, code: str) -> list[str]:
        lines = code.split("\n")
        first = slot.indent + slot.opener + lines[0]
        rest = lines[1:]
        if slot.opener in ('"""', "'''"):
            return [first, *reindent(rest, slot.indent, indent_unit(doc))] if rest else [first]
        out = [first]
        for line in rest:
            stripped = line.strip()
            out.append(slot.indent + (" " + stripped if stripped.startswith("*") else stripped) if stripped
                       else (slot.indent + " *" if slot.opener == "/**" else slot.indent + slot.opener.split()[0]))
        return out

    def _replace(self, doc: OpenDocument, job: Job, answer: Answer) -> ActionOutcome:
        original = list(job.original)
        code = tidy_replacement(answer.code, original)
        buffer = doc.syntax.buffer
        target = job.target
        above = [buffer.line_text(row) for row in range(max(0, target.first - _ECHO_LINES), target.first)]
        below = [buffer.line_text(row) for row in range(target.last + 1, min(buffer.line_count, target.last + 1
                                                                            + _ECHO_LINES))]
        echoed = drop_context_echo(code.split("\n"), above, below, original)
        base = min((indent_of(line) for line in original if line.strip()), key=len, default="")
        lines = reindent(echoed, base, indent_unit(doc))
        spec, target = job.spec, job.target
        if spec.name == "optimise" and target.scope == "function" and target.function is not None:
            header_rows = target.function.header_last_row - target.first + 1
            if _squash(original[:header_rows]) != _squash(lines[:header_rows]):
                return ActionOutcome.refusal("the model changed the function's signature; nothing was applied")
        if spec.output == "insert-before":
            text = "\n".join([*lines, *original])
        elif spec.output == "insert-after":
            text = "\n".join([*original, *lines])
        else:
            text = "\n".join(lines)
        outcome = self._apply(doc, job, target.first, target.last, text)
        if outcome.refused is None and spec.reason:
            reason = answer.reason.strip() or "the model did not say why"
            return ActionOutcome(edits=outcome.edits, note=f"{spec.title.rstrip('…')}: {reason}")
        return outcome

    def _apply(self, doc: OpenDocument, job: Job, first: int, last: int, text: str) -> ActionOutcome:
        buffer = doc.syntax.buffer
        original = "\n".join(buffer.line_text(row) for row in range(first, last + 1))
        fix = LineFix(first, last, text, original)
        if not lines_match(buffer, fix):
            return ActionOutcome.refusal("the code changed while the model was writing; nothing was done")
        doc.syntax.focus(buffer.line_start(first))
        tree = doc.syntax.tree
        language = doc.spec.name if doc.spec else ""
        if tree is not None and fix_adds_errors(doc.syntax.parse_bytes, tree, buffer, fix, language=language):
            return ActionOutcome.refusal("the model's code would add syntax errors; nothing was applied")
        edits = fix_edits(buffer, fix)
        if not edits:
            return ActionOutcome.refusal("the model changed nothing")
        if not all(_inside(edit.span, first, last) for edit in edits):
            return ActionOutcome.refusal("the edit would change code outside the target; nothing was applied")
        return ActionOutcome(edits=edits, title=_span_title(job))

    # -- tests ------------------------------------------------------------------------------------
_ECHO_LINES = 3


def follow(doc: OpenDocument, job: Job) -> Job | None:
    """``job`` at its rows in ``doc`` now: moved by the lines added or removed above it since it was
    planned; None when an edit touched its rows (or they read differently)."""
    target, slot = job.target, job.slot
    first = min(target.first, slot.first) if slot is not None else target.first
    last = max(target.last, slot.last) if slot is not None else target.last
    rows = lines_now(doc, job.version, first, last) if doc.version != job.version else (first, last)
    if rows is None:
        return None
    shift = rows[0] - first
    if shift:
        job = dataclasses.replace(
            job, version=doc.version,
            target=dataclasses.replace(target, first=target.first + shift, last=target.last + shift),
            slot=dataclasses.replace(slot, first=slot.first + shift, last=slot.last + shift) if slot else None)
    if digest(doc, job.target.first, job.target.last) != job.digest:
        return None
    return job


def _significant(line: str) -> bool:
    text = line.strip()
    return len(text) >= 4 and any(ch.isalnum() for ch in text)


def drop_context_echo(lines: list[str], above: list[str], below: list[str], original: list[str]) -> list[str]:
    """``lines`` without a repeat of the lines just above the target at their start, or just below
    it at their end: the model restating its surroundings must not write them twice. A repeat
    counts when its lines say something (not a lone brace) and it is two lines or more, or one line
    next to the target's own first (last) line, or the other end repeats its surroundings too."""
    stripped = [line.strip() for line in lines]
    first = next((line.strip() for line in original if line.strip()), None)
    last = next((line.strip() for line in reversed(original) if line.strip()), None)

    def repeat_at_start() -> tuple[int, bool]:
        for k in range(min(len(above), len(lines) - 1), 0, -1):
            if stripped[:k] == [line.strip() for line in above[-k:]] and any(_significant(x) for x in above[-k:]):
                return k, k >= 2 or stripped[k] == first
        return 0, False

    def repeat_at_end() -> tuple[int, bool]:
        for k in range(min(len(below), len(lines) - 1), 0, -1):
            if stripped[-k:] == [line.strip() for line in below[:k]] and any(_significant(x) for x in below[:k]):
                return k, k >= 2 or stripped[-k - 1] == last
        return 0, False

    head, head_sure = repeat_at_start()
    tail, tail_sure = repeat_at_end()
    if head and (head_sure or tail) and len(lines) - head - tail >= 1:
        lines = lines[head:]
    else:
        head = 0
    if tail and (tail_sure or head) and len(lines) - tail >= 1:
        lines = lines[: len(lines) - tail]
    return lines


def _inside(span: Span, first: int, last: int) -> bool:
    ends_inside = span.end_line <= last or (span.end_line == last + 1 and span.end_col == 0)
    return span.start_line >= first and ends_inside


def _squash(lines: list[str]) -> str:
    text = re.sub(r"\s+", "", "".join(lines))
    return text.rstrip("{:")


def _span_title(job: Job) -> str:
    target = job.target
    span = f"line {target.first + 1}" if target.first == target.last else f"lines {target.first + 1}-{target.last + 1}"
    return f"{job.spec.title.rstrip('…')}: {target.name or span}"



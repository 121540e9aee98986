"""From an action's answer to its result, checked against the document as it is now.

``Finisher.finish`` runs after the model's ``await``. It refuses when the target's rows no
longer read what was sent, then shapes the answer for the action's output: lines that only
repeat the code around the target are dropped, the new lines are moved to the file's indentation (tabs where the file uses tabs), joined with the text
kept around them (a function's header and closing brace, a docstring's neighbours), and
checked: nothing outside the target's rows changes (the edits are a line diff of those rows
only), the result parses without new syntax errors, no masked secret is written, and
Optimise keeps the function's signature. Tests go to a file inside the workspace, created
or appended to (never overwritten), and must parse too. Every refusal says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_server.config_actions import ActionSpec
from lsp_server.core.findings import Edit, LineFix, Span
from lsp_server.core.secrets import MASK, SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.engines.action_targets import Slot, Target, digest, slot_text
from lsp_server.engines.completion_plan import detect_indent_unit
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.fixes import fix_adds_errors, fix_edits, lines_match, tidy_replacement
from lsp_server.engines.test_layout import TestPlace
from lsp_server.model.action_answers import Answer, AnswerReader, reindent
from lsp_server.syntax.languages import LanguageRegistry
from lsp_server.syntax.nodes import errors_in

_GO_PREAMBLE = re.compile(r"^\s*(?:package\s+\w+|import\s+\"[^\"]*\"|import\s+\w+\s+\"[^\"]*\")\s*$")


@dataclass(frozen=True)
class FileChange:
    """Edits to a file other than the document (a test file): created, or appended to."""

    uri: str
    path: str
    create: bool
    version: int | None  # the open document's version, None when it is not open
    text: str  # the text the edits were computed against ("" for a new file)
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class ActionOutcome:
    """What came of an action: edits, other files, an explanation, and a note; or a refusal."""

    edits: list[Edit] | None = None
    files: tuple[FileChange, ...] = ()
    markdown: str | None = None
    title: str = ""
    note: str | None = None  # said to the user (Optimise: why it is faster)
    refused: str | None = None
    needs_instruction: bool = False

    @classmethod
    def refusal(cls, reason: str, *, needs_instruction: bool = False) -> ActionOutcome:
        return cls(refused=reason, needs_instruction=needs_instruction)


@dataclass
class Job:
    """One planned action: what was asked and what it works on, fixed before the ``await``."""

    spec: ActionSpec
    target: Target
    digest: str
    version: int
    messages: list[dict[str, Any]]
    reader: AnswerReader
    slot: Slot | None = None
    place: TestPlace | None = None
    original: tuple[str, ...] = field(default_factory=tuple)


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _unit(doc: OpenDocument) -> str:
    buffer = doc.syntax.buffer
    unit = detect_indent_unit([buffer.line_text(row) for row in range(min(buffer.line_count, 400))])
    if doc.spec is not None and doc.spec.name == "go":
        return "\t"
    return unit


class Finisher:
    """Turns answers into checked results."""

    def __init__(self, registry: LanguageRegistry, documents: DocumentStore, secrets: SecretFilter,
                 roots: list[Path]) -> None:
        self._registry = registry
        self._documents = documents
        self._secrets = secrets
        self._roots = roots

    def finish(self, doc: OpenDocument, job: Job, answer: Answer) -> ActionOutcome:
        target = job.target
        if digest(doc, target.first, target.last) != job.digest:
            return ActionOutcome.refusal("the code changed while the model was writing; nothing was done")
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
            return self._tests(doc, job, answer)
        if output in ("body", "doc") and job.slot is not None:
            if not answer.complete:
                return ActionOutcome.refusal("the model's answer was cut before the end (raise actions.maxTokens)")
            lines = (self._doc_lines if output == "doc" else self._body_lines)(doc, job.slot, answer.code)
            return self._apply(doc, job, job.slot.first, job.slot.last, slot_text(job.slot, lines))
        return self._replace(doc, job, answer)

    # -- edits of the document ----------------------------------------------------------------
    def _body_lines(self, doc: OpenDocument, slot: Slot, code: str) -> list[str]:
        return reindent(code.split("\n"), slot.indent, _unit(doc))

    def _doc_lines(self, doc: OpenDocument, slot: Slot, code: str) -> list[str]:
        lines = code.split("\n")
        first = slot.indent + slot.opener + lines[0]
        rest = lines[1:]
        if slot.opener in ('"""', "'''"):
            return [first, *reindent(rest, slot.indent, _unit(doc))] if rest else [first]
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
        base = min((_indent(line) for line in original if line.strip()), key=len, default="")
        lines = reindent(echoed, base, _unit(doc))
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
    def _tests(self, doc: OpenDocument, job: Job, answer: Answer) -> ActionOutcome:
        place = job.place
        if place is None:
            return ActionOutcome.refusal("no test layout was found (set actions.testsDir)")
        code = tidy_replacement(answer.code, [])
        if place.same_file:
            return self._rust_tests(doc, job, code)
        path = place.path
        if not self._in_workspace(path):
            return ActionOutcome.refusal(f"the test file {path} would be outside the workspace")
        if self._secrets.is_secret_path(str(path)):
            return ActionOutcome.refusal("the test file's name matches secretPatterns")
        uri = path.as_uri()
        open_doc = self._documents.get(uri)
        if open_doc is not None:
            text, version, create = open_doc.syntax.buffer.text, open_doc.version, False
        elif path.exists():
            try:
                text, version, create = path.read_text(encoding="utf-8"), None, False
            except (OSError, UnicodeDecodeError) as exc:
                return ActionOutcome.refusal(f"cannot read the test file {path.name}: {exc}")
        else:
            text, version, create = "", None, True
        lines = code.split("\n")
        if not create and path.suffix == ".go":
            lines = [line for line in lines if not _GO_PREAMBLE.match(line)]
        addition = "\n".join(lines).strip("\n")
        if create:
            new_text = addition + "\n"
            edit_text, at = new_text, (0, 0)
        else:
            buffer = TextBuffer(text)
            at = buffer.point_of_byte(len(buffer.data))
            blank = "\n\n" if path.suffix in (".py", ".pyi") else "\n"  # PEP 8: two blank lines between functions
            lead = ("\n" if text and not text.endswith(("\n", "\r")) else "") + (blank if text.strip() else "")
            edit_text = lead + addition + "\n"
            new_text = text + edit_text
        if self._adds_errors(path, text, new_text):
            return ActionOutcome.refusal("the model's tests would not parse; nothing was written")
        change = FileChange(uri, str(path), create, version, text,
                            (Edit(Span(at[0], at[1], at[0], at[1]), edit_text),))
        verb = "create" if create else "add to"
        return ActionOutcome(files=(change,), title=f"{verb} {path.name}")

    def _rust_tests(self, doc: OpenDocument, job: Job, code: str) -> ActionOutcome:
        buffer = doc.syntax.buffer
        lines = _unwrap_rust_tests(code.split("\n"))
        module = _tests_module(doc)
        unit = _unit(doc)
        if module is not None:
            indent, close_row = module
            body = reindent(lines, indent + unit, unit)
            text = "\n".join(["", *body, buffer.line_text(close_row)])
            return self._apply(doc, job, close_row, close_row, text)
        last = buffer.line_count - 1
        body = reindent(lines, unit, unit)
        block = ["#[cfg(test)]", "mod tests {", f"{unit}use super::*;", "", *body, "}"]
        ending = buffer.line_text(last)
        if ending.strip():  # no newline at the end of the file
            parts = [ending, "", *block]
        else:
            parts = [*([""] if last > 0 and buffer.line_text(last - 1).strip() else []), *block, ""]
        text = "\n".join(parts)
        return self._apply(doc, job, last, last, text)

    def _in_workspace(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == root.resolve() or root.resolve() in resolved.parents for root in self._roots)

    def _adds_errors(self, path: Path, old: str, new: str) -> bool:
        spec = self._registry.for_document(None, str(path))
        parser = self._registry.parser(spec) if spec is not None else None
        if parser is None:
            return False
        after = parser.parse(new.encode("utf-8"))
        if not after.root_node.has_error:
            return False
        before = parser.parse(old.encode("utf-8")) if old else None
        if before is None or not before.root_node.has_error:
            return True
        size = len(new.encode("utf-8"))
        return len(errors_in(after.root_node, 0, size)) > len(errors_in(before.root_node, 0, len(old.encode("utf-8"))))


_ECHO_LINES = 3


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


def _tests_module(doc: OpenDocument) -> tuple[str, int] | None:
    """The ``mod tests { ... }`` of a Rust file: its indentation and the row of its ``}``."""
    tree = doc.syntax.tree
    if tree is None:
        return None
    for node in tree.root_node.named_children:
        if node.type != "mod_item":
            continue
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is None or body is None or (name.text or b"") != b"tests":
            continue
        closer = body.child(body.child_count - 1)
        if closer is None or closer.type != "}" or closer.is_missing:
            return None
        line = doc.syntax.buffer.line_text(node.start_point[0])
        return _indent(line), closer.start_point[0]
    return None


def _unwrap_rust_tests(lines: list[str]) -> list[str]:
    """The test functions of an answer that wrote the whole ``#[cfg(test)] mod tests { ... }``."""
    stripped = [line.strip() for line in lines]
    if "mod tests {" in stripped:
        start = stripped.index("mod tests {")
        end = max(i for i, text in enumerate(stripped) if text == "}")
        if end > start:
            lines = lines[start + 1:end]
    kept = [line for line in lines if line.strip() not in ("#[cfg(test)]", "use super::*;")] or lines
    while kept and not kept[0].strip():
        kept = kept[1:]
    while kept and not kept[-1].strip():
        kept = kept[:-1]
    return kept

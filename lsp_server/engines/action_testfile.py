"""Write tests with AI: the model's tests as a change of the test file the project layout names.

A test file is created (never overwriting one that appeared meanwhile) or appended to at its end,
only inside the workspace and never under a secret name, and only when the result parses (no more
syntax errors than the file had). Rust's tests go into the file's own ``#[cfg(test)] mod tests``
(created at the end of the file when there is none), an edit of the document like any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from lsp_server.core.findings import Edit, Span
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.engines.action_outcome import ActionOutcome, FileChange, Job
from lsp_server.engines.completion_plan import detect_indent_unit
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.model.action_answers import reindent
from lsp_server.model.codescan import indent_of
from lsp_server.syntax.languages import LanguageRegistry
from lsp_server.syntax.nodes import errors_in

_GO_PREAMBLE = re.compile(r"^\s*(?:package\s+\w+|import\s+\"[^\"]*\"|import\s+\w+\s+\"[^\"]*\")\s*$")
#: Applies new text to rows ``first..last`` of the document, checked (the finisher's ``apply``).
Apply = Callable[[OpenDocument, Job, int, int, str], ActionOutcome]


def indent_unit(doc: OpenDocument) -> str:
    """The document's indentation unit (Go: a tab, always)."""
    buffer = doc.syntax.buffer
    if doc.spec is not None and doc.spec.name == "go":
        return "\t"
    return detect_indent_unit([buffer.line_text(row) for row in range(min(buffer.line_count, 400))])


class TestFiles:
    """Turns the model's tests into a test-file change."""

    __test__ = False  # not a pytest test class

    def __init__(self, registry: LanguageRegistry, documents: DocumentStore, secrets: SecretFilter,
                 roots: list[Path]) -> None:
        self._registry = registry
        self._documents = documents
        self._secrets = secrets
        self._roots = roots

    def write(self, doc: OpenDocument, job: Job, code: str, apply: Apply) -> ActionOutcome:
        """The tests in ``code`` as a change of the test file (or, Rust, of the document through ``apply``)."""
        place = job.place
        if place is None:
            return ActionOutcome.refusal("no test layout was found (set actions.testsDir)")
        if place.same_file:
            return self._rust_tests(doc, job, code, apply)
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
            eol = buffer.eol()  # the file's own line breaks
            blank = eol * 2 if path.suffix in (".py", ".pyi") else eol  # PEP 8: two blank lines between functions
            lead = (eol if text and not text.endswith(("\n", "\r")) else "") + (blank if text.strip() else "")
            edit_text = lead + addition.replace("\n", eol) + eol
            new_text = text + edit_text
        if self._adds_errors(path, text, new_text):
            return ActionOutcome.refusal("the model's tests would not parse; nothing was written")
        change = FileChange(uri, str(path), create, version, text,
                            (Edit(Span(at[0], at[1], at[0], at[1]), edit_text),))
        verb = "create" if create else "add to"
        return ActionOutcome(files=(change,), title=f"{verb} {path.name}")

    def _rust_tests(self, doc: OpenDocument, job: Job, code: str, apply: Apply) -> ActionOutcome:
        buffer = doc.syntax.buffer
        lines = _unwrap_rust_tests(code.split("\n"))
        module = _tests_module(doc)
        unit = indent_unit(doc)
        if module is not None:
            indent, close_row = module
            body = reindent(lines, indent + unit, unit)
            text = "\n".join(["", *body, buffer.line_text(close_row)])
            return apply(doc, job, close_row, close_row, text)
        last = buffer.line_count - 1
        body = reindent(lines, unit, unit)
        block = ["#[cfg(test)]", "mod tests {", f"{unit}use super::*;", "", *body, "}"]
        ending = buffer.line_text(last)
        if ending.strip():  # no newline at the end of the file
            parts = [ending, "", *block]
        else:
            parts = [*([""] if last > 0 and buffer.line_text(last - 1).strip() else []), *block, ""]
        text = "\n".join(parts)
        return apply(doc, job, last, last, text)

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
        return indent_of(line), closer.start_point[0]
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

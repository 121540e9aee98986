"""One file's text -> its ``FileSymbols`` (definitions with signature, doc, range, container).

Reuses the syntax layer: the language's "definitions" and "imports" queries
(``query_defs``/``query_imports``) and ``Outline.signature`` for headers, plus this
package's extra patterns for constants and prototypes. Definitions inside a function
body are local and left out; methods carry their class (or ``impl``/receiver) as
``container``.

The work is a generator (``SymbolExtractor.steps``) that yields whenever its ``Pacer``
slice is due: between parse slices (the parse is halted by its progress callback and
resumed), between query chunks of ``_CHUNK_BYTES`` and between definitions. Run it
with ``pacing.drive`` on the event loop or ``pacing.run`` synchronously. Each chunk's
queries run in pieces whose work grows with the chunk, not with the file
(``definitions.run_query``), so one slice stays short even on pathological input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator
from operator import itemgetter
from typing import Any

import tree_sitter

from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import split_lines, tree_bytes
from lsp_server.index.imports import read_imports
from lsp_server.index.nodes import container_of, is_local, leading_comment, python_docstring, widest_node
from lsp_server.index.pacing import Pacer, run
from lsp_server.index.patterns import EXTRA_PATTERNS, GO_TYPE_KINDS, KIND_BY_TYPE, Pattern
from lsp_server.index.symbols import FileSymbols, Import, Symbol
from lsp_server.syntax.definitions import Definition, query_defs, query_imports, run_query
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry, LanguageSpec
from lsp_server.syntax.nesting import too_deep

log = logging.getLogger(__name__)

_ROW_ORDER = itemgetter(Symbol._fields.index("start_line"), Symbol._fields.index("end_line"),
                        Symbol._fields.index("name"))  # a symbol row's sort key
_DEF_START = itemgetter(Definition._fields.index("start"))  # of a Definition's plain tuple
_CHUNK_BYTES = 4_096       # query range per step (well under a millisecond of queries on ordinary code)
# Bytes per read callback. Small on purpose: a tree parsed from a callback has no source
# of its own, so ``Node.text`` calls the callback again and copies what it returns.
_READ_BYTES = 4096
_SIGNATURE_LINES = 6
_SIGNATURE_CHARS = 400
_VALUE_CHARS = 160
_UPPER = re.compile(r"^_*[A-Z][A-Z0-9_]*$")

Steps = Generator[None, None, FileSymbols]
_Extra = tuple[tree_sitter.Query | None, tuple[Pattern, ...]]  # the query, its patterns by index
_EXTRAS = "index-extras"  # the registry's cache key for the compiled extra patterns


def warm_languages(registry: LanguageRegistry) -> int:
    """Load every grammar and compile every query the server uses (the outline's and the
    index's); how many languages loaded. Compiling is one C call per query (up to 60 ms
    for C++ or TypeScript) holding the GIL: the server runs this in a start-up thread,
    so no document's first use pays for it on the event loop."""
    extractor = SymbolExtractor(registry)
    return sum(extractor.warm(spec) for spec in SPECS.values())


class SymbolExtractor:
    """Extracts ``FileSymbols`` from source text; thread-safe (parsers are per call)."""

    def __init__(self, registry: LanguageRegistry, secrets: SecretFilter | None = None) -> None:
        self.registry = registry
        self._secrets = secrets

    def warm(self, spec: LanguageSpec) -> bool:
        """Load the grammar and compile its queries now (one-off: tens of ms for C++ or
        TypeScript); whether the grammar loaded. The index calls this on its I/O thread
        before a language's first file."""
        if self.registry.parser(spec) is None:  # grammar unavailable (the registry logs it once)
            self.registry.compiled(_EXTRAS, spec, lambda: (None, ()))
            return False
        for kind in ("definitions", "imports"):
            self.registry.query(spec, kind)
        self._extra_query(spec)
        return True

    def is_warm(self, spec: LanguageSpec) -> bool:
        return self.registry.has_compiled(_EXTRAS, spec)

    def language_of(self, path: str) -> LanguageSpec | None:
        """The file's language by extension (None: unsupported or grammar missing)."""
        return self.registry.for_document(None, path)

    def extract(self, text: str | bytes, spec: LanguageSpec, path: str) -> FileSymbols:
        """All at once (no yielding): for tests, the CLI and small files."""
        return run(self.steps(text, spec, path, None))

    def steps(self, text: str | bytes, spec: LanguageSpec, path: str, pacer: Pacer | None) -> Steps:
        """The extraction as slices; yields whenever ``pacer`` is due (never if None)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        doc = SyntaxDocument(text, spec, self.registry)
        if doc.spec is None:
            return FileSymbols(spec.name)
        data = doc.buffer.data
        if pacer is not None and too_deep(data):  # a parse tree-sitter cannot halt (``syntax.nesting``)
            log.debug("index: %s keeps too many brackets open to parse on the event loop", path)
            return FileSymbols(spec.name)
        if pacer is not None and pacer.due():
            yield
        tree = yield from _parse(self.registry.parser(spec), data, pacer)
        if tree is None:
            log.debug("index: could not parse %s", path)
            return FileSymbols(spec.name)
        if pacer is not None and pacer.due():
            yield
        root = tree.root_node
        defs: dict[int, tuple[Any, ...]] = {}  # name token -> Definition fields (a plain tuple: see FileSymbols)
        extras: dict[int, tuple[str, tree_sitter.Node, tree_sitter.Node]] = {}
        spans: set[tuple[int, int]] = set()
        extra_query, extra_patterns = self._extra_query(spec)
        for span in _chunks(data):
            for found in query_defs(doc, root, span) or ():
                known = defs.get(found.name_start)
                if known is None or found.start < _DEF_START(known):
                    defs[found.name_start] = tuple(found)
            if pacer is not None and pacer.due():
                yield
            spans.update((s.start, s.end) for s in query_imports(doc, root, span) or ())
            if pacer is not None and pacer.due():
                yield
            if extra_query is not None:
                for index, captures in run_query(extra_query, root, span) or ():
                    node, name = captures.get("def", [None])[0], captures.get("name", [None])[0]
                    kind, _pattern, parent = extra_patterns[index]
                    if node is not None and name is not None and _under(captures, parent):
                        extras.setdefault(name.start_byte, (kind, node, name))
            if pacer is not None and pacer.due():
                yield
        symbols: list[tuple[Any, ...]] = []  # plain rows (``FileSymbols``), sorted at C speed below
        for raw in sorted(defs.values(), key=_DEF_START):
            symbol = self._definition(doc, root, Definition._make(raw), path)
            if symbol is not None:
                symbols.append(tuple(symbol))
            if pacer is not None and pacer.due():
                yield
        for at, (kind, node, name) in sorted(extras.items()):
            if at not in defs:
                symbol = self._extra(doc, kind, node, name, path)
                if symbol is not None:
                    symbols.append(tuple(symbol))
            if pacer is not None and pacer.due():
                yield
        imports: list[Import] = []
        for start, end in sorted(spans):
            node = widest_node(root, start, end)
            if node is not None:
                imports.extend(read_imports(node, spec.name))
            if pacer is not None and pacer.due():
                yield
        symbols.sort(key=_ROW_ORDER)
        return FileSymbols.of(spec.name, symbols, dict.fromkeys(imports))

    # -- one symbol ------------------------------------------------------------------
    def _definition(self, doc: SyntaxDocument, root: tree_sitter.Node, definition: Definition,
                    path: str) -> Symbol | None:
        node = widest_node(root, definition.node_start, definition.end)
        if node is None:
            return None
        outer = node
        while outer.start_byte > definition.start and outer.parent is not None:
            outer = outer.parent
        if is_local(outer):
            return None
        kind = KIND_BY_TYPE.get(node.type, "function")
        if node.type == "type_spec":
            value = node.child_by_field_name("type")
            kind = GO_TYPE_KINDS.get(value.type if value is not None else "", "type")
        container, member = container_of(node, definition.name_start)
        if kind == "function" and member:
            kind = "method"
        doc_line = python_docstring(node) if doc.spec is not None and doc.spec.name == "python" else ""
        return Symbol(
            definition.name, kind, path,
            outer.start_point.row, _last_row(doc, outer),
            self._mask(_cap(doc.outline.signature(definition)), path),
            self._mask(doc_line or leading_comment(outer), path, prose=True),
            container, doc.spec.name if doc.spec is not None else "",
        )

    def _extra(self, doc: SyntaxDocument, kind: str, node: tree_sitter.Node, name_node: tree_sitter.Node,
               path: str) -> Symbol | None:
        if is_local(node) or not _keep_extra(kind, node, name_node, doc.spec):
            return None
        name = _node_text(name_node)
        container, member = container_of(node, name_node.start_byte)
        if kind == "function" and member:
            kind = "method"
        return Symbol(
            name, kind, path, node.start_point.row, _last_row(doc, node),
            self._mask(_line_signature(doc, node), path), self._mask(leading_comment(node), path, prose=True),
            container,
            doc.spec.name if doc.spec is not None else "",
        )

    def _mask(self, text: str, path: str, *, prose: bool = False) -> str:
        """Signatures as code of ``path``; doc comments and docstrings (markers gone) as prose too."""
        if self._secrets is None or not text:
            return text
        return self._secrets.mask_prose(text, path) if prose else self._secrets.mask(text, path)

    def _extra_query(self, spec: LanguageSpec) -> _Extra:
        """The compiled extra patterns of ``spec`` and each compiled pattern's kind."""
        return self.registry.compiled(_EXTRAS, spec, lambda: self._compile(spec))

    def _compile(self, spec: LanguageSpec) -> _Extra:
        language = self.registry.language(spec)
        patterns = EXTRA_PATTERNS.get(spec.name, ())
        if not patterns:
            return None, ()
        try:  # all patterns valid: one compile (validating each first would double the cost)
            return tree_sitter.Query(language, "\n".join(p for _, p, _ in patterns)), patterns
        except Exception:  # noqa: BLE001 - find the patterns this grammar version rejects
            pass
        valid: list[Pattern] = []
        for entry in patterns:
            try:
                tree_sitter.Query(language, entry[1])
            except Exception as exc:  # noqa: BLE001 - grammar versions drift
                log.debug("index: skipping %s pattern %r: %s", spec.name, entry[1], exc)
                continue
            valid.append(entry)
        if not valid:
            return None, ()
        query = tree_sitter.Query(language, "\n".join(p for _, p, _ in valid))
        return query, tuple(valid)


# -- helpers ----------------------------------------------------------------------------
def _parse(parser: tree_sitter.Parser | None, data: bytes,
           pacer: Pacer | None) -> Generator[None, None, tree_sitter.Tree | None]:
    """Parse ``data``, halting whenever ``pacer`` is due and resuming after a yield."""
    if parser is None:
        return None
    data = tree_bytes(data)  # rows as LSP counts them (a lone "\r" is a line break)
    if pacer is None:
        return parser.parse(data)
    halted = [False]

    def read(offset: int, _point: object) -> bytes:
        return data[offset:offset + _READ_BYTES]

    def progress(*_state: object) -> bool:
        halted[0] = pacer.due()
        return halted[0]

    while True:
        halted[0] = False
        try:
            tree = parser.parse(read, progress_callback=progress)
        except ValueError:
            tree = None
        if tree is not None:
            return tree
        if not halted[0]:
            return None  # failed for another reason than our halt
        yield


def _chunks(data: bytes) -> Iterator[tuple[int, int] | None]:
    """Byte ranges of about ``_CHUNK_BYTES`` covering ``data``, ending after a ``\n`` unless
    a line is much longer than that ([None]: one go). Queries find the matches that
    intersect a range, so a cut inside a line loses nothing. Found as they are needed,
    from the bytes alone: building the line index of a 4 MB file in one go held the
    event loop for 150 ms."""
    size = len(data)
    if size <= _CHUNK_BYTES:
        yield None
        return
    start = 0
    while start < size:
        end = min(size, start + _CHUNK_BYTES)
        if end < size:
            newline = data.find(b"\n", end - 1, start + 2 * _CHUNK_BYTES)
            end = newline + 1 if newline >= 0 else end
        yield start, end
        start = end


def _under(captures: dict[str, list[tree_sitter.Node]], parent: str) -> bool:
    """Whether the match's ``@_top`` node sits right under a ``parent`` node ("" : anywhere)."""
    if not parent:
        return True
    top = captures.get("_top")
    outer = top[0].parent if top else None
    return outer is not None and outer.type == parent


def _keep_extra(kind: str, node: tree_sitter.Node, name: tree_sitter.Node, spec: LanguageSpec | None) -> bool:
    """The per-language rule for an extra-pattern match."""
    language = spec.name if spec is not None else ""
    text = _node_text(name)
    if language == "python":
        return kind != "constant" or bool(_UPPER.match(text))
    if language in ("javascript", "typescript", "tsx") and kind == "constant":
        first = node.child(0)
        if first is None or first.type != "const":
            return False
        declarator = name.parent
        value = declarator.child_by_field_name("value") if declarator is not None else None
        if value is not None and value.type == "call_expression":
            callee = value.child_by_field_name("function")
            if callee is not None and _node_text(callee) == "require":
                return False
        exported = node.parent is not None and node.parent.type == "export_statement"
        return exported or bool(_UPPER.match(text))
    if language == "go" and kind == "variable":
        return text[:1].isupper()
    if language == "java" and node.type == "field_declaration":
        modifiers = next((c for c in node.children if c.type == "modifiers"), None)
        words = set(_node_text(modifiers).split()) if modifiers is not None else set()
        return {"static", "final"} <= words
    if language in ("c", "cpp") and kind == "constant":
        if node.type == "preproc_def":
            return node.child_by_field_name("value") is not None  # not an include guard
        return any(c.type == "type_qualifier" and _node_text(c) == "const" for c in node.children)
    return True


def _line_signature(doc: SyntaxDocument, node: tree_sitter.Node) -> str:
    """The first line of a one-line-ish definition (a constant, a prototype), capped."""
    buffer = doc.buffer
    row = node.start_point.row
    begin = buffer.line_start(row)
    if any(ch in buffer.data[begin:node.start_byte] for ch in b"{};"):
        begin = node.start_byte
    end = min(node.end_byte, buffer.line_end(row))
    text = buffer.slice(begin, end).strip()
    if node.type in ("const_spec", "var_spec") and not text.startswith(("const", "var")):
        text = ("const " if node.type == "const_spec" else "var ") + text
    if buffer.data[end:node.end_byte].strip():
        text += " ..."
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "..."


def _last_row(doc: SyntaxDocument, node: tree_sitter.Node) -> int:
    """The row of the node's last byte (a trailing newline does not count)."""
    end = node.end_byte
    while end > node.start_byte and doc.buffer.data[end - 1:end] in (b"\n", b"\r"):
        end -= 1
    return doc.buffer.row_of_byte(max(node.start_byte, end - 1))


def _cap(signature: str) -> str:
    lines = split_lines(signature)
    if len(lines) > _SIGNATURE_LINES:
        signature = "\n".join(lines[:_SIGNATURE_LINES]) + "\n..."
    return signature if len(signature) <= _SIGNATURE_CHARS else signature[:_SIGNATURE_CHARS] + "..."


def _node_text(node: tree_sitter.Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8", errors="replace")

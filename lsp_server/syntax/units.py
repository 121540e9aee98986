"""Review units: a file cut into the pieces the model reviews one request at a time.

Units are functions, methods, classes (a class longer than ``split_class_lines`` is
split by method, its remaining body becoming one "code" unit under the class
header) and the remaining top-level code (one "code" unit per level, without
imports, comments and docstrings). Wrappers (decorators, ``export``, C++
``template<>``, Rust attributes) belong to the unit they wrap; namespaces, Rust
``mod`` blocks and C preprocessor conditionals are looked through. A unit longer
than ``max_unit_lines`` is cut into parts at node (or line) boundaries.

``unit_context`` adds what a unit's prompt needs: the file's imports and the
signatures of same-file definitions the unit calls.

The walk is iterative (a stack of levels, children read one at a time through a
TreeCursor), so deeply nested namespaces or wrappers never reach Python's recursion
limit, and ``walk_units`` pauses every ``PAUSE_EVERY`` nodes so the editor can plan a
big file between turns of the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import MappingProxyType

import tree_sitter

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.nodes import header_end

Node = tree_sitter.Node
# A call: ``name(`` or ``name<T, U>(`` (template arguments bounded, or the pattern backtracks
# quadratically on a long run of ``<``).
_CALL = re.compile(r"(?<![\w$])([A-Za-z_$][\w$]*)\s*(?:<[\w\s,<>:*&]{0,200}>\s*)?\(")
MAX_SIGNATURES = 12
PAUSE_EVERY = 256  # nodes looked at between two pause points of ``walk_units``
_MAX_WRAPPERS = 16  # wrappers around one item looked through, at most


@dataclass(frozen=True)
class ReviewUnit:
    """One piece of a file to review: its kind, a name and its 0-based rows (ascending)."""

    kind: str  # "function" | "method" | "class" | "code"
    name: str
    rows: tuple[int, ...]
    header: str = ""  # the enclosing class/impl header text ("" at top level)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


@dataclass(frozen=True)
class UnitContext:
    """Prompt context of a unit: file imports and signatures of same-file callees."""

    imports: tuple[str, ...]
    signatures: tuple[str, ...]


@dataclass(frozen=True)
class _Rules:
    functions: frozenset[str]
    classes: frozenset[str]
    wrappers: frozenset[str] = frozenset()  # the unit spans the wrapper; its inner node decides
    containers: frozenset[str] = frozenset()  # looked through: their items are units of their own
    skip: frozenset[str] = frozenset()  # imports and the like: never part of a code unit
    attributes: frozenset[str] = frozenset()  # preceding siblings that belong to the next unit


_JS_FUNCS = frozenset({"function_declaration", "generator_function_declaration", "method_definition"})
_JS = _Rules(_JS_FUNCS, frozenset({"class_declaration", "abstract_class_declaration"}),
             wrappers=frozenset({"export_statement"}), skip=frozenset({"import_statement"}))
_C_PREPROC = frozenset({"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"})
_C = _Rules(frozenset({"function_definition"}), frozenset(), containers=_C_PREPROC | {"linkage_specification"},
            skip=frozenset({"preproc_include"}))
RULES: MappingProxyType[str, _Rules] = MappingProxyType({
    "python": _Rules(frozenset({"function_definition"}), frozenset({"class_definition"}),
                     wrappers=frozenset({"decorated_definition"}),
                     skip=frozenset({"import_statement", "import_from_statement", "future_import_statement"})),
    "javascript": _JS,
    "typescript": _JS,
    "tsx": _JS,
    "go": _Rules(frozenset({"function_declaration", "method_declaration"}), frozenset(),
                 skip=frozenset({"package_clause", "import_declaration"})),
    "rust": _Rules(frozenset({"function_item"}), frozenset({"impl_item", "trait_item"}),
                   containers=frozenset({"mod_item"}), skip=frozenset({"use_declaration", "extern_crate_declaration"}),
                   attributes=frozenset({"attribute_item"})),
    "java": _Rules(frozenset({"method_declaration", "constructor_declaration", "compact_constructor_declaration"}),
                   frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration"}),
                   containers=frozenset({"enum_body_declarations"}),
                   skip=frozenset({"package_declaration", "import_declaration"})),
    "c": _C,
    "cpp": _Rules(_C.functions, frozenset({"class_specifier", "struct_specifier"}),
                  wrappers=frozenset({"template_declaration"}),
                  containers=_C.containers | {"namespace_definition"},
                  skip=_C.skip | {"using_declaration", "namespace_alias_definition", "access_specifier"}),
})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


def last_row(node: Node) -> int:
    """The last row holding text of ``node`` (a node ending at column 0 ends the row before)."""
    row, column = node.end_point
    return max(node.start_point[0], row - 1 if column == 0 else row)


def split_units(doc: SyntaxDocument, *, split_class_lines: int = 80, max_unit_lines: int = 200) -> list[ReviewUnit]:
    """The review units of ``doc`` in file order ([] for plain text)."""
    units = [unit for unit in walk_units(doc, split_class_lines=split_class_lines, max_unit_lines=max_unit_lines)
             if unit is not None]
    return sorted(units, key=lambda unit: unit.rows[0])


def walk_units(doc: SyntaxDocument, *, split_class_lines: int = 80,
               max_unit_lines: int = 200) -> Iterator[ReviewUnit | None]:
    """The review units of ``doc`` as they are found (not in file order), with a None
    after every ``PAUSE_EVERY`` nodes looked at: a point where the caller may pause."""
    tree = doc.tree
    if tree is None or doc.spec is None:
        return
    splitter = _Splitter(doc, RULES[doc.spec.name], split_class_lines, max(10, max_unit_lines))
    yield from splitter.walk(tree.root_node)


@dataclass
class _Level:
    """One level of the walk: its remaining children and what it collected so far."""

    children: Iterator[Node]
    header: str
    in_class: bool
    code: list[tuple[int, int]] = field(default_factory=list)
    pending: Node | None = None  # a run of attributes waiting for the item they decorate


class _Splitter:
    def __init__(self, doc: SyntaxDocument, rules: _Rules, split_class_lines: int, max_lines: int) -> None:
        self.doc, self.rules = doc, rules
        self.split_class_lines, self.max_lines = split_class_lines, max_lines
        self.python = doc.spec is not None and not doc.spec.brace_language
        self.units: list[ReviewUnit] = []

    def walk(self, root: Node) -> Iterator[ReviewUnit | None]:
        stack = [_Level(_named_children(root), "", False)]
        seen = 0
        while stack:
            level = stack[-1]
            child = next(level.children, None)
            if child is None:
                if level.pending is not None:
                    level.code.append((level.pending.start_point[0], last_row(level.pending)))
                for _pause in self.code(level.code, level.header):
                    yield from self.units
                    self.units.clear()
                    yield None
                stack.pop()
            else:
                inner_level = self.visit(level, child)
                if inner_level is not None:
                    stack.append(inner_level)
            yield from self.units
            self.units.clear()
            seen += 1
            if seen % PAUSE_EVERY == 0:
                yield None

    def visit(self, level: _Level, child: Node) -> _Level | None:
        """Handle one child of ``level``; a level to walk next (a container, a split class) or None."""
        if child.type in self.rules.attributes:
            level.pending = level.pending or child
            return None
        pending, level.pending = level.pending, None
        start = (pending or child).start_point[0]
        role, inner = self.classify(child)
        if role == "code" and pending is not None:
            level.code.append((pending.start_point[0], last_row(child)))
        elif role == "code":
            level.code.append((child.start_point[0], last_row(child)))
        elif role == "function":
            kind = "method" if level.in_class or "method" in inner.type else "function"
            self.add(kind, _name(inner), start, last_row(child), level.header)
        elif role == "class":
            return self.klass(child, inner, start, level.header)
        elif role == "container":
            return _Level(_items(child), level.header, level.in_class)
        return None

    def classify(self, node: Node) -> tuple[str, Node]:
        rules = self.rules
        outer = node
        for _ in range(_MAX_WRAPPERS):
            kind = node.type
            if kind in rules.skip or "comment" in kind or self.docstring(node):
                return ("skip", node) if node is outer else ("code", outer)
            if kind not in rules.wrappers:
                break
            inner = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
            inner = inner or next((c for c in node.named_children if c.type in rules.functions | rules.classes), None)
            if inner is None:
                return "code", outer
            node = inner
        else:
            return "code", outer
        role, named = self._role(node)
        if node is outer:
            return role, named
        return (role, named) if role in ("function", "class") else ("code", outer)

    def _role(self, node: Node) -> tuple[str, Node]:
        """The role of a node that is not a wrapper."""
        rules = self.rules
        kind = node.type
        if kind in rules.functions:
            return "function", node
        if kind in rules.classes and node.child_by_field_name("body") is not None:
            return "class", node
        if kind in rules.containers:
            return "container", node
        if kind in ("lexical_declaration", "variable_declaration"):
            declarators = [c for c in node.named_children if c.type == "variable_declarator"]
            value = declarators[0].child_by_field_name("value") if len(declarators) == 1 else None
            if value is not None and value.type in _FUNCTION_VALUES:
                return "function", declarators[0]
        return "code", node

    def docstring(self, node: Node) -> bool:
        return (self.python and node.type == "expression_statement" and node.named_child_count == 1
                and node.named_children[0].type == "string")

    def klass(self, outer: Node, inner: Node, start: int, header: str) -> _Level | None:
        """A short class is one unit; a long one is a level of its own (returned)."""
        end = last_row(outer)
        if end - start + 1 <= self.split_class_lines:
            self.add("class", _name(inner), start, end, header)
            return None
        body = inner.child_by_field_name("body")
        stop = header_end(inner, self.python) or body.start_byte
        buffer = self.doc.buffer
        own = buffer.slice(max(buffer.line_start(start), stop - 4096), stop).rstrip()
        return _Level(_named_children(body), f"{header}\n{own}" if header else own, True)

    def add(self, kind: str, name: str, first: int, last: int, header: str) -> None:
        rows = list(range(first, last + 1))
        parts = [rows[i : i + self.max_lines] for i in range(0, len(rows), self.max_lines)]
        for index, part in enumerate(parts):
            label = name if len(parts) == 1 else f"{name} (part {index + 1}/{len(parts)})"
            self.units.append(ReviewUnit(kind, label, tuple(part), header))

    def code(self, spans: list[tuple[int, int]], header: str) -> Iterator[None]:
        """Remaining code of one level: one unit, or parts cut at node boundaries (yields
        every ``PAUSE_EVERY`` spans: a level can have tens of thousands)."""
        group: list[int] = []
        for index, (first, last) in enumerate(spans):
            if index and index % PAUSE_EVERY == 0:
                yield None
            rows = range(max(first, group[-1] + 1) if group else first, last + 1)  # spans may overlap
            if group and len(group) + len(rows) > self.max_lines:
                self.add_code(group, header)
                group = []
            group.extend(rows)
        if group:
            self.add_code(group, header)

    def add_code(self, rows: list[int], header: str) -> None:
        for i in range(0, len(rows), self.max_lines):
            self.units.append(ReviewUnit("code", "", tuple(rows[i : i + self.max_lines]), header))


def _named_children(node: Node) -> Iterator[Node]:
    """The named children of ``node``, one at a time (a TreeCursor: no list of 100,000 nodes)."""
    cursor = node.walk()
    if not cursor.goto_first_child():
        return
    while True:
        child = cursor.node
        if child.is_named:
            yield child
        if not cursor.goto_next_sibling():
            return


def _items(node: Node) -> Iterator[Node]:
    """The items inside a looked-through container (not its header's own parts)."""
    body = node.child_by_field_name("body")
    if body is not None:
        return _named_children(body) if body.type in ("declaration_list", "statement_block", "block") else iter((body,))
    if not node.type.startswith("preproc_"):
        return _named_children(node)
    row = node.start_point[0]  # skip the directive's own name/condition
    return (c for c in _named_children(node) if c.start_point[0] > row)


def _name(node: Node) -> str:
    name = node.child_by_field_name("name")
    if name is not None:
        return _text(name)
    if node.type == "impl_item":
        trait, kind = node.child_by_field_name("trait"), node.child_by_field_name("type")
        return " for ".join(_text(n) for n in (trait, kind) if n is not None)
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    inner = declarator.child_by_field_name("declarator") if declarator is not None else None
    return _text(inner) if inner is not None else ""


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")[:80]


def unit_context(doc: SyntaxDocument, unit: ReviewUnit, *, max_imports: int = 40) -> UnitContext:
    """The file's imports and the signatures of same-file definitions the unit calls."""
    outline = doc.outline
    buffer = doc.buffer
    lo = buffer.line_start(unit.rows[0])
    hi = buffer.line_end(unit.rows[-1])
    text = "\n".join(buffer.line_text(row) for row in unit.rows)
    by_name = outline.by_name()
    chosen = {}
    for name in dict.fromkeys(_CALL.findall(text)):
        for definition in by_name.get(name, ())[:2]:
            if not lo <= definition.node_start <= hi:  # not the unit itself or a part of it
                chosen[definition.name_start] = definition
    picked = sorted(chosen.values(), key=lambda d: d.start)[:MAX_SIGNATURES]
    return UnitContext(tuple(outline.imports()[:max_imports]), tuple(outline.signature(d) for d in picked))

"""Import statements -> ``Import`` records, one reader per language family.

The syntax layer's "imports" query finds the file-level import nodes; this module
reads what each imports: the module (as written: ``a.b``, ``./y``, ``crate::a``,
``fmt``, ``foo.h``), the imported name (``*`` for a wildcard) and the local alias.
Statements that import nothing by name (Go ``package``, Rust ``extern crate``, C++
``using``) yield no records.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import tree_sitter

from lsp_server.index.symbols import Import

Node = tree_sitter.Node
_MAX_USE_DEPTH = 64  # nested ``use a::{b::{...}}`` lists read, at most


def read_imports(node: Node, language: str) -> list[Import]:
    """The imports one import statement node makes (empty if none are understood)."""
    reader = _READERS.get(language)
    if reader is None:
        return []
    try:
        return reader(node)
    except (AttributeError, UnicodeDecodeError):  # an odd tree shape only costs this import
        return []


def _text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8", errors="replace")


def _unquote(node: Node | None) -> str:
    return _text(node).strip().strip("\"'`<>")


# -- python ---------------------------------------------------------------------------
def _python(node: Node) -> list[Import]:
    found: list[Import] = []
    if node.type == "import_statement":
        for child in node.children_by_field_name("name"):
            if child.type == "aliased_import":
                found.append(Import(_text(child.child_by_field_name("name")), None,
                                    _text(child.child_by_field_name("alias")) or None))
            else:
                found.append(Import(_text(child)))
        return found
    if node.type != "import_from_statement":
        return found
    module = "".join(_text(node.child_by_field_name("module_name")).split())
    if any(child.type == "wildcard_import" for child in node.children):
        return [Import(module, "*")]
    for child in node.children_by_field_name("name"):
        if child.type == "aliased_import":
            found.append(Import(module, _text(child.child_by_field_name("name")),
                                _text(child.child_by_field_name("alias")) or None))
        else:
            found.append(Import(module, _text(child)))
    return found


# -- javascript / typescript ----------------------------------------------------------
def _js(node: Node) -> list[Import]:
    if node.type == "import_statement":
        return _js_import(node)
    found: list[Import] = []
    for declarator in node.named_children:
        if declarator.type != "variable_declarator":
            continue
        call = declarator.child_by_field_name("value")
        args = call.child_by_field_name("arguments") if call is not None else None
        if args is None or args.named_child_count == 0:
            continue
        source = _unquote(args.named_children[0])
        target = declarator.child_by_field_name("name")
        if target is None:
            continue
        if target.type == "identifier":
            found.append(Import(source, None, _text(target)))
        elif target.type == "object_pattern":
            found.extend(_object_pattern(source, target))
    return found


def _object_pattern(source: str, pattern: Node) -> list[Import]:
    found = []
    for part in pattern.named_children:
        if part.type == "shorthand_property_identifier_pattern":
            found.append(Import(source, _text(part)))
        elif part.type == "pair_pattern":
            key, value = part.child_by_field_name("key"), part.child_by_field_name("value")
            if value is not None and value.type == "identifier":
                found.append(Import(source, _text(key), _text(value)))
    return found


def _js_import(node: Node) -> list[Import]:
    source = _unquote(node.child_by_field_name("source"))
    if not source:
        return []
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if clause is None:
        return [Import(source)]
    found: list[Import] = []
    for part in clause.named_children:
        if part.type == "identifier":
            found.append(Import(source, "default", _text(part)))
        elif part.type == "namespace_import":
            names = [c for c in part.named_children if c.type == "identifier"]
            found.append(Import(source, "*", _text(names[0]) if names else None))
        elif part.type == "named_imports":
            for spec in part.named_children:
                if spec.type == "import_specifier":
                    name = _unquote(spec.child_by_field_name("name"))
                    alias = _text(spec.child_by_field_name("alias")) or None
                    found.append(Import(source, name, alias))
    return found


# -- go -------------------------------------------------------------------------------
def _go(node: Node) -> list[Import]:
    if node.type != "import_declaration":
        return []
    specs = [c for c in node.named_children if c.type == "import_spec"]
    for group in (c for c in node.named_children if c.type == "import_spec_list"):
        specs.extend(c for c in group.named_children if c.type == "import_spec")
    found = []
    for spec in specs:
        path = _unquote(spec.child_by_field_name("path"))
        name = spec.child_by_field_name("name")
        if name is None:
            found.append(Import(path))
        elif name.type == "dot":
            found.append(Import(path, "*"))
        elif name.type != "blank_identifier":
            found.append(Import(path, None, _text(name)))
    return found


# -- rust -----------------------------------------------------------------------------
def _rust(node: Node) -> list[Import]:
    if node.type != "use_declaration":
        return []
    found: list[Import] = []
    argument = node.child_by_field_name("argument")
    if argument is not None:
        _use_tree(argument, "", found)
    return found


def _join(prefix: str, path: str) -> str:
    return f"{prefix}::{path}" if prefix and path else prefix or path


def _use_tree(root: Node, prefix: str, found: list[Import]) -> None:
    """The imports of a ``use`` tree, in order; walked with a stack (no recursion), at most
    ``_MAX_USE_DEPTH`` lists deep."""
    stack: list[tuple[Node, str, int]] = [(root, prefix, 0)]
    while stack:
        node, prefix, depth = stack.pop()
        kind = node.type
        if kind == "scoped_identifier":
            module = _join(prefix, _text(node.child_by_field_name("path")))
            found.append(Import(module, _text(node.child_by_field_name("name"))))
        elif kind in ("identifier", "crate", "super"):
            found.append(Import(prefix, _text(node)) if prefix else Import(_text(node)))
        elif kind == "use_as_clause":
            path, alias = node.child_by_field_name("path"), _text(node.child_by_field_name("alias")) or None
            if path is not None and path.type == "scoped_identifier":
                module = _join(prefix, _text(path.child_by_field_name("path")))
                found.append(Import(module, _text(path.child_by_field_name("name")), alias))
            elif path is not None:
                found.append(Import(prefix, _text(path), alias) if prefix else Import(_text(path), None, alias))
        elif depth >= _MAX_USE_DEPTH:
            continue
        elif kind == "use_list":
            stack.extend((child, prefix, depth + 1) for child in reversed(node.named_children))
        elif kind == "scoped_use_list":
            path = node.child_by_field_name("path")
            inner = node.child_by_field_name("list")
            if inner is not None:
                stack.append((inner, _join(prefix, _text(path)), depth + 1))
        elif kind == "use_wildcard":
            base = node.named_children[0] if node.named_child_count else None
            found.append(Import(_join(prefix, _text(base)), "*"))


# -- java -----------------------------------------------------------------------------
def _java(node: Node) -> list[Import]:
    if node.type != "import_declaration":
        return []
    path = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
    if path is None:
        return []
    if any(c.type == "asterisk" for c in node.children):
        return [Import(_text(path), "*")]
    if path.type == "identifier":
        return [Import("", _text(path))]
    return [Import(_text(path.child_by_field_name("scope")), _text(path.child_by_field_name("name")))]


# -- c / c++ --------------------------------------------------------------------------
def _c(node: Node) -> list[Import]:
    if node.type != "preproc_include":
        return []
    path = _unquote(node.child_by_field_name("path"))
    return [Import(path)] if path else []


_READERS: MappingProxyType[str, Callable[[Node], list[Import]]] = MappingProxyType({
    "python": _python, "javascript": _js, "typescript": _js, "tsx": _js,
    "go": _go, "rust": _rust, "java": _java, "c": _c, "cpp": _c,
})

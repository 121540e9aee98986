"""``<img>`` tags: HTML (tree-sitter-html, also inside Markdown) and JSX/TSX (the code grammars).

An ``<img>`` is an image reference when its ``src`` is a static string: an HTML attribute value,
or in JSX a string attribute, ``{"..."}`` or a template literal without substitutions. Its alt
text is the ``alt`` attribute (HTML entities decoded); a JSX ``alt={expression}`` is dynamic and
counts as present. ``role="presentation"``/``"none"`` or ``aria-hidden="true"`` mark an image
decorative (then an empty ``alt`` is what it should have).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax.images import ImageRef, ImageScanner

_DECORATIVE_ROLES = ("presentation", "none")
_HTML_IMG = '[(start_tag (tag_name) @name) (self_closing_tag (tag_name) @name)] @tag (#match? @name "^[iI][mM][gG]$")'
_JSX_IMG = ('[(jsx_opening_element name: (identifier) @name) (jsx_self_closing_element name: (identifier) @name)] '
            '@tag (#eq? @name "img")')


@dataclass(frozen=True)
class _Attr:
    """One attribute: its name, whole extent, and its value (decoded) with the value's extent."""

    name: str
    start: int
    end: int
    value: str | None  # None: a bare attribute (``<img alt>``) or a non-static JSX expression
    value_span: tuple[int, int] | None  # the value's characters (inside the quotes)
    quote: str = '"'
    static: bool = True  # False for a JSX expression that is not a plain string
    in_script: bool = False  # a JSX string literal inside braces


def _text(node: tree_sitter.Node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", errors="replace")


def walk(node: tree_sitter.Node, types: tuple[str, ...]) -> Iterator[tree_sitter.Node]:
    """Nodes of ``types`` under ``node`` in document order (for small subtrees; queries elsewhere)."""
    cursor = node.walk()
    while True:
        if cursor.node is not None and cursor.node.type in types:
            yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def tags(scanner: ImageScanner, query: str, tree: tree_sitter.Tree) -> list[tree_sitter.Node]:
    """The ``@tag`` captures of ``query`` in document order (the caller re-checks the tag's name: a
    predicate inside an alternation is not applied by every tree-sitter version)."""
    return sorted(scanner.captures(query, tree).get("tag", []), key=lambda node: node.start_byte)


def _ref(tag: tree_sitter.Node, attrs: list[_Attr], name_end: int, syntax: str) -> ImageRef | None:
    by_name: dict[str, _Attr] = {}
    for attr in attrs:
        by_name.setdefault(attr.name.lower() if syntax == "html" else attr.name, attr)
    src = by_name.get("src")
    if src is None or src.value is None or not src.static or src.value_span is None:
        return None
    alt = by_name.get("alt")
    role = by_name.get("role")
    hidden = by_name.get("aria-hidden")
    decorative = bool(
        (role is not None and (role.value or "").strip().lower() in _DECORATIVE_ROLES)
        or (hidden is not None and (hidden.value or "").strip().lower() == "true")
    )
    alt_text: str | None = None
    alt_span: tuple[int, int] | None = None
    dynamic = False
    if alt is not None:
        if not alt.static:
            dynamic = True
        elif alt.value_span is None:  # <img alt>: an empty alt (a value goes right after the name)
            alt_text, alt_span = "", (alt.end, alt.end)
        else:
            alt_text, alt_span = alt.value, alt.value_span
    return ImageRef(
        syntax=syntax, form="tag", target=src.value.strip(), span=(tag.start_byte, tag.end_byte),
        target_span=src.value_span, alt=alt_text, alt_span=alt_span,
        insert_at=src.end if src.end > name_end else name_end,
        decorative=decorative, dynamic_alt=dynamic,
        alt_in_script=bool(alt is not None and alt.in_script),
        quote=(alt.quote if alt.value_span is not None else "=") if alt is not None and alt.static else '"',
    )


# -- HTML --------------------------------------------------------------------------------------------


def _html_attr(node: tree_sitter.Node, source: bytes) -> _Attr | None:
    name = next((c for c in node.children if c.type == "attribute_name"), None)
    if name is None:
        return None
    value = next((c for c in node.children if c.type in ("attribute_value", "quoted_attribute_value")), None)
    if value is None:
        return _Attr(_text(name, source), node.start_byte, node.end_byte, None, None)
    if value.type == "attribute_value":  # unquoted
        return _Attr(_text(name, source), node.start_byte, node.end_byte, html.unescape(_text(value, source)),
                     (value.start_byte, value.end_byte), quote="")
    quote = source[value.start_byte:value.start_byte + 1].decode("ascii", errors="replace")
    inner = (value.start_byte + 1, max(value.start_byte + 1, value.end_byte - 1))
    raw = source[inner[0]:inner[1]].decode("utf-8", errors="replace")
    return _Attr(_text(name, source), node.start_byte, node.end_byte, html.unescape(raw), inner, quote=quote)


def html_images(scanner: ImageScanner, tree: tree_sitter.Tree, source: bytes) -> list[ImageRef]:
    """The ``<img>`` references of an HTML tree (a whole file, or HTML inside Markdown)."""
    out: list[ImageRef] = []
    for tag in tags(scanner, _HTML_IMG, tree):
        name = next((c for c in tag.children if c.type == "tag_name"), None)
        if name is None or _text(name, source).lower() != "img":
            continue
        attrs = [a for a in (_html_attr(c, source) for c in tag.children if c.type == "attribute") if a is not None]
        ref = _ref(tag, attrs, name.end_byte, "html")
        if ref is not None:
            out.append(ref)
    return out


# -- JSX -----------------------------------------------------------------------------------------------


def _static_string(node: tree_sitter.Node, source: bytes) -> tuple[str, tuple[int, int], str] | None:
    """A string literal or a template literal without substitutions: (text, inner extent, quote)."""
    if node.type == "string" or (node.type == "template_string"
                                 and not any(c.type == "template_substitution" for c in node.children)):
        inner = (node.start_byte + 1, max(node.start_byte + 1, node.end_byte - 1))
        quote = source[node.start_byte:node.start_byte + 1].decode("ascii", errors="replace")
        return source[inner[0]:inner[1]].decode("utf-8", errors="replace"), inner, quote
    return None


def _jsx_attr(node: tree_sitter.Node, source: bytes) -> _Attr | None:
    children = node.children
    if not children or children[0].type != "property_identifier":
        return None  # a namespaced name or a spread attribute
    name = _text(children[0], source)
    value = children[-1] if len(children) >= 3 else None
    if value is None:
        return _Attr(name, node.start_byte, node.end_byte, None, None)
    if value.type == "string":  # a JSX attribute string: entities decoded, no backslash escapes
        found = _static_string(value, source)
        if found is None:
            return None
        text, inner, quote = found
        return _Attr(name, node.start_byte, node.end_byte, html.unescape(text), inner, quote=quote)
    if value.type == "jsx_expression":
        inside = [c for c in value.children if c.is_named]
        found = _static_string(inside[0], source) if len(inside) == 1 else None
        if found is None:
            return _Attr(name, node.start_byte, node.end_byte, None, None, static=False)
        text, inner, quote = found
        return _Attr(name, node.start_byte, node.end_byte, _unescape_js(text), inner, quote=quote, in_script=True)
    return _Attr(name, node.start_byte, node.end_byte, None, None, static=False)


def _unescape_js(text: str) -> str:
    """The common JavaScript string escapes (enough for paths and alt text)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(following, following))
    return "".join(out)


def jsx_images(scanner: ImageScanner, tree: tree_sitter.Tree, source: bytes) -> list[ImageRef]:
    """The ``<img>`` elements of a JavaScript/TypeScript (JSX/TSX) tree with a static ``src``."""
    out: list[ImageRef] = []
    for tag in tags(scanner, _JSX_IMG, tree):
        name = tag.child_by_field_name("name")
        if name is None or name.type != "identifier" or _text(name, source) != "img":
            continue
        attrs = [a for a in (_jsx_attr(c, source) for c in tag.children if c.type == "jsx_attribute")
                 if a is not None]
        ref = _ref(tag, attrs, name.end_byte, "jsx")
        if ref is not None:
            out.append(ref)
    return out

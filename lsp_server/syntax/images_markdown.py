"""Images in Markdown: ``![alt](path "title")``, reference-style images, and ``<img>`` inside Markdown.

tree-sitter-markdown is two grammars: the block grammar finds paragraphs, headings, table cells,
HTML blocks and link reference definitions; the inline grammar then parses the inline ranges
(without the ``>`` continuation markers of block quotes and lists) and finds ``image`` nodes and
inline HTML tags. HTML blocks and inline tags are read with the HTML grammar. Code spans and code
blocks are never inline content, so images shown as code are not references.

Reference-style images (``![alt][label]``, ``![label][]``, ``![label]``) count only when their
label is defined (CommonMark); their target is the definition's destination. An image is marked
decorative by the title ``"decorative"`` or an attribute list right after it that says
``.decorative``, ``role="presentation"`` or ``aria-hidden="true"``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import tree_sitter

from lsp_server.syntax.images import Heading, ImageRef, ImageScan, ImageScanner
from lsp_server.syntax.images_markup import html_images

_BLOCKS = ("[(inline) (pipe_table_cell)] @inline (html_block) @html (link_reference_definition) @definition "
           "[(atx_heading) (setext_heading)] @heading")
_INLINE = "(image) @image (html_tag) @html"
_MAY_HOLD = re.compile(rb"!\[|<")  # inline content without these holds no image and no HTML tag
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ATTRIBUTES = re.compile(rb"\{[^{}\n]*\}")
_DECORATIVE_ATTRIBUTE = re.compile(
    r"(?:^|\s)\.decorative(?:\s|$)|role\s*=\s*[\"']?(?:presentation|none)\b|aria-hidden\s*=\s*[\"']?true\b", re.I
)


@dataclass(frozen=True)
class _Definition:
    target: str
    span: tuple[int, int]
    title: str


def decode(text: str) -> str:
    """CommonMark text decoding: backslash escapes of ASCII punctuation, then entities."""
    return html.unescape(_ESCAPE.sub(r"\1", text))


def normalize_label(label: str) -> str:
    """A link label as CommonMark matches it: case-folded, inner whitespace collapsed."""
    return " ".join(label.split()).casefold()


def _inline_ranges(node: tree_sitter.Node) -> list[tree_sitter.Range]:
    """The node's extent minus its block continuation markers (``>``, list indentation)."""
    ranges: list[tree_sitter.Range] = []
    start, point = node.start_byte, node.start_point
    for child in node.children:
        if child.type != "block_continuation":
            continue
        if child.start_byte > start:
            ranges.append(tree_sitter.Range(point, child.start_point, start, child.start_byte))
        start, point = child.end_byte, child.end_point
    if node.end_byte > start:
        ranges.append(tree_sitter.Range(point, node.end_point, start, node.end_byte))
    return ranges


def _text(source: bytes, start: int, end: int) -> str:
    return source[start:end].decode("utf-8", errors="replace")


def _title(node: tree_sitter.Node | None, source: bytes) -> str:
    if node is None or node.end_byte - node.start_byte < 2:
        return ""
    return decode(_text(source, node.start_byte + 1, node.end_byte - 1))


def _destination(node: tree_sitter.Node, source: bytes) -> tuple[str, tuple[int, int]]:
    start, end = node.start_byte, node.end_byte
    if source[start:start + 1] == b"<" and source[end - 1:end] == b">":
        start, end = start + 1, end - 1
    return decode(_text(source, start, end)), (start, end)


def _definitions(nodes: list[tree_sitter.Node], source: bytes) -> dict[str, _Definition]:
    found: dict[str, _Definition] = {}
    for node in sorted(nodes, key=lambda n: n.start_byte):
        label = next((c for c in node.children if c.type == "link_label"), None)
        dest = next((c for c in node.children if c.type == "link_destination"), None)
        if label is None or dest is None:
            continue
        key = normalize_label(_text(source, label.start_byte + 1, label.end_byte - 1))
        target, span = _destination(dest, source)
        title = _title(next((c for c in node.children if c.type == "link_title"), None), source)
        found.setdefault(key, _Definition(target, span, title))  # the first definition wins
    return found


def _headings(nodes: list[tree_sitter.Node], source: bytes) -> list[Heading]:
    out: list[Heading] = []
    for node in sorted(nodes, key=lambda n: n.start_byte):
        level = 1
        title = ""
        for child in node.children:
            kind = child.type
            if kind.startswith("atx_h") and kind.endswith("_marker"):
                level = int(kind[5])
            elif kind == "setext_h2_underline":
                level = 2
            elif kind in ("inline", "paragraph"):
                title = _text(source, child.start_byte, child.end_byte)
        out.append(Heading(node.start_point.row, level, " ".join(decode(title).strip().rstrip("#").split())))
    return out


def _decorative_after(source: bytes, end: int) -> bool:
    """An attribute list right after the image (``{.decorative}``, pandoc/kramdown style)."""
    match = _ATTRIBUTES.match(source, end)
    return bool(match and _DECORATIVE_ATTRIBUTE.search(_text(source, match.start() + 1, match.end() - 1)))


def _image(node: tree_sitter.Node, source: bytes, definitions: dict[str, _Definition]) -> ImageRef | None:
    children = node.children
    opens = [i for i, c in enumerate(children) if c.type == "["]
    if not opens:
        return None
    first = opens[0]
    close = next((i for i in range(first + 1, len(children)) if children[i].type == "]"), None)
    if close is None:
        return None
    alt_span = (children[first].end_byte, children[close].start_byte)
    alt = decode(_text(source, *alt_span))
    dest = next((c for c in children if c.type == "link_destination"), None)
    title_node = next((c for c in children if c.type == "link_title"), None)
    label_node = next((c for c in children if c.type == "link_label"), None)
    label_span: tuple[int, int] | None = None
    if dest is not None:
        target, target_span = _destination(dest, source)
        form, label, title = "inline", "", _title(title_node, source)
    elif any(c.type == "(" for c in children):
        return None  # ![alt]() or ![alt](<>): no target
    else:
        if label_node is not None and label_node.end_byte - label_node.start_byte > 2:
            form, label = "reference", _text(source, label_node.start_byte + 1, label_node.end_byte - 1)
        elif len(children) > close + 2 and children[close + 1].type == "[" and children[close + 2].type == "]":
            form, label = "collapsed", _text(source, *alt_span)
            label_span = (children[close + 1].start_byte, children[close + 2].end_byte)
        else:
            form, label = "shortcut", _text(source, *alt_span)
        definition = definitions.get(normalize_label(label))
        if definition is None:
            return None  # an undefined label: not an image (CommonMark), just text
        target, target_span, title = definition.target, definition.span, definition.title
    if not target.strip():
        return None
    decorative = title.strip().lower() == "decorative" or _decorative_after(source, node.end_byte)
    return ImageRef(
        syntax="markdown", form=form, target=target.strip(), span=(node.start_byte, node.end_byte),
        target_span=target_span, alt=alt, alt_span=alt_span, insert_at=alt_span[0], decorative=decorative,
        label=label, label_span=label_span,
    )


def scan(scanner: ImageScanner, source: bytes) -> ImageScan:
    """The images and headings of a Markdown document (``source``: tree bytes).

    The inline grammar runs only over the inline ranges that may hold an image or an HTML tag
    (they contain ``![`` or ``<``), which is most of the cost saved on a long document.
    """
    block = scanner.parser("markdown")
    if block is None:
        return ImageScan("markdown", ())
    tree = block.parse(source)
    found = scanner.captures(_BLOCKS, tree)
    inline_ranges: list[tree_sitter.Range] = []
    for node in found.get("inline", []):
        if _MAY_HOLD.search(source, node.start_byte, node.end_byte):
            inline_ranges.extend(_inline_ranges(node))
    html_ranges = [r for node in found.get("html", []) for r in _inline_ranges(node)]
    refs: list[ImageRef] = []
    definitions = _definitions(found.get("definition", []), source)
    inline = scanner.parser("markdown_inline")
    if inline is not None and inline_ranges:
        inline.included_ranges = sorted(inline_ranges, key=lambda r: r.start_byte)
        inline_found = scanner.captures(_INLINE, inline.parse(source))
        html_ranges.extend(node.range for node in inline_found.get("html", []))
        for node in inline_found.get("image", []):
            ref = _image(node, source, definitions)
            if ref is not None:
                refs.append(ref)
    markup = scanner.parser("html") if html_ranges else None
    if markup is not None:
        markup.included_ranges = sorted(html_ranges, key=lambda r: r.start_byte)
        refs.extend(html_images(scanner, markup.parse(source), source))
    refs.sort(key=lambda r: r.span)
    return ImageScan("markdown", tuple(refs), tuple(_headings(found.get("heading", []), source)))

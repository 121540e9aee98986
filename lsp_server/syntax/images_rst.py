"""Images in reStructuredText: ``.. image::`` and ``.. figure::`` directives, and section titles.

tree-sitter-rst parses each directive into its type, arguments (the image URI), options
(``:alt:``, ``:class:``, ...) and content; image substitution definitions
(``.. |logo| image:: logo.png``) are directives too. Directive and option names are matched
case-insensitively, as docutils does. The URI loses its whitespace unless escaped (``\\ ``),
as docutils reads it. ``:class: decorative`` marks an image decorative. Directives written
inside another directive's content (an image inside a figure's caption) are not parsed.

Section levels follow the order in which adornment styles first appear, as in docutils.
"""

from __future__ import annotations

import re

import tree_sitter

from lsp_server.syntax.images import Heading, ImageRef, ImageScan, ImageScanner

_DIRECTIVES = ("image", "figure")
_SPACE = re.compile(r"\s+")


def _text(source: bytes, start: int, end: int) -> str:
    return source[start:end].decode("utf-8", errors="replace")


def _uri(raw: str) -> str:
    """A directive argument as docutils reads a URI: unescaped spaces removed, escapes undone."""
    kept = _SPACE.sub("", raw.replace("\\ ", "\0"))
    return re.sub(r"\\(.)", r"\1", kept).replace("\0", " ")


def _trimmed(source: bytes, start: int, end: int) -> tuple[int, int]:
    """The extent without trailing white space (the grammar keeps a CRLF's ``\r`` in the text)."""
    return start, start + len(source[start:end].rstrip())


def _line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def _indent(source: bytes, offset: int) -> str:
    start = _line_start(source, offset)
    return source[start:offset].decode("utf-8", errors="replace") if source[start:offset].isspace() else ""


def _fields(options: tree_sitter.Node | None, source: bytes) -> dict[str, tree_sitter.Node]:
    found: dict[str, tree_sitter.Node] = {}
    if options is None:
        return found
    for field in options.children:
        if field.type != "field":
            continue
        name = next((c for c in field.children if c.type == "field_name"), None)
        if name is not None:
            found.setdefault(_text(source, name.start_byte, name.end_byte).strip().lower(), field)
    return found


def _directive(node: tree_sitter.Node, source: bytes) -> ImageRef | None:
    kind = next((c for c in node.children if c.type == "type"), None)
    body = next((c for c in node.children if c.type == "body"), None)
    if kind is None or body is None:
        return None
    form = _text(source, kind.start_byte, kind.end_byte).strip().lower()
    arguments = next((c for c in body.children if c.type == "arguments"), None)
    if form not in _DIRECTIVES or arguments is None:
        return None
    target = _uri(_text(source, arguments.start_byte, arguments.end_byte))
    if not target:
        return None
    options = next((c for c in body.children if c.type == "options"), None)
    content = next((c for c in body.children if c.type == "content"), None)
    fields = _fields(options, source)
    alt_field = fields.get("alt")
    alt: str | None = None
    alt_span: tuple[int, int] | None = None
    if alt_field is not None:
        value = next((c for c in alt_field.children if c.type == "field_body"), None)
        if value is None:  # ":alt:" with nothing after it
            end = _trimmed(source, alt_field.start_byte, alt_field.end_byte)[1]
            alt, alt_span = "", (end, end)
        else:
            alt_span = _trimmed(source, value.start_byte, value.end_byte)
            alt = " ".join(_text(source, *alt_span).split())
    classes = fields.get("class")
    decorative = classes is not None and "decorative" in _text(source, classes.start_byte, classes.end_byte).lower()
    if options is not None:
        indent = _indent(source, options.start_byte)
    elif content is not None:
        indent = _indent(source, content.start_byte)
    else:
        indent = ""
    if not indent:  # the directive's own indentation plus three, as docutils' examples do
        start = node.parent.start_byte if node.parent is not None and node.parent.type == "substitution_definition" \
            else node.start_byte
        line = _line_start(source, start)
        indent = " " * (len(source[line:start].decode("utf-8", errors="replace")) + 3)
    start = node.parent.start_byte if node.parent is not None and node.parent.type == "substitution_definition" \
        else node.start_byte
    target_span = _trimmed(source, arguments.start_byte, arguments.end_byte)
    return ImageRef(
        syntax="rst", form=form, target=target, span=(start, target_span[1]), target_span=target_span, alt=alt,
        alt_span=alt_span, insert_at=target_span[1], decorative=decorative, indent=indent,
    )


def _headings(nodes: list[tree_sitter.Node], source: bytes) -> list[Heading]:
    styles: list[tuple[str, bool]] = []
    out: list[Heading] = []
    for node in sorted(nodes, key=lambda n: n.start_byte):
        adornments = [c for c in node.children if c.type == "adornment"]
        title = next((c for c in node.children if c.type == "title"), None)
        if not adornments or title is None:
            continue
        char = _text(source, adornments[-1].start_byte, adornments[-1].start_byte + 1)
        style = (char, adornments[0].start_byte < title.start_byte)
        if style not in styles:
            styles.append(style)
        text = " ".join(_text(source, title.start_byte, title.end_byte).split())
        out.append(Heading(node.start_point.row, styles.index(style) + 1, text))
    return out


def scan(scanner: ImageScanner, source: bytes) -> ImageScan:
    """The image directives and section titles of a reStructuredText document."""
    parser = scanner.parser("rst")
    if parser is None:
        return ImageScan("rst", ())
    found = scanner.captures("(directive) @directive (section) @section", parser.parse(source))
    directives = sorted(found.get("directive", []), key=lambda n: n.start_byte)
    refs = [ref for ref in (_directive(node, source) for node in directives) if ref is not None]
    return ImageScan("rst", tuple(refs), tuple(_headings(found.get("section", []), source)))

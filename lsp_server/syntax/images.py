"""Image references in documents: Markdown, HTML, JSX/TSX and reStructuredText, with exact byte ranges.

``ImageScanner.scan`` turns a document's bytes into ``ImageRef`` values (where each reference
is, where its target and its alt text are, whether it is marked decorative) and the document's
headings (for sections and for the context of an image). Every offset is a byte offset into the
document's UTF-8 bytes, so the one conversion seam (``protocol/convert.py``) turns it into an LSP
range in whatever encoding the client negotiated. Nothing here reads image files or resolves
paths: that is the engine's and the model side's business.

Parsing is tree-sitter throughout, with pinned grammar wheels: ``tree-sitter-markdown`` (its
block grammar, then its inline grammar over the block tree's inline ranges), ``tree-sitter-html``
(HTML files, and the HTML blocks and inline tags inside Markdown), ``tree-sitter-rst``
(``.. image::`` / ``.. figure::`` directives and section titles), and the project's own
JavaScript/TSX grammars for JSX ``<img>``. A grammar that fails to load is logged once and its
documents simply have no image references.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from dataclasses import dataclass

import tree_sitter

from lsp_server.core.text import tree_bytes

log = logging.getLogger(__name__)

#: The syntaxes this module reads images from ("jsx" uses the code registry's tree).
SYNTAXES = ("markdown", "html", "rst", "jsx")
_LANGUAGE_IDS = {
    "markdown": "markdown", "md": "markdown", "mdx": "markdown",
    "html": "html", "htm": "html", "xhtml": "html",
    "restructuredtext": "rst", "rst": "rst",
    "javascript": "jsx", "javascriptreact": "jsx", "jsx": "jsx", "typescriptreact": "jsx", "tsx": "jsx",
}
_EXTENSIONS = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown", ".mdx": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".rst": "rst", ".rest": "rst",
    ".jsx": "jsx", ".tsx": "jsx", ".js": "jsx", ".mjs": "jsx",
}
# (module, function) of each grammar this module loads itself.
_GRAMMARS = {
    "markdown": ("tree_sitter_markdown", "language"),
    "markdown_inline": ("tree_sitter_markdown", "inline_language"),
    "html": ("tree_sitter_html", "language"),
    "rst": ("tree_sitter_rst", "language"),
}
#: The prose syntaxes: their documents' figures are reviewed, and nobody wants ghost text in prose
#: while typing (a completion there is given when asked for).
PROSE_SYNTAXES = ("markdown", "rst")
#: Extensions of the documents whose figures are reviewed (Markdown, reStructuredText).
DOCUMENT_EXTENSIONS = frozenset(ext for ext, syntax in _EXTENSIONS.items() if syntax in PROSE_SYNTAXES)
# What an image reference must contain, per syntax: a document without it is not parsed at all.
_MARKERS = {
    "markdown": re.compile(rb"!\[|<img", re.I),
    "html": re.compile(rb"<img", re.I),
    "jsx": re.compile(rb"<img"),
    "rst": re.compile(rb"image::|figure::", re.I),
}
#: Markdown/HTML/rST files read for images and figure reviews: the languages the server serves
#: for them (besides the code languages), as LSP language ids.
DOCUMENT_LANGUAGE_IDS = ("markdown", "html", "restructuredtext")


@dataclass(frozen=True)
class ImageRef:
    """One image reference. Offsets are bytes into the document; ``alt`` is decoded text.

    ``alt`` is None when there is no alt text at all (an ``<img>`` without ``alt``, a directive
    without ``:alt:``); Markdown always has a description, possibly empty. ``alt_span`` is where
    the alt text's characters are (between the brackets or quotes; an empty range when empty);
    when there is none, ``insert_at`` is where an alt attribute/option goes.
    """

    syntax: str  # "markdown", "html", "jsx", "rst"
    form: str  # markdown: inline, reference, collapsed, shortcut; html/jsx: tag; rst: image, figure
    target: str  # the image's path or URL, decoded (escapes, entities)
    span: tuple[int, int]  # the whole reference
    target_span: tuple[int, int]  # the target as written (inside quotes/brackets)
    alt: str | None
    alt_span: tuple[int, int] | None
    insert_at: int
    decorative: bool = False
    dynamic_alt: bool = False  # JSX alt={expression}: unknown until run time
    alt_in_script: bool = False  # JSX alt={"..."}: the alt is a JavaScript string literal
    label: str = ""  # a Markdown reference's label as written (collapsed/shortcut: its description)
    label_span: tuple[int, int] | None = None  # the "[]" of a collapsed reference
    quote: str = '"'  # the quote around an HTML/JSX alt value; "" unquoted; "=" a bare ``alt``
    indent: str = ""  # reStructuredText: the indentation of the directive's options

    @property
    def missing_alt(self) -> bool:
        """No usable alt text and not marked decorative (a dynamic JSX alt counts as present)."""
        if self.decorative or self.dynamic_alt:
            return False
        return self.alt is None or not self.alt.strip()


@dataclass(frozen=True)
class Heading:
    """A section heading: its first row, level (1 = top) and title text."""

    row: int
    level: int
    title: str


@dataclass(frozen=True)
class ImageScan:
    """A document's image references in document order, and its headings."""

    syntax: str
    refs: tuple[ImageRef, ...]
    headings: tuple[Heading, ...] = ()


def image_syntax(language_id: str | None, path: str) -> str | None:
    """The image syntax of a document by its LSP language id, else its extension; None if none."""
    syntax = _LANGUAGE_IDS.get((language_id or "").strip().lower())
    if syntax is None:
        syntax = _EXTENSIONS.get(os.path.splitext(path or "")[1].lower())
    return syntax


def is_prose(language_id: str | None, path: str) -> bool:
    """Whether the document is prose (Markdown, reStructuredText), by language id, else extension."""
    return image_syntax(language_id, path) in PROSE_SYNTAXES


def may_hold_images(data: bytes, syntax: str) -> bool:
    """Whether ``data`` contains what an image reference of ``syntax`` needs (a byte search)."""
    marker = _MARKERS.get(syntax)
    return bool(marker is not None and marker.search(data))


class ImageScanner:
    """Loads the document grammars lazily (once per instance) and scans documents for images.

    Thread-safe: each scan makes its own parsers (creating one costs microseconds).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._languages: dict[str, tree_sitter.Language | None] = {}
        self._queries: dict[tuple[tree_sitter.Language, str], tree_sitter.Query] = {}

    def language(self, name: str) -> tree_sitter.Language | None:
        """A grammar of ``_GRAMMARS`` or None (logged once) when it cannot be loaded."""
        with self._lock:
            if name not in self._languages:
                module, attr = _GRAMMARS[name]
                try:
                    self._languages[name] = tree_sitter.Language(getattr(importlib.import_module(module), attr)())
                except Exception as exc:  # noqa: BLE001 - missing wheel, ABI mismatch
                    log.warning("tree-sitter grammar %s unavailable (%s: %s): no image references in those files",
                                name, type(exc).__name__, exc)
                    self._languages[name] = None
            return self._languages[name]

    def parser(self, name: str) -> tree_sitter.Parser | None:
        language = self.language(name)
        return tree_sitter.Parser(language) if language is not None else None

    def captures(self, source: str, tree: tree_sitter.Tree, node: tree_sitter.Node | None = None
                 ) -> dict[str, list[tree_sitter.Node]]:
        """The captures of a query (compiled once per grammar) in ``tree``; matching runs in C."""
        key = (tree.language, source)
        with self._lock:
            query = self._queries.get(key)
            if query is None:
                query = self._queries[key] = tree_sitter.Query(tree.language, source)
        return tree_sitter.QueryCursor(query).captures(node or tree.root_node)

    def scan(self, data: bytes, syntax: str, tree: tree_sitter.Tree | None = None) -> ImageScan:
        """The image references and headings of ``data`` (the document's UTF-8 bytes).

        ``tree`` is the document's own tree-sitter tree for JSX (the code registry parses it);
        Markdown, HTML and reStructuredText are parsed here.
        """
        from lsp_server.syntax import images_markdown, images_markup, images_rst

        if not may_hold_images(data, syntax):
            return ImageScan(syntax, ())  # no image can be there: nothing to parse
        source = tree_bytes(data)  # lone CRs read as LFs: rows agree with LSP lines
        if syntax == "markdown":
            return images_markdown.scan(self, source)
        if syntax == "html":
            parser = self.parser("html")
            if parser is None:
                return ImageScan(syntax, ())
            refs = images_markup.html_images(self, parser.parse(source), source)
            return ImageScan(syntax, tuple(refs))
        if syntax == "rst":
            return images_rst.scan(self, source)
        if syntax == "jsx":
            refs = images_markup.jsx_images(self, tree, source) if tree is not None else []
            return ImageScan(syntax, tuple(refs))
        return ImageScan(syntax, ())

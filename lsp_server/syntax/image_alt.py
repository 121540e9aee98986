"""Writing an image's alt text: escaping for its syntax, and the minimal edits that set it.

``alt_edits`` changes only the alt text: the characters between a Markdown image's brackets,
an ``alt`` attribute's value (or a new ``alt="..."`` right after ``src``), a directive's
``:alt:`` value (or a new ``:alt:`` option line). The one exception is Markdown's collapsed
and shortcut references (``![logo][]``, ``![logo]``), whose description is also their label:
the label is kept by writing it out (``![new alt][logo]``), so the reference still resolves.
Edits are (start byte, end byte, new text) in the document's bytes, in document order.
"""

from __future__ import annotations

import html

from lsp_server.syntax.images import ImageRef

ByteEdit = tuple[int, int, str]
# Characters with a meaning inside a Markdown image description (all ASCII punctuation may be
# backslash-escaped in CommonMark; these are the ones that could change what the text is).
_MARKDOWN_SPECIAL = "\\`*_[]<>&|!"


def escape_alt(ref: ImageRef, text: str) -> str:
    """``text`` as it must be written in ``ref``'s syntax (one line, already cleaned)."""
    if ref.syntax == "markdown":
        return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in text)
    if ref.syntax == "rst":
        return text.replace("\\", "\\\\")
    if ref.alt_in_script:  # a JavaScript string literal: alt={"..."}
        quote = ref.quote or '"'
        escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
        return escaped.replace("${", "\\${") if quote == "`" else escaped
    return html.escape(text, quote=True)  # HTML and JSX attribute strings decode entities


def alt_edits(ref: ImageRef, text: str, source: bytes, eol: str = "\n") -> list[ByteEdit]:
    """The edits that make ``text`` the alt text of ``ref`` (``source``: the document's bytes)."""
    value = escape_alt(ref, text)
    if ref.syntax == "markdown":
        assert ref.alt_span is not None
        if ref.form == "shortcut":
            return [(ref.alt_span[0], ref.alt_span[1], f"{value}][{ref.label}")]
        edits: list[ByteEdit] = [(ref.alt_span[0], ref.alt_span[1], value)]
        if ref.form == "collapsed" and ref.label_span is not None:
            edits.append((ref.label_span[0], ref.label_span[1], f"[{ref.label}]"))
        return edits
    if ref.syntax == "rst":
        if ref.alt_span is None:
            return [(ref.insert_at, ref.insert_at, f"{eol}{ref.indent}:alt: {value}")]
        start, end = ref.alt_span
        prefix = " " if start == end and source[start - 1:start] == b":" else ""
        return [(start, end, prefix + value)]
    # HTML and JSX tags
    if ref.alt_span is None:
        return [(ref.insert_at, ref.insert_at, f' alt="{value}"')]
    start, end = ref.alt_span
    if ref.quote == "=":  # a bare `alt`: give it a value
        return [(start, end, f'="{value}"')]
    if ref.quote == "":  # an unquoted value: quote the new one
        return [(start, end, f'"{value}"')]
    return [(start, end, value)]

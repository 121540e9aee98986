"""Image references per syntax, with exact ranges; alt-text edits and their escaping."""

from __future__ import annotations

import pytest

from lsp_server.core.text import TextBuffer
from lsp_server.syntax.image_alt import alt_edits, escape_alt
from lsp_server.syntax.images import ImageRef, ImageScanner, image_syntax
from lsp_server.syntax.languages import LanguageRegistry


@pytest.fixture(scope="module")
def scanner() -> ImageScanner:
    return ImageScanner()


def scan(scanner: ImageScanner, text: str, syntax: str) -> tuple[bytes, list[ImageRef]]:
    data = text.encode("utf-8")
    tree = None
    if syntax == "jsx":
        registry = LanguageRegistry()
        spec = registry.for_document("typescriptreact", "x.tsx")
        assert spec is not None
        tree = registry.parser(spec).parse(data)
    return data, list(scanner.scan(data, syntax, tree).refs)


def cut(data: bytes, span: tuple[int, int] | None) -> str:
    assert span is not None
    return data[span[0]:span[1]].decode("utf-8")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def apply(data: bytes, edits: list[tuple[int, int, str]]) -> str:
    out = data
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text.encode("utf-8") + out[end:]
    return out.decode("utf-8")


# -- Markdown -------------------------------------------------------------------------------------------


def test_markdown_inline_image_ranges_after_emoji_and_cjk_are_exact_in_utf16(scanner: ImageScanner) -> None:
    prefix = "Intro 😀 中文 "
    text = f"# Title\n\n{prefix}![Sales 📈](docs/chart.png \"Q3\") after\n"
    data, refs = scan(scanner, text, "markdown")
    assert len(refs) == 1
    ref = refs[0]
    assert (ref.form, ref.target, ref.alt) == ("inline", "docs/chart.png", "Sales 📈")
    assert cut(data, ref.span) == '![Sales 📈](docs/chart.png "Q3")'
    assert cut(data, ref.target_span) == "docs/chart.png"
    assert cut(data, ref.alt_span) == "Sales 📈"
    buffer = TextBuffer(text)
    assert buffer.position_at(ref.span[0], "utf-16") == (2, utf16(prefix))
    assert buffer.position_at(ref.span[1], "utf-16") == (2, utf16(prefix + '![Sales 📈](docs/chart.png "Q3")'))
    assert buffer.position_at(ref.target_span[0], "utf-8") == (2, len((prefix + "![Sales 📈](").encode()))


def test_markdown_crlf_lines_and_images_at_start_and_end(scanner: ImageScanner) -> None:
    text = "![](first.png)\r\n\r\ntext\r\n\r\n![last](end.png)"
    data, refs = scan(scanner, text, "markdown")
    assert [r.target for r in refs] == ["first.png", "end.png"]
    buffer = TextBuffer(text)
    assert buffer.position_at(refs[0].span[0], "utf-16") == (0, 0)
    assert buffer.position_at(refs[1].span[0], "utf-16") == (4, 0)
    assert buffer.position_at(refs[1].span[1], "utf-16") == (4, len("![last](end.png)"))
    assert refs[0].missing_alt and not refs[1].missing_alt


def test_markdown_reference_styles_need_a_definition(scanner: ImageScanner) -> None:
    text = ("![full alt][Chart One] ![coll][] ![short] ![nope][undefined]\n\n"
            "[chart  one]: img/one.png\n[coll]: <img/two words.png> \"T\"\n[SHORT]: img/three.png\n")
    data, refs = scan(scanner, text, "markdown")
    assert [(r.form, r.target, r.alt, r.label) for r in refs] == [
        ("reference", "img/one.png", "full alt", "Chart One"),
        ("collapsed", "img/two words.png", "coll", "coll"),
        ("shortcut", "img/three.png", "short", "short"),
    ]
    assert cut(data, refs[0].target_span) == "img/one.png"  # where the path is written: the definition
    assert cut(data, refs[1].target_span) == "img/two words.png"


def test_markdown_html_images_quotes_lists_tables_and_no_code(scanner: ImageScanner) -> None:
    text = (
        "> quote ![q](q.png)\n> ![q2](q2.png)\n\n"
        "- item ![li](li.png)\n\n"
        "| a | b |\n|---|---|\n| x | ![cell](cell.png) |\n\n"
        "Text <img src=\"inline.png\" alt=\"a &amp; b\"> and `![code](no1.png)`\n\n"
        "```\n![fence](no2.png)\n```\n\n"
        "<div>\n<img src='block.png'>\n<!-- <img src=\"no3.png\"> -->\n</div>\n\n"
        "[![badge](badge.svg)](https://example.com)\n"
    )
    data, refs = scan(scanner, text, "markdown")
    assert [r.target for r in refs] == ["q.png", "q2.png", "li.png", "cell.png", "inline.png", "block.png",
                                        "badge.svg"]
    inline = refs[4]
    assert (inline.syntax, inline.alt) == ("html", "a & b")
    assert cut(data, inline.alt_span) == "a &amp; b"
    assert refs[5].alt is None and refs[5].missing_alt


def test_markdown_escapes_entities_and_decorative_markers(scanner: ImageScanner) -> None:
    text = ('![a \\] b &amp; c](<my file.png>) ![](dec.png "decorative") ![](attr.png){.decorative}\n'
            '![](role.png){role="presentation"} ![](plain.png)\n')
    data, refs = scan(scanner, text, "markdown")
    assert refs[0].alt == "a ] b & c" and refs[0].target == "my file.png"
    assert [r.decorative for r in refs] == [False, True, True, True, False]
    assert [r.missing_alt for r in refs] == [False, False, False, False, True]


def test_markdown_headings_atx_and_setext(scanner: ImageScanner) -> None:
    text = "# One *x* #\n\nTwo\n---\n\n### Three 😀\n\n![](a.png)\n"
    headings = scanner.scan(text.encode(), "markdown").headings
    assert [(h.row, h.level, h.title) for h in headings] == [(0, 1, "One *x*"), (2, 2, "Two"), (5, 3, "Three 😀")]
    assert scanner.scan(b"# No images\n\nat all, not even <b>tags</b>\n", "markdown").refs == ()  # not parsed


# -- HTML and JSX ---------------------------------------------------------------------------------------


def test_html_img_attributes(scanner: ImageScanner) -> None:
    text = ('<p>日本 <IMG SRC="a.png" ALT="x &quot;y&quot;"><img src=b.png alt=plain>'
            "<img alt src='c.png'><img src=\"d.png\" alt=\"\" role=\"presentation\">"
            '<img src="e.png" alt="" aria-hidden="true"><img src="f.png" alt=""><img alt="no src"></p>')
    data, refs = scan(scanner, text, "html")
    assert [(r.target, r.alt, r.decorative, r.missing_alt) for r in refs] == [
        ("a.png", 'x "y"', False, False), ("b.png", "plain", False, False), ("c.png", "", False, True),
        ("d.png", "", True, False), ("e.png", "", True, False), ("f.png", "", False, True),
    ]
    assert TextBuffer(text).position_at(refs[0].span[0], "utf-16") == (0, utf16("<p>日本 "))


def test_jsx_static_sources_only(scanner: ImageScanner) -> None:
    text = ("export const A = () => (<div>\n  <img src=\"./a.png\" alt=\"An A\" />\n"
            "  <img src={\"b.png\"} alt={t('x')} />\n  <img src={`c.png`} alt={\"C \\\"q\\\"\"} />\n"
            "  <img src={logo} />\n  <Img src=\"component.png\" />\n  <img src=\"d.png\" />\n</div>);\n")
    data, refs = scan(scanner, text, "jsx")
    assert [(r.target, r.alt, r.dynamic_alt, r.alt_in_script) for r in refs] == [
        ("./a.png", "An A", False, False), ("b.png", None, True, False), ("c.png", 'C "q"', False, True),
        ("d.png", None, False, False),
    ]
    assert [r.missing_alt for r in refs] == [False, False, False, True]


# -- reStructuredText -----------------------------------------------------------------------------------


def test_rst_directives(scanner: ImageScanner) -> None:
    text = (
        "Title\n=====\n\n.. image:: img/a.png\n   :alt: The A\n\n"
        ".. figure:: charts/b.png\n   :width: 50%\n\n   Caption.\n\n"
        ".. |logo| image:: logo.png\n\n.. IMAGE:: with\\ space.png\n  :class: decorative\n\n"
        ".. image:: https://example.com/r.png\n.. note:: not an image\n"
    )
    data, refs = scan(scanner, text, "rst")
    assert [(r.form, r.target, r.alt, r.decorative) for r in refs] == [
        ("image", "img/a.png", "The A", False), ("figure", "charts/b.png", None, False),
        ("image", "logo.png", None, False), ("image", "with space.png", None, True),
        ("image", "https://example.com/r.png", None, False),
    ]
    assert [r.indent for r in refs[:2]] == ["   ", "   "]
    assert cut(data, refs[0].alt_span) == "The A"
    assert scanner.scan(data, "rst").headings[0].title == "Title"


def test_image_syntax_by_language_id_then_extension() -> None:
    assert image_syntax("markdown", "x.txt") == "markdown"
    assert image_syntax(None, "docs/a.MD") == "markdown"
    assert image_syntax("restructuredtext", "a") == "rst"
    assert image_syntax("typescriptreact", "a.tsx") == "jsx"
    assert image_syntax("python", "a.py") is None


# -- writing alt text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "syntax", "alt", "expected"), [
    ("x ![](c.png) y", "markdown", "Sales [Q3] *up* 10|20 \\ <b>", "x ![Sales \\[Q3\\] \\*up\\* 10\\|20 \\\\ \\<b\\>](c.png) y"),
    ("![old](c.png)", "markdown", "New", "![New](c.png)"),
    ("![logo]\n\n[logo]: l.png\n", "markdown", "Acme logo", "![Acme logo][logo]\n\n[logo]: l.png\n"),
    ("![logo][]\n\n[logo]: l.png\n", "markdown", "Acme logo", "![Acme logo][logo]\n\n[logo]: l.png\n"),
    ('<img src="a.png">', "html", 'Say "hi" & <go>', '<img src="a.png" alt="Say &quot;hi&quot; &amp; &lt;go&gt;">'),
    ("<img src=a.png alt=old>", "html", "new one", '<img src=a.png alt="new one">'),
    ("<img alt src='a.png'>", "html", "x", "<img alt=\"x\" src='a.png'>"),
    ("<img src='a.png' alt=''>", "html", "it's", "<img src='a.png' alt='it&#x27;s'>"),
])
def test_alt_edits_touch_only_the_alt_text(scanner: ImageScanner, text: str, syntax: str, alt: str,
                                           expected: str) -> None:
    data, refs = scan(scanner, text, syntax)
    assert apply(data, alt_edits(refs[0], alt, data)) == expected
    _, again = scan(scanner, expected, syntax)
    assert again[0].alt == alt  # what was written reads back as the same text


def test_alt_edits_jsx_and_rst(scanner: ImageScanner) -> None:
    data, refs = scan(scanner, 'const a = <img src="a.png" />;', "jsx")
    assert apply(data, alt_edits(refs[0], 'A "b"', data)) == 'const a = <img src="a.png" alt="A &quot;b&quot;" />;'
    data, refs = scan(scanner, 'const a = <img src="a.png" alt={"x"} />;', "jsx")
    assert apply(data, alt_edits(refs[0], 'A "b" \\', data)) == 'const a = <img src="a.png" alt={"A \\"b\\" \\\\"} />;'
    text = "Intro\r\n\r\n.. image:: a.png\r\n   :width: 10\r\n\r\nEnd\r\n"
    data, refs = scan(scanner, text, "rst")
    out = apply(data, alt_edits(refs[0], "A \\ chart", data, "\r\n"))
    assert out == "Intro\r\n\r\n.. image:: a.png\r\n   :alt: A \\\\ chart\r\n   :width: 10\r\n\r\nEnd\r\n"
    _, again = scan(scanner, out, "rst")
    assert again[0].alt == "A \\\\ chart"  # docutils undoes the escape when it renders
    data, refs = scan(scanner, ".. image:: a.png\n   :alt:\n", "rst")
    assert apply(data, alt_edits(refs[0], "New", data)) == ".. image:: a.png\n   :alt: New\n"


def test_escape_alt_per_syntax(scanner: ImageScanner) -> None:
    _, refs = scan(scanner, "![](a.png)", "markdown")
    assert escape_alt(refs[0], "a_b") == "a\\_b"

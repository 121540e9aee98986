"""The keystroke-path structures agree with straightforward recomputation.

* the Outline's lazily shifted tables and per-name index, after random edits to large
  files with many definitions, equal a full rebuild (also with tiny SpanIndex blocks);
* ``cursor_context``'s local signatures equal the original whole-table algorithm;
* ``would_add_errors`` and ``errors_in`` equal their original eager versions.
"""

from __future__ import annotations

import random
import re

import pytest
import tree_sitter

from lsp_server.syntax import spans, validate
from lsp_server.syntax.context import MAX_PER_NAME, MAX_SIGNATURES, cursor_context
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.nodes import children_touching, errors_in
from lsp_server.syntax.outline import Outline
from lsp_server.syntax.queries import COMMENT_MARK, STRING_TYPES
from lsp_server.syntax.validate import _closer, _ends_with_opener, _to_old, _trial_parse, would_add_errors

PY_UNIT = '''
import os{n}


@cache
def process_{n}(records: list[dict], limit: int = {n}) -> dict[str, int]:
    """Count records ({n}); see Handler{n}."""
    total = helper_{m}(records)  # helper_{m} in a comment
    return {{"n": total}}


class Handler{n}(Base):
    def __init__(self, name: str) -> None:
        self.name = name

    def handle(self, item: dict) -> bool:
        def inner(x):
            return process_{n}([x])
        return bool(inner(item))


def helper_{n}(records):
    return len(records)
'''
JS_UNIT = '''
import {{ thing{n} }} from "./mod{n}";

function process{n}(records, limit = {n}) {{
  const total = helper{m}(records); // helper{m} in a comment
  return {{ n: total }};
}}

class Handler{n} extends Base {{
  handle(item) {{
    const inner = (x) => process{n}([x]);
    return Boolean(inner(item));
  }}
}}

const helper{n} = function (records) {{ return records.length; }};
'''
PIECES = {
    "python": ("x", " ", "\n", "    ", "(", ")", ":", '"', '"""', "#", "def ", "class ", "@dec\n",
               "\n\ndef added(a):\n    return a\n", "import sys\n", "process_3(", "self.handle()\n"),
    "javascript": ("x", " ", "\n", "  ", "(", ")", "{", "}", "`", "'", "//", "/*", "function ",
                   "\nfunction added(a) { return a; }\n", "import x from \"y\";\n", "process3("),
}


def big_file(name: str, units: int) -> str:
    template = PY_UNIT if name == "python" else JS_UNIT
    return "".join(template.format(n=n, m=(n * 7) % units) for n in range(units))


def random_edit(rng: random.Random, name: str, text: str, focus: int) -> tuple[int, int, str]:
    size = len(text)
    start = focus if rng.random() < 0.6 else rng.randint(0, size)
    start = max(0, min(start, size))
    kind = rng.random()
    if kind < 0.5:
        return start, start, rng.choice(PIECES[name])
    end = min(size, start + rng.choice((1, 1, 3, 40, 400)))
    if kind < 0.8:
        return start, end, ""
    return start, end, rng.choice(PIECES[name])


def position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index)
    return line, len(text[text.rfind("\n", 0, index) + 1 : index].encode("utf-16-le")) // 2


def assert_outline_matches_full(doc: SyntaxDocument, rng: random.Random) -> None:
    outline, full = doc.outline, Outline(doc)
    defs = full.definitions()
    assert outline.imports() == full.imports()
    assert outline.definitions() == defs
    grouped: dict[str, list] = {}
    for definition in defs:
        grouped.setdefault(definition.name, []).append(definition)
    assert dict(outline.by_name()) == grouped
    assert set(outline.names()) == set(grouped)
    for name in rng.sample(sorted(grouped), min(8, len(grouped))) + ["no-such-name"]:
        exclude = {d.node_start for d in grouped.get(name, []) if rng.random() < 0.3}
        expected = [d for d in grouped.get(name, []) if d.node_start not in exclude][:MAX_PER_NAME]
        assert outline.first_definitions(name, MAX_PER_NAME, exclude) == expected
    size = len(doc.buffer.data)
    for _ in range(5):
        lo = rng.randint(0, size)
        hi = lo + rng.choice((1, 50, 3000))
        assert outline.overlapping(lo, hi) == [d for d in defs if d.start < hi and d.end > lo]


@pytest.fixture(params=["default-blocks", "tiny-blocks"])
def block_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "tiny-blocks":
        monkeypatch.setattr(spans, "BLOCK", 4)
        monkeypatch.setattr(spans, "SMALL", 2)


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


@pytest.mark.usefixtures("block_size")
@pytest.mark.parametrize("name", ["python", "javascript"])
def test_outline_after_random_edits_equals_full_rebuild(registry: LanguageRegistry, name: str) -> None:
    rng = random.Random(f"outline-{name}")
    text = big_file(name, 60)
    doc = SyntaxDocument(text, SPECS[name], registry)
    assert_outline_matches_full(doc, rng)
    focus = len(text) // 2
    for step in range(160):
        start, end, new_text = random_edit(rng, name, text, focus)
        doc.apply_change(position(text, start), position(text, end), new_text, "utf-16")
        text = text[:start] + new_text + text[end:]
        focus = start + len(new_text)
        if step % 4 == 3:  # several edits per reparse, too
            assert_outline_matches_full(doc, rng)
    assert doc.buffer.text == text


# -- cursor_context: the original whole-table algorithm as the reference -----------------
def reference_signatures(doc: SyntaxDocument, cursor: int, near_lines: int = 40) -> tuple[str, ...]:
    ctx_scopes = cursor_context(doc, cursor).scopes
    buffer, outline, root = doc.buffer, Outline(doc), doc.tree.root_node
    row = buffer.row_of_byte(cursor)
    lo = buffer.line_start(max(0, row - near_lines))
    hi = buffer.line_end(min(buffer.line_count - 1, row + near_lines))
    chunk = buffer.data[lo:hi]
    by_name: dict[str, list] = {}
    for definition in outline.definitions():
        by_name.setdefault(definition.name, []).append(definition)
    excluded = scope_starts(doc, cursor, len(ctx_scopes))
    words = {w.decode("ascii") for w in set(re.findall(rb"[A-Za-z_$][A-Za-z0-9_$]*", chunk))}
    chosen = []
    for name in words & by_name.keys():
        defs = [d for d in by_name[name] if d.node_start not in excluded]
        sites = {d.name_start for d in by_name[name]}
        pattern = re.compile(rb"(?<![\w$])" + re.escape(name.encode()) + rb"(?![\w$])")
        for match in pattern.finditer(chunk):
            start = lo + match.start()
            node = None if start in sites else root.descendant_for_byte_range(start, lo + match.end())
            if node is None:
                continue
            kinds = (node.type, node.parent.type if node.parent is not None else "")
            if defs and not any(COMMENT_MARK in k or k in STRING_TYPES for k in kinds):
                chosen.extend(defs[:MAX_PER_NAME])
                break
    chosen.sort(key=lambda d: (d.start, d.name_start))
    return tuple(outline.signature(d) for d in chosen[:MAX_SIGNATURES])


def scope_starts(doc: SyntaxDocument, cursor: int, count: int) -> set[int]:
    from lsp_server.syntax.context import _enclosing_scopes  # the scopes cursor_context excludes
    from lsp_server.syntax.nodes import anchor_path

    anchor = anchor_path(doc.tree.root_node, doc.buffer.data, cursor)
    nodes = _enclosing_scopes(doc, anchor, cursor)
    assert len(nodes) == count
    return {node.start_byte for node in nodes}


@pytest.mark.parametrize("name", ["python", "javascript"])
def test_local_signatures_equal_the_reference(registry: LanguageRegistry, name: str) -> None:
    rng = random.Random(f"signatures-{name}")
    text = big_file(name, 40)
    doc = SyntaxDocument(text, SPECS[name], registry)
    for step in range(60):
        start, end, new_text = random_edit(rng, name, text, rng.randint(0, len(text)))
        doc.apply_change(position(text, start), position(text, end), new_text, "utf-16")
        text = text[:start] + new_text + text[end:]
        cursor = len(text[: rng.randint(0, len(text))].encode("utf-8"))
        got = cursor_context(doc, cursor, near_lines=rng.choice((5, 40)) if step % 2 else 40)
        if step % 2 == 0:
            assert sorted(got.local_signatures) == sorted(reference_signatures(doc, cursor)), step


# -- validation: the original eager versions as the reference ------------------------------
def eager_errors_in(root: tree_sitter.Node, lo: int, hi: int) -> list[tuple[int, int, bool]]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.is_error:
            found.append((node.start_byte, node.end_byte, node.is_missing))
            continue
        if node.has_error:
            stack.extend(c for c in node.children
                         if c.end_byte >= lo and c.start_byte <= hi and (c.has_error or c.is_missing))
    return found


def eager_would_add_errors(doc: SyntaxDocument, cursor: int, insert_text: str) -> bool:
    tree, data = doc.tree, doc.buffer.data
    root = tree.root_node
    lo, hi = validate._region(root, cursor, len(data))
    if eager_errors_in(root, lo, hi):
        return False
    inserted = insert_text.encode("utf-8")
    opener = _ends_with_opener(insert_text, doc.spec.brace_language)
    probe = inserted + (_closer(doc, cursor, insert_text) if opener else "").encode("utf-8")
    edited, new_tree = _trial_parse(doc, tree, cursor, probe)
    changed = [(r.start_byte, r.end_byte) for r in edited.changed_ranges(new_tree)]
    size = len(probe)
    ranges = [(lo, hi + size)] + [
        (a, b) for a, b in changed if not eager_errors_in(root, *_to_old(a, b, cursor, size))
    ]
    if any(
        not (opener and start >= cursor + len(inserted))
        for a, b in ranges for start, _e, _m in eager_errors_in(new_tree.root_node, a, b)
    ):
        return True
    # a clean file that now has an error no node shows (a hidden MISSING token, `x = 1 pass`)
    new_root = new_tree.root_node
    return not root.has_error and new_root.has_error and not eager_errors_in(new_root, 0, len(data) + size)


INSERTS = ("x = 1", "foo(", "pass)", "return", ":", "if x:", '"""', "}", "{", "@@", "\n    y = 2\n", "`")


@pytest.mark.parametrize("narrow", [False, True], ids=["region", "point-region"])
@pytest.mark.parametrize("name", ["python", "javascript"])
def test_would_add_errors_and_errors_in_equal_the_eager_versions(
    registry: LanguageRegistry, name: str, narrow: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the whole-file trial parse (the region-alone shortcut has its own differential tests)
    monkeypatch.setattr(validate, "REGION_PARSE_BYTES", -1)
    if narrow:  # errors away from the cursor then count only through the changed ranges
        monkeypatch.setattr(validate, "_region", lambda root, cursor, size: (cursor, cursor))
    rng = random.Random(f"validate-{name}-{narrow}")
    clean = big_file(name, 30)  # > 16 KiB: the top-level region logic is used
    for step in range(120):
        doc = SyntaxDocument(clean, SPECS[name], registry)
        text = clean
        if step % 3 == 0:  # one random edit somewhere: often an error outside the region
            start, end, new_text = random_edit(rng, name, text, rng.randint(0, len(text)))
            doc.apply_change(position(text, start), position(text, end), new_text, "utf-16")
            text = text[:start] + new_text + text[end:]
        data = doc.buffer.data
        line_ends = [m.start() for m in re.finditer(b"\n", data)]
        cursor = rng.choice(line_ends) if rng.random() < 0.7 else rng.randint(0, len(data))
        insert = rng.choice(INSERTS)
        assert would_add_errors(doc, cursor, insert) == eager_would_add_errors(doc, cursor, insert), step
        root = doc.tree.root_node
        for _ in range(3):
            lo = rng.randint(0, len(data))
            hi = lo + rng.choice((0, 1, 100, 5000))
            assert sorted(errors_in(root, lo, hi)) == sorted(eager_errors_in(root, lo, hi))
            expected = [c for c in root.children if c.end_byte >= lo and c.start_byte <= hi]
            assert children_touching(root, lo, hi) == expected

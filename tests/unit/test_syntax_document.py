"""SyntaxDocument: incremental edits keep text and tree equal to a full reparse.

Positions are converted to (line, character) independently of TextBuffer, from a
reference string maintained with plain Python slicing.
"""

from __future__ import annotations

import random
import re

import pytest

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.outline import Outline

from .test_syntax_samples import SAMPLES

ENCODINGS = ("utf-8", "utf-16", "utf-32")
LANGUAGES = ("python", "javascript", "go", "rust", "cpp")
PIECES = (
    "x", "\n", "\n\n", "    ", "\t", "😀", "漢字", "é", "(", ")", "{", "}", "[", "]", ":", ";", '"',
    "'", "#", "//", "/*", "*/", "def f(a):\n    return a\n", "class K:\n    pass\n",
    "function g(b) { return b; }\n", "func h() {}\n", "fn k() -> u8 { 0 }\n",
    "import os\n", "use std::fmt;\n", '#include <x.h>\n', "int v = 1;\n", "if x:\n  y()\n",
    "héllo 😀 wörld\n\t漢字\n", "struct S { a: i32 }\n", "x = \"😀\"  # 漢\n",
)


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def position(text: str, index: int, encoding: str) -> tuple[int, int]:
    """LSP position of code-point ``index`` in ``text`` (computed without TextBuffer)."""
    line = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    return line, units(text[line_start:index], encoding)


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.choice((0, 1, 1, 2, 3))))


def random_edit(rng: random.Random, text: str) -> tuple[int, int, str]:
    size = len(text)
    start = rng.randint(0, size)
    kind = rng.random()
    if kind < 0.4:  # insert
        return start, start, random_text(rng) or "z"
    end = min(size, start + rng.choice((1, 1, 2, 5, 20, 80)))
    if kind < 0.7:  # delete
        return start, end, ""
    return start, end, random_text(rng)  # replace (maybe multi-line)


def outline_state(outline: Outline) -> tuple[list, list]:
    defs = [(d.name, d.start, d.end, d.name_start, outline.signature(d)) for d in outline.definitions()]
    return outline.imports(), defs


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


class ShadowTree:
    """The same edits applied to a second tree with independently computed coordinates."""

    def __init__(self, registry: LanguageRegistry, name: str, text: str) -> None:
        self.parser = registry.parser(SPECS[name])
        self.tree = self.parser.parse(text.encode("utf-8"))

    @staticmethod
    def point(text: str, index: int) -> tuple[int, tuple[int, int]]:
        head = text[:index].encode("utf-8")
        return len(head), (head.count(b"\n"), len(head) - (head.rfind(b"\n") + 1))

    def edit(self, old: str, start: int, end: int, new_text: str, new: str) -> None:
        (start_byte, start_point), (end_byte, end_point) = self.point(old, start), self.point(old, end)
        new_end_byte, new_end_point = self.point(new, start + len(new_text))
        self.tree.edit(start_byte, end_byte, new_end_byte, start_point, end_point, new_end_point)

    def parse(self, text: str) -> str:
        self.tree = self.parser.parse(text.encode("utf-8"), old_tree=self.tree)
        return str(self.tree.root_node)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", LANGUAGES)
def test_random_edits_incremental_equals_full(registry: LanguageRegistry, name: str, encoding: str) -> None:
    rng = random.Random(f"{name}-{encoding}")
    reference = SAMPLES[name].replace("<|>", "x = 1") + "\n// 😀 漢字\té\n"
    doc = SyntaxDocument(reference, SPECS[name], registry)
    shadow = ShadowTree(registry, name, reference)
    assert doc.tree is not None
    for step in range(300):
        start, end, new_text = random_edit(rng, reference)
        doc.apply_change(position(reference, start, encoding), position(reference, end, encoding),
                         new_text, encoding)
        updated = reference[:start] + new_text + reference[end:]
        shadow.edit(reference, start, end, new_text, updated)
        reference = updated
        if step % 3 == 0 or step > 290:
            assert doc.buffer.text == reference
            incremental, full = str(doc.tree.root_node), doc.full_parse()
            assert incremental == shadow.parse(reference), f"step {step}: edit arithmetic differs"
            if incremental != str(full.root_node):
                # tree-sitter-python's error recovery (external indent scanner) can settle
                # broken code differently when it reuses subtrees (seen on 0.25 and 0.26);
                # the exact checks are the shadow tree above and the valid-edits test below.
                assert name == "python" and full.root_node.has_error, f"step {step}"
        if step % 10 == 0:
            assert outline_state(doc.outline) == outline_state(Outline(doc)), f"step {step}"
    assert doc.buffer.text == reference
    assert doc.buffer.data == reference.encode("utf-8")


VALID_LINES = (
    "x = 1\n", "name = \"😀 漢字\"\n", "tab = \"\\t\t\"\n", "import os\n", "from a import (b,\n    c)\n",
    "def f(a):\n    return a\n", "class K:\n    pass\n", "print('héllo', 2)\n", "# 漢字 comment 😀\n",
)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_valid_python_edits_match_full_parse_exactly(registry: LanguageRegistry, encoding: str) -> None:
    """Edits that keep the file valid: the incremental tree must equal a full parse."""
    rng = random.Random(f"valid-{encoding}")
    reference = "".join(rng.choice(VALID_LINES) for _ in range(40))
    doc = SyntaxDocument(reference, SPECS["python"], registry)
    for step in range(300):
        starts = [0] + [i + 1 for i, ch in enumerate(reference) if ch == "\n" and i + 1 < len(reference)
                        and reference[i + 1] not in " )"]
        start = rng.choice(starts)
        action = rng.random()
        if action < 0.45:
            end, new_text = start, rng.choice(VALID_LINES)
        elif action < 0.8 and '= "' in reference:  # inside a string literal
            start = end = rng.choice([m.end() for m in re.finditer('= "', reference)])
            new_text = rng.choice(("é", "😀", "漢", "\\t", "\t", "ab"))
        else:
            stop = reference.find("\n", start) + 1 or len(reference)
            end, new_text = stop, ""
            if reference[stop : stop + 1] == " ":
                continue  # keep blocks intact
        doc.apply_change(position(reference, start, encoding), position(reference, end, encoding),
                         new_text, encoding)
        reference = reference[:start] + new_text + reference[end:]
        if step % 2 == 0:
            assert doc.buffer.text == reference
            full = doc.full_parse()
            assert str(doc.tree.root_node) == str(full.root_node), f"step {step}"
            assert not full.root_node.has_error, reference
            assert outline_state(doc.outline) == outline_state(Outline(doc)), f"step {step}"


def test_burst_of_edits_costs_one_reparse(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument("def f():\n    return 1\n", SPECS["python"], registry)
    first = doc.tree
    version = doc.version
    for index, ch in enumerate("x = 2\n"):
        doc.apply_change((1, 4 + index), (1, 4 + index), ch, "utf-16")
    assert doc.version == version  # lazy: nothing reparsed yet
    tree = doc.tree
    assert doc.version == version + 1 and doc.tree is tree
    assert doc.buffer.text == "def f():\n    x = 2\nreturn 1\n"
    assert str(tree.root_node) == str(doc.full_parse().root_node)
    assert str(first.root_node) != str(tree.root_node)
    assert first.root_node.end_byte == len("def f():\n    return 1\n")  # old tree untouched
    assert len(doc.deltas_since(version)) == 1 and doc.deltas_since(version - 1) is None


def test_full_replacement(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument("fn main() {}\n", SPECS["rust"], registry)
    buffer = doc.buffer
    doc.tree
    doc.apply_change(None, None, "use std::fmt;\nstruct A;\n", "utf-16")
    assert doc.buffer is buffer and doc.buffer.text == "use std::fmt;\nstruct A;\n"
    assert str(doc.tree.root_node) == str(doc.full_parse().root_node)
    assert doc.outline.imports() == ["use std::fmt;"]
    doc.apply_change((1, 7), (1, 8), "B", "utf-8")
    assert [d.name for d in doc.outline.definitions()] == ["B"]


def test_plain_text_document(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument("hello\nworld\n", None, registry)
    doc.apply_change((1, 0), (1, 5), "there 😀", "utf-16")
    assert doc.tree is None and doc.full_parse() is None and doc.spec is None
    assert doc.buffer.text == "hello\nthere 😀\n"
    assert doc.outline.imports() == [] and doc.outline.definitions() == []


def test_edits_before_first_parse(registry: LanguageRegistry) -> None:
    doc = SyntaxDocument("package main\n", SPECS["go"], registry)
    doc.apply_change((1, 0), (1, 0), "func main() {}\n", "utf-16")
    assert str(doc.tree.root_node) == str(doc.full_parse().root_node)
    assert [d.name for d in doc.outline.definitions()] == ["main"]

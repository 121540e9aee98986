"""Review units per language: functions, methods, classes (large ones by method), remaining code."""

from __future__ import annotations

import pytest

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.units import split_units, unit_context
from tests.unit.test_syntax_samples import CURSOR, SAMPLES

REGISTRY = LanguageRegistry()

EXPECTED = {
    "python": [("code", "", 7, 8), ("function", "load_config", 11, 14), ("function", "parse", 17, 18),
               ("function", "unused_helper", 21, 22), ("class", "Settings", 25, 37)],
    "javascript": [("code", "", 2, 2), ("function", "readJson", 4, 6), ("function", "unused", 8, 10),
                   ("class", "Store", 12, 23)],
    "typescript": [("code", "", 3, 6), ("function", "lookup", 8, 10), ("class", "UserService", 12, 20)],
    "tsx": [("code", "", 2, 2), ("function", "Header", 4, 6), ("function", "App", 8, 12)],
    "go": [("code", "", 7, 9), ("function", "helper", 11, 13), ("function", "unused", 15, 15),
           ("method", "Handle", 17, 22)],
    "rust": [("code", "", 3, 5), ("function", "compute", 7, 9), ("function", "unused", 11, 11),
             ("class", "Cache", 13, 19)],
    "java": [("class", "Registry", 5, 22)],
    "c": [("code", "", 3, 6), ("function", "clamp", 8, 10), ("function", "unused", 12, 12),
          ("function", "buffer_write", 14, 18)],
    "cpp": [("function", "score", 5, 7), ("function", "unused", 9, 9), ("class", "Ranker", 11, 21)],
}


def doc(language: str, text: str) -> SyntaxDocument:
    return SyntaxDocument(text, SPECS[language], REGISTRY)


def shape(units) -> list[tuple[str, str, int, int]]:
    return [(u.kind, u.name, u.rows[0], u.rows[-1]) for u in units]


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_every_language_splits_into_units(language: str) -> None:
    units = split_units(doc(language, SAMPLES[language].replace(CURSOR, "")))
    assert shape(units) == EXPECTED[language]
    assert all(list(u.rows) == sorted(set(u.rows)) for u in units)


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_large_classes_are_split_by_method(language: str) -> None:
    units = split_units(doc(language, SAMPLES[language].replace(CURSOR, "")), split_class_lines=5)
    classes = [u for u in units if u.kind == "class"]
    assert not classes  # every sample class is longer than 5 lines
    methods = [u for u in units if u.kind == "method"]
    if language in ("python", "javascript", "typescript", "java", "cpp", "rust"):
        assert methods and all(u.header for u in methods)


def test_python_decorators_docstrings_imports_and_top_level_code() -> None:
    text = '''"""Module docstring."""
import os
from x import y

LIMIT = 10


@cache
@other(1)
def cached(n):
    return n


class Big:
    """Doc."""

    size = 3

    def one(self):
        return helper(1)

    @property
    def two(self):
        return 2


print(LIMIT)
'''
    units = split_units(doc("python", text), split_class_lines=4)
    assert shape(units) == [
        ("code", "", 4, 26),  # LIMIT = 10 and print(LIMIT): one unit, with a gap
        ("function", "cached", 7, 10),
        ("code", "", 16, 16),  # the class body without its docstring
        ("method", "one", 18, 19),
        ("method", "two", 21, 23),
    ]
    assert units[0].rows == (4, 26)
    assert units[2].header == units[3].header == "class Big:"


def test_javascript_exports_and_arrow_functions() -> None:
    text = """import x from "x";
export function a() { return 1; }
export const b = (n) => n * 2;
const c = function () {};
let value = 3, other = 4;
export default class K { m() {} }
"""
    assert shape(split_units(doc("javascript", text))) == [
        ("function", "a", 1, 1), ("function", "b", 2, 2), ("function", "c", 3, 3), ("code", "", 4, 4),
        ("class", "K", 5, 5),
    ]


def test_rust_attributes_impls_and_modules() -> None:
    text = """use std::io;

#[derive(Debug)]
struct S { a: u8 }

#[test]
#[ignore]
fn t() {}

mod inner {
    pub fn deep() -> u8 { 1 }
}

impl S {
    fn get(&self) -> u8 { self.a }
}
"""
    units = split_units(doc("rust", text))
    assert shape(units) == [("code", "", 2, 3), ("function", "t", 5, 7), ("function", "deep", 10, 10),
                            ("class", "S", 13, 15)]


def test_c_preprocessor_blocks_are_looked_through() -> None:
    text = """#include <stdio.h>
#ifdef DEBUG
static void trace(const char *m) { puts(m); }
#else
static void trace(const char *m) { (void)m; }
#endif
int main(void) { trace("x"); return 0; }
"""
    assert shape(split_units(doc("c", text))) == [
        ("function", "trace", 2, 2), ("function", "trace", 4, 4), ("function", "main", 6, 6)]


def test_cpp_namespaces_templates_and_java_constructors() -> None:
    cpp = """namespace n {
template <typename T>
T twice(T v) { return v * 2; }
}
"""
    assert shape(split_units(doc("cpp", cpp))) == [("function", "twice", 1, 2)]
    java = """class A {
    private int x;
    A(int x) { this.x = x; }
    int get() { return x; }
}
"""
    assert shape(split_units(doc("java", java), split_class_lines=3)) == [
        ("code", "", 1, 1), ("method", "A", 2, 2), ("method", "get", 3, 3)]


def test_long_units_are_cut_into_parts() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(25))
    units = split_units(doc("python", f"def long():\n{body}"), max_unit_lines=10)
    assert [u.name for u in units] == ["long (part 1/3)", "long (part 2/3)", "long (part 3/3)"]
    assert [len(u.rows) for u in units] == [10, 10, 6]
    code = "".join(f"v{i} = {i}\n" for i in range(25))
    parts = split_units(doc("python", code), max_unit_lines=10)
    assert [len(u.rows) for u in parts] == [10, 10, 5] and all(u.kind == "code" for u in parts)


def test_plain_text_has_no_units() -> None:
    assert split_units(SyntaxDocument("just text\n", None, REGISTRY)) == []


def test_unit_context_has_imports_and_callee_signatures() -> None:
    text = SAMPLES["python"].replace(CURSOR, "")
    document = doc("python", text)
    load = next(u for u in split_units(document) if u.name == "load_config")
    context = unit_context(document, load)
    assert "import os" in context.imports
    assert context.signatures == ("def parse(text: str) -> dict[str, Any]:",)
    parse = next(u for u in split_units(document) if u.name == "parse")
    assert unit_context(document, parse).signatures == ()  # not itself

"""Functions and stub bodies per language (syntax/functions.py): what Implement is offered on, and
the rows its body replaces."""

from __future__ import annotations

import pytest

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.functions import function_at
from lsp_server.syntax.languages import LanguageRegistry

REGISTRY = LanguageRegistry()


def _info(language: str, text: str, at: str):
    doc = SyntaxDocument(text, REGISTRY.for_document(language, "x"), REGISTRY)
    return function_at(doc, text.encode().index(at.encode()))


STUBS = [
    ("python", "def add(a, b):\n    pass\n", "pass"),
    ("python", "def add(a, b):\n    ...\n", "..."),
    ("python", "def add(a, b):\n    raise NotImplementedError\n", "raise"),
    ("python", "def add(a, b):\n    raise NotImplementedError('later')\n", "raise"),
    ("python", "def add(a, b):\n    \"\"\"Add.\"\"\"\n", "Add"),
    ("python", "def add(a, b):\n    # TODO: add them\n    pass\n", "TODO"),
    ("python", "class A:\n    def add(self, b): ...\n", "add"),
    ("javascript", "function add(a, b) {\n  throw new Error('not implemented');\n}\n", "throw"),
    ("javascript", "function add(a, b) {}\n", "add"),
    ("javascript", "const add = (a, b) => {\n  // TODO\n};\n", "TODO"),
    ("javascript", "class A {\n  add(a, b) {\n    throw new Error('TODO');\n  }\n}\n", "throw"),
    ("typescript", "export function add(a: number, b: number): number {\n  throw new Error(\"Not implemented yet\");\n}\n",
     "throw"),
    ("tsx", "export function Button(props: Props) {\n  // TODO render the button\n}\n", "TODO"),
    ("go", "package p\n\nfunc Add(a, b int) int {\n\tpanic(\"TODO\")\n}\n", "panic"),
    ("go", "package p\n\nfunc Add(a, b int) int {\n\tpanic(\"not implemented\")\n}\n", "panic"),
    ("go", "package p\n\nfunc (s *S) AddAll(xs []int) {}\n", "AddAll"),
    ("rust", "fn add(a: i32, b: i32) -> i32 {\n    todo!()\n}\n", "todo"),
    ("rust", "fn add(a: i32, b: i32) -> i32 {\n    unimplemented!(\"later\")\n}\n", "unimplemented"),
    ("rust", "impl S {\n    fn add(&self, b: i32) -> i32 { todo!() }\n}\n", "add"),
    ("java", "class A {\n  int add(int a, int b) {\n    throw new UnsupportedOperationException();\n  }\n}\n", "throw"),
    ("java", "class A {\n  int add(int a, int b) {\n    // TODO Auto-generated method stub\n    return 0;\n  }\n}\n",
     "TODO"),
    ("c", "int add(int a, int b) {\n  /* TODO */\n}\n", "TODO"),
    ("c", "int add(int a, int b) {\n  assert(0 && \"not implemented\");\n}\n", "assert"),
    ("cpp", "int Calc::add(int a, int b) const {\n  throw std::logic_error(\"not implemented\");\n}\n", "throw"),
]


@pytest.mark.parametrize(("language", "text", "at"), STUBS, ids=[f"{c[0]}-{i}" for i, c in enumerate(STUBS)])
def test_stubs_are_found(language: str, text: str, at: str) -> None:
    info = _info(language, text, at)
    assert info is not None and info.stub is not None, (language, text)
    assert info.described


NOT_STUBS = [
    ("python", "def add(a, b):\n    return a + b\n", "return"),
    ("python", "def add(a, b):\n    # adds\n    return a + b\n", "return"),
    ("javascript", "function add(a, b) {\n  throw new Error('negative');\n}\n", "throw"),
    ("javascript", "class A {\n  constructor() {}\n}\n", "constructor"),
    ("go", "package p\n\nfunc Add(a, b int) int {\n\tpanic(\"overflow\")\n}\n", "panic"),
    ("go", "package p\n\nfunc Add(a, b int) int {\n\t// nothing to do here\n}\n", "nothing"),
    ("rust", "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n", "a + b"),
    ("java", "class A {\n  A() {}\n}\n", "A()"),
    ("java", "class A {\n  int add(int a, int b) {\n    return 0;\n  }\n}\n", "return"),
    ("cpp", "struct S {\n  S() {}\n  ~S() {}\n};\nS::~S() {}\n", "S::~S"),
]


@pytest.mark.parametrize(("language", "text", "at"), NOT_STUBS, ids=[f"{c[0]}-{i}" for i, c in enumerate(NOT_STUBS)])
def test_bodies_and_deliberately_empty_ones_are_not_stubs(language: str, text: str, at: str) -> None:
    info = _info(language, text, at)
    assert info is not None and info.stub is None, (language, text)


def test_a_stub_nothing_describes_is_not_worth_implementing() -> None:
    assert not _info("python", "def f():\n    pass\n", "pass").described
    assert _info("python", "def f(n):\n    pass\n", "pass").described  # a parameter
    assert _info("python", "def parse_header():\n    pass\n", "pass").described  # a two-word name
    assert not _info("python", "class A:\n    def f(self):\n        pass\n", "pass").described
    assert not _info("go", "package p\n\nfunc (s *S) Close() {}\n", "Close").described  # the receiver is no parameter


def test_python_slots() -> None:
    text = 'class A:\n    @staticmethod\n    def area(r):\n        """Circle."""\n        # TODO\n        pass\n'
    info = _info("python", text, "pass")
    assert (info.start_row, info.def_row, info.end_row, info.header_last_row) == (1, 1, 5, 2)
    assert info.doc_rows == (3, 3) and info.body_indent == "        " and info.indent == "    "
    stub = info.stub
    assert (stub.first, stub.last, stub.head, stub.tail) == (4, 5, "", "")
    assert stub.prefix == '    @staticmethod\n    def area(r):\n        """Circle."""\n'
    doc_only = _info("python", 'def f(x):\n    """Twice x."""\n', "Twice").stub
    assert (doc_only.first, doc_only.last, doc_only.head) == (1, 1, '    """Twice x."""')
    one = _info("python", "def f(x): ...  # later\n", "f(").stub
    assert (one.first, one.last, one.head, one.prefix) == (0, 0, "def f(x):", "def f(x):\n")


def test_brace_slots_keep_the_header_and_the_closer() -> None:
    go = _info("go", "package p\n\n// Sum adds.\nfunc Sum(xs []int) int {\n\tpanic(\"TODO\")\n}\n", "panic")
    assert go.doc_rows == (2, 2) and go.body_indent == "\t"
    assert (go.stub.first, go.stub.last, go.stub.head, go.stub.tail) == (3, 5, "func Sum(xs []int) int {", "}")
    assert go.stub.prefix == "// Sum adds.\nfunc Sum(xs []int) int {\n"
    one = _info("rust", "impl S {\n    fn add(&self, b: i32) -> i32 { todo!() }\n}\n", "add")
    assert (one.stub.first, one.stub.last) == (1, 1)
    assert one.stub.head == "    fn add(&self, b: i32) -> i32 {" and one.stub.tail == "    }"
    allman = _info("c", "int add(int a, int b)\n{\n    /* TODO */\n}\n", "TODO")
    assert (allman.stub.first, allman.stub.last, allman.stub.head, allman.stub.tail) == (1, 3, "{", "}")
    assert allman.header_last_row == 1


def test_doc_comments_per_language() -> None:
    assert _info("rust", "/// Adds.\n/// Twice.\n#[inline]\nfn add() {}\n", "fn add").doc_rows == (0, 1)
    assert _info("rust", "/// Adds.\n#[inline]\nfn add() {}\n", "fn add").start_row == 1  # the attribute
    assert _info("javascript", "// not a doc\nfunction f(a) {}\n", "function").doc_rows is None
    assert _info("javascript", "/** Doc. */\nexport function f(a) {}\n", "function").doc_rows == (0, 0)
    assert _info("java", "class A {\n  /** Doc. */\n  @Override\n  int f(int a) { return a; }\n}\n", "int f").doc_rows \
        == (1, 1)
    assert _info("go", "package p\n\n// F does.\n\nfunc F() {}\n", "func F").doc_rows is None  # a blank line between


def test_function_at_finds_the_innermost_and_arrow_functions() -> None:
    text = "def outer(a):\n    def inner(b):\n        return b\n    return inner(a)\n"
    assert _info("python", text, "return b").name == "inner"
    assert _info("python", text, "return inner").name == "outer"
    assert _info("typescript", "export const total = (xs: number[]) => {\n  return 0;\n};\n", "total").name == "total"
    assert _info("python", "x = 1\n", "x") is None
    doc = SyntaxDocument("plain text", None, REGISTRY)
    assert function_at(doc, 0) is None


def test_a_cursor_at_the_end_of_a_line_or_in_its_indentation_finds_the_function() -> None:
    text = "def area(r):\n    raise NotImplementedError\n\n\nx = 1\n"
    doc = SyntaxDocument(text, REGISTRY.for_document("python", "x"), REGISTRY)
    end_of_stub = text.index("\n\n")
    assert function_at(doc, end_of_stub).name == "area"  # after the last character of the function
    assert function_at(doc, text.index("    raise")).name == "area"  # in the indentation
    assert function_at(doc, text.index("\n\n") + 1) is None  # a blank line after it
    go = "package p\n\nfunc Sum(xs []int) int {\n\tpanic(\"TODO\")\n}\n"
    gdoc = SyntaxDocument(go, REGISTRY.for_document("go", "x"), REGISTRY)
    assert function_at(gdoc, go.index("}\n") + 1).name == "Sum"  # after the closing brace

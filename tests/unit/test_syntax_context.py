"""cursor_context: imports, scopes, local signatures, multiline and comment/string flags."""

from __future__ import annotations

import pytest

from lsp_server.syntax.context import CursorContext, cursor_context
from lsp_server.syntax.languages import LanguageRegistry

from .test_syntax_samples import SAMPLES, make_doc


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


def context(name: str | None, text: str, registry: LanguageRegistry, **kwargs: int) -> CursorContext:
    doc, cursor = make_doc(name, text, registry)
    return cursor_context(doc, cursor, **kwargs)


EXPECTED = {
    "python": (
        ("from __future__ import annotations", "import os",
         "from typing import (\n    Any,\n    Optional,\n)", "from pathlib import Path"),
        ("class Settings(Base):", "    def reload(self, path: str) -> None:"),
        ("def load_config(path: str, *, strict: bool = False) -> dict[str, Any]:",
         "def parse(text: str) -> dict[str, Any]:"),
    ),
    "javascript": (
        ('import fs from "fs";', 'import { join } from "path";', 'const util = require("util");'),
        ("class Store extends Base {", "  load(name) {"),
        ("function readJson(file)",),
    ),
    "typescript": (
        ('import { Request, Response } from "express";', 'import * as path from "path";'),
        ("export class UserService {", "  get(id: number): User | undefined {"),
        ("interface User {\n  id: number;\n  name: string;\n}",
         "function lookup(id: number): User | undefined"),
    ),
    "tsx": (
        ('import React from "react";',),
        ("export function App() {",),
        ("type Props = { title: string };", "function Header(props: Props)"),
    ),
    "go": (
        ("package server", 'import (\n\t"fmt"\n\t"net/http"\n)'),
        ("func (s *Server) Handle(w http.ResponseWriter, r *http.Request) error {",),
        ("type Server struct {\n\tname string\n}", "func helper(n int) string"),
    ),
    "rust": (
        ("use std::collections::HashMap;", "use std::io::{self, Read};"),
        ("impl Cache {", "    pub fn get(&mut self, key: &str) -> u32 {"),
        ("pub struct Cache {\n    map: HashMap<String, u32>,\n}", "fn compute(key: &str) -> u32"),
    ),
    "java": (
        ("package com.example.app;", "import java.util.List;", "import java.util.Map;"),
        ("public class Registry {", "    public int total(List<String> keys) {"),
        ("static int weight(String key)",),
    ),
    "c": (
        ("#include <stdio.h>", '#include "buffer.h"'),
        ("int buffer_write(struct buffer *b, const char *s, int n) {",),
        ("struct buffer {\n    char *data;\n    int len;\n}", "static int clamp(int v, int lo, int hi)"),
    ),
    "cpp": (
        ("#include <string>", "#include <vector>"),
        ("namespace app {", "class Ranker : public Base {",
         "    int rank(const std::vector<std::string> &items) const {"),
        ("int score(const std::string &s)",),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_realistic_snippet(registry: LanguageRegistry, name: str) -> None:
    imports, scopes, signatures = EXPECTED[name]
    ctx = context(name, SAMPLES[name], registry)
    assert ctx.imports == imports
    assert ctx.scopes == scopes
    assert ctx.local_signatures == signatures  # only used names, file order, no "unused"
    assert ctx.multiline is True  # cursor alone on an indented blank line
    assert ctx.in_comment_or_string is False


def test_python_scope_follows_indentation_on_blank_lines(registry: LanguageRegistry) -> None:
    text = "class A:\n    def m(self):\n        x = 1\n{}\n    def n(self):\n        pass\n"
    assert context("python", text.format("        <|>"), registry).scopes == ("class A:", "    def m(self):")
    assert context("python", text.format("    <|>"), registry).scopes == ("class A:",)
    assert context("python", text.format("<|>"), registry).scopes == ()
    header = context("python", "def f(a,<|> b):\n    pass\n", registry)
    assert header.scopes == ()  # in the header, not the body


def test_excludes_enclosing_scope_and_definition_sites(registry: LanguageRegistry) -> None:
    text = (
        "def helper():\n    return 1\n\n\n"
        "def walk(node):\n    # helper is mentioned in a comment only\n    s = 'helper'\n"
        "    return walk(node.child)<|>\n\n\n"
        "def later():\n    pass\n"
    )
    ctx = context("python", text, registry)
    assert ctx.scopes == ("def walk(node):",)
    assert ctx.local_signatures == ()  # walk is enclosing; helper/later only defined or in text


@pytest.mark.parametrize("use", [
    "s = 'helper'+helper(1)",         # right after a string
    "s = 'helper helper'; helper(1)",  # several mentions in one string first
    "s = 0x1helper or helper2 or helper",  # only the last is the whole word
])
def test_a_use_after_mentions_in_text_counts(registry: LanguageRegistry, use: str) -> None:
    text = f"def helper(a):\n    return a\n\n\ndef main():\n    # helper\n    {use}\n    <|>\n"
    assert context("python", text, registry).local_signatures == ("def helper(a):",)


@pytest.mark.parametrize("use", ["s = 'helper'", "s = helpers + helper_x + xhelper", "# helper(1)"])
def test_mentions_in_text_or_longer_words_do_not_count(registry: LanguageRegistry, use: str) -> None:
    text = f"def helper(a):\n    return a\n\n\ndef main():\n    {use}\n    <|>\n"
    assert context("python", text, registry).local_signatures == ()


def test_near_lines_limits_signatures(registry: LanguageRegistry) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(30))
    text = f"def far(a):\n    return a\n\n\ndef main():\n    far(1)\n{body}    <|>\n"
    assert context("python", text, registry).local_signatures == ("def far(a):",)
    assert context("python", text, registry, near_lines=5).local_signatures == ()


def test_go_method_rust_impl_cpp_method_ts_class_scopes(registry: LanguageRegistry) -> None:
    go = "package p\n\nfunc (s *Server) Run(ctx context.Context) error {\n\treturn nil<|>\n}\n"
    assert context("go", go, registry).scopes == ("func (s *Server) Run(ctx context.Context) error {",)
    rust = "impl<T: Clone> Stack<T> {\n    fn push(&mut self, v: T) {\n        <|>\n    }\n}\n"
    assert context("rust", rust, registry).scopes == (
        "impl<T: Clone> Stack<T> {", "    fn push(&mut self, v: T) {"
    )
    cpp = "int Widget::size() const {\n    return n_;<|>\n}\n"
    assert context("cpp", cpp, registry).scopes == ("int Widget::size() const {",)
    ts = "class A {\n  private m(x: number): void {\n    <|>\n  }\n}\n"
    assert context("typescript", ts, registry).scopes == ("class A {", "  private m(x: number): void {")
    js = 'app.get("/", (req, res) => {\n  <|>\n});\n'
    assert context("javascript", js, registry).scopes == ('app.get("/", (req, res) => {',)


def test_after_closing_brace_is_outside(registry: LanguageRegistry) -> None:
    assert context("c", "void f(void) {\n}<|>\n", registry).scopes == ()


MULTILINE = [
    ("python", "def f(x):<|>\n    pass\n", True),
    ("python", "def f(x):\n    if x:<|>\n", True),
    ("python", "def f(x):\n    <|>\n", True),
    ("python", "def f(x):\n    y = compute(<|>)\n", False),  # text after the cursor: this line only
    ("python", "def f(x):\n    y = compute(<|>  \n", True),   # trailing spaces are not text
    ("python", "def g(a, b)<|>\n", True),              # end of a definition header
    ("python", "def f(x):\n    y = comp<|>ute(x)\n", False),  # mid-line, real text after
    ("python", "def f(x):\n    y = x +<|>\n", False),        # middle of a statement
    ("python", "x = d[1:<|>]\n", False),                     # slice colon, not a block
    ("javascript", "function f() {<|>}\n", True),  # a block body between auto-closed braces
    ("typescript", "function f() {<|>});\n", True),
    ("typescript", "const xs = [<|>];\n", False),
    ("typescript", "if (ok) {<|> return; }\n", False),
    ("java", "class A {\n    void f() {\n        call(<|>);\n    }\n}\n", False),
    ("c", "int main(void) {\n    printf(\"%d\", <|>);\n}\n", False),
    ("javascript", "const g = (a) =><|>\n", True),
    ("javascript", "foo(a, <|>);\n", False),
    ("javascript", "let x = 1;<|>\n", False),
    ("go", "package m\n\nfunc main()<|>\n", True),
    ("rust", "fn main() {\n    let v = vec![<|>];\n}\n", False),
    ("go", "package m\n\nfunc main() {\n\tfmt.Println(<|>)\n}\n", False),
    ("go", "package m\n\nfunc main() {\n\tif ok {<|>}\n}\n", True),
    ("java", "class A {\n    public int size()<|>\n}\n", True),
    ("c", "int main(int argc, char **argv)<|>\n", True),
    ("cpp", "int main() {\n    return 0;<|>\n}\n", False),
    (None, "    <|>\n", True),
    (None, "if x:<|>\n", True),
    (None, "hello world<|>\n", False),
]


@pytest.mark.parametrize(("name", "text", "expected"), MULTILINE)
def test_multiline_rules(registry: LanguageRegistry, name: str | None, text: str, expected: bool) -> None:
    assert context(name, text, registry).multiline is expected


COMMENT_OR_STRING = [
    ("python", "s = 'abc<|>'\n", True),
    ("python", "s = 'abc<|>\n", True),                          # unterminated
    ("python", "# note<|>\n", True),
    ("python", "x = 1  # note <|>\n", True),
    ("python", 'def f():\n    """Doc\n    <|>\n    """\n', True),
    ("python", 'x = f"{a<|>}"\n', False),                        # code inside an f-string
    ("python", "s = 'abc'<|>\n", False),
    ("python", "<|># note\n", False),
    ("javascript", "const s = `a <|> c`;\n", True),
    ("javascript", "const s = `a ${b<|>} c`;\n", False),
    ("javascript", "/* multi\n <|>\n */\n", True),
    ("javascript", "/* done */<|>\n", False),
    ("go", 'package m\n\nfunc main() {\n\tx := "a<|>b"\n}\n', True),
    ("rust", "// hello<|>\nfn main() {}\n", True),
    ("java", 'class A { String s = "x<|>y"; }\n', True),
    ("cpp", "int x = 1; // c<|>\n", True),
    (None, "say 'hi<|>\n", True),
    (None, "plain<|>\n", False),
]


@pytest.mark.parametrize(("name", "text", "expected"), COMMENT_OR_STRING)
def test_in_comment_or_string(
    registry: LanguageRegistry, name: str | None, text: str, expected: bool
) -> None:
    ctx = context(name, text, registry)
    assert ctx.in_comment_or_string is expected
    if expected:
        assert ctx.multiline is False


def test_plain_text_context(registry: LanguageRegistry) -> None:
    ctx = context(None, "import os\n\ndef f():\n    <|>\n", registry)
    assert ctx == CursorContext((), (), (), True, False)


def test_imports_are_capped_and_file_level_only(registry: LanguageRegistry) -> None:
    imports = "".join(f"import m{i}\n" for i in range(60))
    text = imports + "\ndef f():\n    import local_only\n    <|>\n"
    ctx = context("python", text, registry)
    assert len(ctx.imports) == 40 and ctx.imports[0] == "import m0" and "import local_only" not in ctx.imports


def test_signatures_are_capped(registry: LanguageRegistry) -> None:
    defs = "".join(f"def f{i}(a):\n    return a\n\n" for i in range(30))
    calls = " + ".join(f"f{i}(1)" for i in range(30))
    ctx = context("python", defs + f"x = {calls}<|>\n", registry, near_lines=200)
    assert len(ctx.local_signatures) == 20 and ctx.local_signatures[0] == "def f0(a):"


def test_cursor_out_of_range_is_clamped(registry: LanguageRegistry) -> None:
    doc, _ = make_doc("python", "x = 1\n", registry)
    assert cursor_context(doc, 10_000).scopes == ()
    assert cursor_context(doc, -5).imports == ()
